"""Whether what a message says rules out the procedure the intent classifier picked for it.

The classifier hears words: a product's name (the price procedure's triggers are full of them), "refund", "payment",
"light". What the caller says around them can rule the procedure out: a leak reported about the Espresso One asks no
price; a refund awaited for an item already sent back starts no return; a kettle whose light comes on is no kettle
that won't power on; a procedure for the machines with the app is none for a kettle. The articles answer those.
English wording patterns live here, never in the engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from helpline.conversation.ports import Understanding
from helpline.knowledge.synonyms import begins_alike, phrase_words, same_word
from helpline.pack.models import Procedure

_CONTENT = re.compile(r"[a-z][a-z'-]{3,}")

FILLER_WORDS = frozenset([
    "about", "after", "again", "also", "anything", "back", "because", "been", "before", "being", "could",
    "does", "doing", "done", "down", "each", "else", "even", "from", "have", "having", "here", "into", "just",
    "know", "like", "make", "many", "more", "most", "much", "need", "only", "other", "over", "please", "really",
    "right", "same", "should", "some", "something", "still", "than", "thank", "thanks", "that", "their", "them",
    "then", "there", "these", "they", "thing", "this", "those", "time", "very", "want", "what", "when", "where",
    "which", "while", "will", "with", "would", "your", "today", "yesterday", "already", "since", "just",
])

# a price asked ("how much is", "what does it cost", "price of"): what a product's price procedure answers
ASKS_PRICE = re.compile(r"\bhow much\b|\b(?:cost|costs|price|prices|priced|pricing)\b", re.I)

# The caller is choosing a product to buy ("I'm after a grinder", "thinking of buying", "which would you recommend").
_SHOPPING = re.compile(r"\b(?:recommend|suggest|i'?m after|looking (?:for|to buy)"
                       r"|thinking (?:of|about) (?:buying|getting)|(?:want|going|planning) to (?:buy|get)"
                       r"|buy(?:ing)? (?:a|an|one|some|it|the)|as a (?:present|gift)|for a (?:present|gift))\b", re.I)

# The caller has already sent the item back ("I sent the frother back", "we returned it last week", "it's been
# posted back"): what they ask next is where the refund is, not how to start a return.
_SENT_BACK = re.compile(
    r"\b(?:i|we)(?:'ve| have)?(?: already| just)? (?:sent|posted|mailed|shipped|returned|took|brought|dropped)"
    r"\b(?:\s+[\w']+){0,4}?\s+back\b"
    r"|\b(?:i|we)(?:'ve| have)?(?: already| just)? returned\b"
    r"|\b(?:it|they|them|it's|its|they're)(?: has| have| was| were|'s)?(?: already)? (?:been )?(?:sent|posted|mailed"
    r"|returned)(?: it| them)? back\b", re.I)

# Something other than what was ordered arrived: "the wrong size", "I ordered X and you sent Y", "I got X but I
# ordered Y", "sent me X instead of Y", "not what I ordered".
_WRONG_ITEM = re.compile(
    r"\b(?:sent|send|got|received|delivered|given|came with|had|brought|shipped)\b(?:\s+[\w']+){0,3}?\s+wrong\b"
    r"|\bwrong \w+(?: \w+)? (?:came|arrived|turned up|was sent|was delivered)\b"
    r"|\b(?:i|we) (?:ordered|asked for|paid for|bought|chose|picked)\b[^.?!]{1,50}?\b(?:but|and|yet)\b[^.?!]{0,20}?"
    r"\b(?:you(?:'ve| have)? (?:sent|given|delivered)(?: me| us)?|(?:i|we)(?:'ve| have)? (?:got|received|been sent)"
    r"|got|received) (?:the|a|an|some)\b"
    r"|\b(?:i|we)(?:'ve| have)? (?:got|received|been sent)\b[^.?!]{1,50}?\b(?:but|when|and|though)"
    r" (?:i|we)(?: had| have|'d)? (?:ordered|asked for|paid for|bought)\b"
    r"|\b(?:sent|delivered|given|got|received)\b[^.?!]{1,40}?\binstead of\b"
    r"|\bnot what (?:i|we) (?:ordered|asked for|paid for|bought)\b", re.I)

# It arrived damaged: "the box came smashed", "my order came this morning and the mug's got a crack in it".
_ARRIVED_DAMAGED = re.compile(
    r"\b(?:arrived|arrives|came|delivered|turned up|got here|showed up|opened (?:it|the box|the parcel|the package))\b"
    r"[^.?!]{0,60}?\b(?:damaged|broken|smashed|cracked|cracks?|dented|shattered|bent|snapped|in pieces)\b"
    r"|\b(?:damaged|broken|smashed|cracked|dented|shattered)\b[^.?!]{0,20}?\b(?:on arrival|in (?:the )?(?:post|mail"
    r"|delivery|transit)|when it (?:arrived|came))\b", re.I)
# It did not come, in full or in part: "my order never arrived", "only the mug showed up", "it's gone missing".
# ("hasn't come on" is a machine's light; "haven't received my refund" is no delivery.)
_NOT_DELIVERED = re.compile(
    r"\b(?:not|never|hasn'?t|has not|haven'?t|have not|didn'?t|did not|still not|yet to)\s+(?:been\s+|yet\s+)?"
    r"(?:delivered|arrived?|turned up|turn up|shown up|show up|showed up|come|came)"
    r"\b(?! on| back| off| out| with| apart)"
    r"|\b(?:gone|go|went) missing\b|\blost in the post\b"
    r"|\bonly (?:the |my |one |half )?\w+(?: \w+)? (?:turned up|arrived|came|showed up)\b", re.I)
# ... but broken weeks later is a fault, not damage in the post: "it came in March and has now cracked"
_TIME_SINCE = re.compile(r"\b(?:now|since|after|later|weeks?|months?|years?|stopped|used)\b", re.I)

# A trigger of a procedure for a machine that won't power on ("won't turn on", "doesn't switch on", "dead").
_NO_POWER = re.compile(r"\b(?:won'?t|wont|doesn'?t|does not|will not|not|never) (?:even )?(?:turn|switch|power|come"
                       r"|start)(?:s|ing)?\b|\bdead\b|\bno lights?\b|\bunresponsive\b|\bdoes nothing\b", re.I)

# The machine shows life ("the light comes on", "it turns on fine", "the display is on"): it does power on.
_SIGN_OF_LIFE = re.compile(r"\b(?:lights?|display|screen|leds?|it|the \w+|kettle|machine)\s+(?:comes?|came|goes"
                           r"|went|turns?|turned|switch(?:es)?|switched|powers?|powered|is|are|stays?|stayed) on\b",
                           re.I)
_NEGATION = re.compile(r"\b(?:no|not|none|never|nothing|neither|nor|without)\b|n't\b|\bwont\b", re.I)

# The caller speaks of a code or message the app or machine shows ("error", "it says offline", "E201").
_SPEAKS_OF_CODE = re.compile(r"\b(?:errors?|codes?|messages?|says|saying|said|shows?|showing|displays?|reads)\b",
                             re.I)


def content_words(text: str) -> set[str]:
    return {w.strip("'-") for w in _CONTENT.findall(text.lower())} - FILLER_WORDS


def meaning_words(words: Iterable[str]) -> set[str]:
    """Content words without a contraction's ending ("what's" is "what", a filler word)."""
    heads = {w.split("'")[0] for w in words}
    return {w for w in heads if len(w) >= 4} - FILLER_WORDS


def same_stem(word: str, other: str) -> bool:
    """"mondays" is "monday", "opening" is "open": the same word up to a plural or a longer ending."""
    if word == other or word.rstrip("s") == other.rstrip("s"):
        return True
    shorter, longer = sorted((word, other), key=len)
    return len(shorter) >= 4 and longer.startswith(shorter) and len(longer) - len(shorter) <= 3


def alike(word: str, other: str) -> bool:
    return same_word(word, other) or same_stem(word, other) or begins_alike(word, other)


def names_only_its_product(u: Understanding, procedure: Procedure, procedure_words: set[str],
                           catalogue: frozenset[str]) -> bool:
    """A procedure about a product (its first slot) and a message that names a product of the catalogue but says
    nothing else the procedure's triggers (`procedure_words`) say, asks no price they ask and names none of the
    product's options: "the espresso one is leaking water out the bottom" asks no price of the Espresso One, "is
    the house blend good for espresso?" none of the beans' (the classifier heard the product names the price
    procedure's triggers are full of). `catalogue`: the words of the catalogue's product names."""
    first_slot = next(iter(procedure.slots.values()), None)
    if first_slot is None or first_slot.type != "product":
        return False
    text = u.text
    if ASKS_PRICE.search(text) and any(ASKS_PRICE.search(t) for t in procedure.triggers):
        return False
    if any(e.type == "product_option" for e in u.entities):  # "in green", "the 16oz": what it comes in
        return False
    if _SHOPPING.search(text) and any(_SHOPPING.search(t) for t in procedure.triggers):
        return False  # "I'm after a decent grinder, which would you recommend": choosing one to buy
    said = meaning_words(content_words(text))
    if not said & catalogue and not any(e.type == "product" for e in u.entities):
        return False  # no product named: its name is not what the classifier heard
    its_words = meaning_words(procedure_words) - catalogue
    return not any(alike(w, p) for w in said - catalogue for p in its_words)


def for_other_products(u: Understanding, procedure: Procedure) -> bool:
    """A procedure for some products of the catalogue (`Procedure.products`), and a message naming products, none of
    them those: "the app keeps saying the kettle's offline" is not the app's error codes when the kettle has no
    app; the kettle's article says so."""
    if not procedure.products:
        return False
    named = {e.value.casefold() for e in u.entities if e.type == "product"}
    return bool(named) and not named & {p.casefold() for p in procedure.products}


def reports_it_done(text: str, procedure: Procedure) -> bool:
    """The caller has already done what the procedure would start: "where's my refund, I sent the grinder back last
    week" is no new return (the articles say when a refund shows up)."""
    if not _SENT_BACK.search(text):
        return False
    return any("return" in phrase_words(t) or any(same_word(w, "return") for w in content_words(t))
               for t in procedure.triggers)


def shows_life(text: str, procedure: Procedure) -> bool:
    """A machine that won't power on, and a message saying it does ("the light comes on but the water never gets
    hot"): a fault of another kind."""
    return _for_no_power(procedure) and any(_signs_of_life(text))


def never_says_no_power(text: str, procedure: Procedure) -> bool:
    """A procedure for a machine that won't power on, and a message that never says so ("my kettle won't connect
    to the wifi, the little light keeps blinking"): a guess from the words around, not the request."""
    return _for_no_power(procedure) and not _NO_POWER.search(text)


def _for_no_power(procedure: Procedure) -> bool:
    """A procedure for a machine that won't power on: a third or more of its triggers say so."""
    no_power = sum(bool(_NO_POWER.search(t)) for t in procedure.triggers)
    return no_power * 3 >= len(procedure.triggers) > 0


def _signs_of_life(text: str) -> Iterable[bool]:
    for match in _SIGN_OF_LIFE.finditer(text):
        # "no lights come on", "the light doesn't come on": said in the negative, it is no sign of life
        clause = re.split(r"[,.;!?]|\b(?:but|and|though)\b", text[:match.start()])[-1]
        before = " ".join(clause.split()[-4:])  # "not a single light comes on": the words just before, same clause
        yield not _NEGATION.search(before) and not _NEGATION.search(match.group(0))


WRONG_ITEM = "wrong item"
DAMAGED_ON_ARRIVAL = "damaged on arrival"
NOT_DELIVERED = "not delivered"


def delivery_problem(text: str) -> str | None:
    """What went wrong with what the caller received: `WRONG_ITEM`, something other than they ordered ("you've sent
    me the 2 litre, I ordered the 1", "the wrong size came"), `DAMAGED_ON_ARRIVAL` ("the parcel came and the
    jug is cracked"), or `NOT_DELIVERED`, nothing or only part of it came ("only the beans turned up"); None when
    they say none of these."""
    if _WRONG_ITEM.search(text):
        return WRONG_ITEM
    damaged = _ARRIVED_DAMAGED.search(text)
    if damaged and not _TIME_SINCE.search(damaged.group(0)):
        return DAMAGED_ON_ARRIVAL
    if _NOT_DELIVERED.search(text):
        return NOT_DELIVERED
    return None


def without_its_code(text: str, procedure: Procedure) -> bool:
    """A procedure that first asks for a code the caller reads out (a text slot with a pattern: "E201"), and a message
    that neither gives one nor speaks of any ("the kettle won't connect to my wifi, it keeps blinking"): a caller who
    saw no code has none to give, and the articles may answer what they describe."""
    first_slot = next(iter(procedure.slots.values()), None)
    if first_slot is None or first_slot.type != "text" or not first_slot.pattern:
        return False
    pattern = first_slot.pattern

    def speaks_of_code(words: str) -> bool:
        return bool(re.search(pattern, words) or _SPEAKS_OF_CODE.search(words))

    # a procedure about a code is one most of whose triggers give or speak of it ("the app shows error E201"); a
    # charge's triggers mostly speak of the charge, its statement name (the first slot) being what it asks for
    about_a_code = sum(speaks_of_code(t) for t in procedure.triggers) * 2 > len(procedure.triggers)
    return about_a_code and not speaks_of_code(text)
