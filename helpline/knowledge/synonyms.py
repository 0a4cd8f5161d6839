"""How a customer's words meet an article's: a light English stemmer and near-synonyms of everyday speech.

Customers ask in their own words ("send stuff back", "post to Canada", "put it on hold", "the box came
smashed"); articles are written in the business's ("return", "ship", "pause", "damaged"). Both the search
(a query word also matches its near-synonyms, at a lower weight) and the coverage check (does the passage
speak of what was asked?) read them from here.

The groups are everyday English and British / American pairs, never one pack's product vocabulary: a
business's own names belong in its articles (their titles and tags).
"""

from __future__ import annotations

import re

# Words an article uses for "another country": "do you ship to Canada", "is it only in the country" are asked of
# the passage that says "we only deliver within the United States" under "Do you ship internationally?"
ABROAD_WORDS = ("international", "internationally", "abroad", "overseas", "worldwide", "country", "countries")

# Each group: words a customer may use for the same thing. A word in several groups has all their words.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("warm", "hot", "heat", "heated"), ("cool", "cold", "chilled", "iced"),
    ("cost", "price", "priced", "charge", "fee"),
    ("charge", "pay"),  # "do you charge for return shipping" asks "do I pay for return shipping"
    ("cheap", "cheaper", "inexpensive", "budget"),
    ("cheaper", "lower", "less"),  # "cheaper elsewhere" is a lower price
    ("fast", "quick", "quickly", "soon"),
    ("broken", "faulty", "defective", "damaged", "smashed", "cracked", "shattered", "dented"),
    ("email", "e-mail"), ("parcel", "package", "delivery", "shipment"),
    ("post", "ship", "mail", "deliver"), ("postage", "shipping", "delivery"),
    ("begin", "start"), ("finish", "end"), ("stop", "cancel", "end"),
    ("pause", "hold", "suspend", "skip"),
    ("leak", "leaking", "drip", "dripping"), ("noise", "noisy", "loud", "sound", "hum", "buzz", "rattle"),
    ("wash", "clean", "cleaning", "rinse"), ("phone", "call", "ring"), ("shop", "store"),
    ("mend", "repair", "fix"), ("guarantee", "warranty"), ("voucher", "gift"),
    ("close", "shut", "closed"), ("refund", "reimburse"), ("website", "site", "online", "web"),
    ("return", "returns", "returning"),
    # British and American spellings and words
    ("instalment", "installment"), ("colour", "color"), ("favourite", "favorite"), ("litre", "liter"),
    ("centre", "center"), ("aluminium", "aluminum"), ("cheque", "check"), ("flat", "apartment"),
    ("holiday", "vacation"), ("fridge", "refrigerator"), ("tap", "faucet"), ("mobile", "cell"),
    ("postcode", "zip"), ("trolley", "cart"), ("basket", "cart"), ("jug", "carafe", "pitcher"),
    ("hob", "stove"), ("bin", "trash"), ("queue", "line"), ("cooker", "stove"),
    ABROAD_WORDS,
)


# Countries and regions as a caller names them, in one word (the distinctive word of a longer name: "zealand",
# "korea"). Everyday English, never one pack's vocabulary; a caller naming one asks about somewhere abroad. Names
# that are everyday words too ("china" cups, "turkey", a "jersey") are left out.
_PLACES = """
    afghanistan albania algeria andorra angola argentina armenia australia austria azerbaijan bahamas bahrain
    bangladesh barbados belarus belgium belize benin bermuda bhutan bolivia bosnia botswana brazil brunei bulgaria
    cambodia cameroon canada chile colombia congo croatia cuba cyprus czechia denmark djibouti
    dominica ecuador egypt eritrea estonia eswatini ethiopia fiji finland france gabon gambia germany
    ghana gibraltar greece greenland grenada guadeloupe guam guatemala guernsey guyana haiti honduras
    hungary iceland india indonesia iran iraq ireland israel italy jamaica japan kazakhstan kenya
    kiribati korea kosovo kuwait kyrgyzstan laos latvia lebanon lesotho liberia libya liechtenstein lithuania
    luxembourg macau madagascar malawi malaysia maldives mali malta martinique mauritania mauritius mexico
    micronesia moldova monaco mongolia montenegro morocco mozambique myanmar namibia nauru nepal netherlands
    holland nicaragua niger nigeria norway oman pakistan palau palestine panama paraguay peru philippines poland
    portugal qatar romania russia rwanda samoa senegal serbia seychelles singapore slovakia slovenia somalia spain
    sudan suriname sweden switzerland syria taiwan tajikistan tanzania thailand togo tonga tunisia
    turkmenistan tuvalu uganda ukraine uruguay uzbekistan vanuatu venezuela vietnam yemen zambia zimbabwe
    zealand lanka arabia emirates salvador rica
    england scotland wales britain uk europe asia africa
"""
PLACE_NAMES = frozenset(_PLACES.split())


def is_place_name(word: str) -> bool:
    """A country or region named in one word ("canada", "ireland", "europe")."""
    return word.lower() in PLACE_NAMES


_GROUPS: dict[str, frozenset[str]] = {}
for _group in SYNONYM_GROUPS:
    for _word in _group:
        _GROUPS[_word] = _GROUPS.get(_word, frozenset()) | frozenset(_group)

# Phrases that say one word of the groups above: "send it back" is "return", "on hold" is "pause".
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:send|sent|sending|take|taking|took|bring|ship|post)\b(?:\s+[\w']+){0,2}?\s+back\b", re.I),
     "return"),
    (re.compile(r"\bmoney back\b|\bpaid back\b|\bpay (?:me )?back\b", re.I), "refund"),
    (re.compile(r"\bon hold\b|\btake a break\b", re.I), "pause"),
    # paying in parts, and the buy-now-pay-later services callers name for it
    (re.compile(r"\bpay later\b|\bspread (?:it|the (?:cost|payments?))(?:\s+out)?\b|\b(?:klarna|afterpay|clearpay)\b",
                re.I), "instalment"),
    (re.compile(r"\bturn(?:ed|s)? up\b|\bcame\b|\barrived\b", re.I), "arrive"),
    (re.compile(r"\bget rid of\b|\bpack (?:it|this|that) in\b", re.I), "cancel"),
    # the verb only, its object kept: "hook the kettle up" is "connect the kettle up"
    (re.compile(r"\bhook(?:ed|ing|s)?\b(?=(?:\s+[\w']+){0,3}?\s+up\b)", re.I), "connect"),
    (re.compile(r"\bknock(?:ed|ing|s)?\b(?=(?:\s+[\w']+){0,3}?\s+(?:down|off)\b)", re.I), "lower"),
)


def synonyms(word: str) -> frozenset[str]:
    """The near-synonyms of a lower-case word (of its stem too), without the word itself. A place abroad
    ("canada") is near the words for abroad, and they are near every place (one place is not another)."""
    found = _GROUPS.get(word) or _GROUPS.get(stem(word)) or _BY_STEM.get(stem_key(word)) or frozenset()
    if word in PLACE_NAMES:
        found = frozenset(ABROAD_WORDS)
    elif word in ABROAD_WORDS:
        found = found | PLACE_NAMES
    return found - {word}


def phrase_words(text: str) -> list[str]:
    """Words the text's phrases stand for ("send the grinder back" -> "return"), in order, once each."""
    return list(dict.fromkeys(word for pattern, word in _PHRASES if pattern.search(text)))


def with_phrase_words(text: str) -> str:
    """The text with each phrase put as the word it stands for ("how long have I got to send stuff back?" ->
    "how long have I got to return?"): the words of the phrase are not what is asked about, its meaning is."""
    for pattern, word in _PHRASES:
        text = pattern.sub(word, text)
    return text


_DOUBLED = re.compile(r"([bfgkmnprt])\1$")  # not l, s, z, d: "filling", "buzzing", "adding" keep theirs


def stem(word: str) -> str:
    """A light English stem: "humming" and "hums" are "hum", "steeping" is "steep", "stopped" is "stop",
    "batteries" is "battery"; short words stay as they are. Not a full stemmer (none ships offline), but
    endings are where a caller's words and an article's differ most."""
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for ending in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            if ending == "s" and word.endswith(("ss", "us", "is")):
                return word
            if ending == "es" and not word.endswith(("ches", "shes", "sses", "xes", "zes")):
                ending = "s"
            root = word[: -len(ending)]
            if ending in ("ing", "ed") and _DOUBLED.search(root):
                root = root[:-1]  # "humming" -> "hum", "stopped" -> "stop"
            return root
    return word


def stem_key(word: str) -> str:
    """What two forms of a word share: the stem without a final "e" ("tasted" and "taste" are "tast",
    "coming" and "come" are "com")."""
    root = stem(word)
    return root[:-1] if len(root) > 3 and root.endswith("e") else root


# The groups by what every form of their words shares: a group writes "cracked", "paused", "closed", and a caller
# says "a crack", "can I pause", "when do you close"
_BY_STEM: dict[str, frozenset[str]] = {}
for _group in SYNONYM_GROUPS:
    for _word in _group:
        _BY_STEM[stem_key(_word)] = _BY_STEM.get(stem_key(_word), frozenset()) | _GROUPS[_word]


def same_word(word: str, other: str) -> bool:
    return word == other or stem_key(word) == stem_key(other)


def begins_alike(word: str, other: str) -> bool:
    """One is the other cut short ("decaf" / "decaffeinated"): at least five letters in common."""
    return len(word) >= 5 and len(other) >= 5 and (word.startswith(other) or other.startswith(word))
