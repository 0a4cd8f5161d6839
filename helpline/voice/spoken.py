"""What a caller *says* for ids, numbers and emails, rewritten as the text the entity extractors read.

Speech recognisers write "b b one zero zero zero one", "B as in bravo", "five oh two", "double five"
or "john dot smith at example dot com"; the engine's extractors look for "BB10001", "502", "55" and
"john.smith@example.com". `normalize_spoken` rewrites only what is clearly an id, a multi-word number
or an email, and leaves ordinary words alone ("one of them", "a two year warranty", "oh I see").

The rules, in order:

1. *Spelled letters*: "b as in bravo", "b for bravo", "b like boy" → "B" (the word must start with the
   letter). NATO words (alpha … zulu) are also ordinary words ("one kilo", "the golf one", "my name is
   Victor"), so one is a letter only where the caller is spelling: next to another spelled letter ("bravo
   bravo", "B kilo") or leading at least two spelled digits ("kilo one two three"); or anywhere when the
   caller is known to be spelling (`spelling=True`: on a call, while the agent waits for an id; there a full
   stop between spelled items is a pause, "Bravo. Bravo. 10014." → "BB10014.").
2. *Runs* of letters and number words (commas and dashes between them allowed) are read as one item:
   - letters with digits → an id, compacted: "W two three seven" → "W237"; "B B 1 0 0 0 1" → "BB10001";
   - three or more digits, or any "double"/"triple"/"oh" → digits in a row: "five oh two" → "502";
   - one compound number → its value: "twenty three" → "23", "one hundred and five" → "105";
     "twenty third" → "23rd";
   - an hour and minutes after "at"/"around"/"by" or before am/pm/o'clock → "3:30";
   - two or more letters alone → "JOHN"; a single spoken digit is left as a word unless money or a
     percentage follows ("five dollars" → "5 dollars").
   "a" and "I" are words, never letters; "oh"/"o" is zero only next to another digit; thousands
   separators go ("BB-10,001" → "BB-10001").
3. *Emails*: "<local> at <domain> dot <tld>" with "dot", "underscore", "dash" → "local@domain.tld",
   lower-cased; a bare "example dot com" becomes "example.com".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NATO = {
    "alpha": "A", "alfa": "A", "bravo": "B", "charlie": "C", "delta": "D", "echo": "E", "foxtrot": "F",
    "golf": "G", "hotel": "H", "india": "I", "juliet": "J", "juliett": "J", "kilo": "K", "lima": "L",
    "mike": "M", "november": "N", "oscar": "O", "papa": "P", "quebec": "Q", "romeo": "R", "sierra": "S",
    "tango": "T", "uniform": "U", "victor": "V", "whiskey": "W", "whisky": "W", "xray": "X", "x-ray": "X",
    "yankee": "Y", "zulu": "Z",
}
UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9}
TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
         "seventeen": 17, "eighteen": 18, "nineteen": 19}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
        "ninety": 90}
ORDINAL_UNITS = {"first": (1, "st"), "second": (2, "nd"), "third": (3, "rd"), "fourth": (4, "th"),
                 "fifth": (5, "th"), "sixth": (6, "th"), "seventh": (7, "th"), "eighth": (8, "th"),
                 "ninth": (9, "th")}
ZERO_WORDS = {"oh", "o"}
REPEATS = {"double": 2, "triple": 3}
SCALES = {"hundred": 100, "thousand": 1000}
_WEAK_LETTERS = {"a", "i"}  # articles and the pronoun: never letters on their own
_UNIT_AFTER = re.compile(r"(?i)^\s*(dollars?|bucks|cents?|pounds?|pence|euros?|percent|per cent|%)\b")
_TIME_BEFORE = re.compile(r"(?i)\b(at|around|about|by|after|before|until|till|from)\s*$")
_TIME_AFTER = re.compile(r"(?i)^\s*(a\.?\s?m\.?|p\.?\s?m\.?|o'?clock|in the (morning|afternoon|evening))(?![a-z])")

_SPELLED = re.compile(r"(?i)\b([a-z])\s*(?:,\s*)?(?:as\s+in|for|like)\s+([a-z][a-z'-]*)")
_DOTTED_LETTERS = re.compile(r"\b((?:[A-Za-z]\.){2,})")
_DIGIT_DASHES = re.compile(r"\b\d(?:-\d)+\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _spelled_letter(match: re.Match[str]) -> str:
    letter, word = match.group(1), match.group(2)
    if word[0].lower() != letter.lower() and NATO.get(word.lower()) != letter.upper():
        return match.group(0)
    return letter.upper()


def spelled_letters(text: str) -> str:
    """'b as in bravo' → 'B'; 'B.B.' → 'B B'."""
    text = _SPELLED.sub(_spelled_letter, text)
    return _DOTTED_LETTERS.sub(lambda m: " ".join(m.group(1).replace(".", " ").split()), text)


# --- runs of letters and number words ----------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    kind: str  # letter | nato | digit | zero | repeated | compound | ordinal | literal
    text: str  # the letter or the digits it stands for


def _low(word: str) -> str:
    return word.lower()


def _is_number_word(word: str) -> bool:
    w = _low(word)
    return w in UNITS or w in TEENS or w in TENS or w in SCALES


def _is_run_word(words: list[str], i: int, plain: frozenset[int] = frozenset()) -> bool:
    """Can words[i] belong to a run of letters and digits? `plain`: positions of NATO words read as words."""
    word, w = words[i], _low(words[i])
    following = words[i + 1] if i + 1 < len(words) else ""
    if w in NATO:
        return i not in plain
    if word.isdigit() or w in ZERO_WORDS or _is_number_word(word):
        return True
    if w in REPEATS:
        nxt = _low(following)
        return nxt in UNITS or nxt in ZERO_WORDS or (following.isdigit() and len(following) == 1)
    if w in ("dash", "hyphen"):  # "C dash one two three four"
        return (0 < i < len(words) - 1 and _is_run_word(words, i - 1, plain)
                and _is_run_word(words, i + 1, plain))
    if w == "and":  # "one hundred and five"
        return i > 0 and _low(words[i - 1]) in SCALES and _is_number_word(following)
    if w in ORDINAL_UNITS:  # "twenty third"
        return i > 0 and _low(words[i - 1]) in TENS
    if len(word) == 1 and word.isalpha():
        if w not in _WEAK_LETTERS:
            return True
        if word == "A" and (following.isdigit() or _low(following) in UNITS):
            return True  # Whisper writes the article "a" and a spelled "A" capital
        # "S M I T H", "d a v e": between two spelled letters "I" and "a" are letters too
        previous = words[i - 1] if i > 0 else ""
        return _strong_letter(previous) and _strong_letter(following)
    return False


def _strong_letter(word: str) -> bool:
    return (len(word) == 1 and word.isalpha() and _low(word) not in _WEAK_LETTERS) or _low(word) in NATO


def _spelled_digits(words: list[str], i: int) -> int:
    """How many digits are spelled one by one from words[i] on ("one two", "oh five", "double five", "123");
    a dash may come first ("kilo dash one two"). Compound numbers ("twenty", "five hundred") are amounts."""
    if i < len(words) and _low(words[i]) in ("dash", "hyphen"):
        i += 1
    count = 0
    while i < len(words):
        word, w = words[i], _low(words[i])
        if word.isdigit():
            count, i = count + len(word), i + 1
        elif w in UNITS or w in ZERO_WORDS:
            count, i = count + 1, i + 1
        elif w in REPEATS and i + 1 < len(words) and (_low(words[i + 1]) in UNITS or words[i + 1].isdigit()):
            count, i = count + REPEATS[w], i + 2
        else:
            break
    return count


def _nato_words_said_as_words(words: list[str], joined: list[bool], spelling: bool) -> frozenset[int]:
    """Positions of NATO words that are ordinary words here, not spelled letters: "one kilo", "the golf
    one", "Victor". `joined[k]`: only separators stand between words[k] and words[k + 1].

    A caller spelling says letters together ("bravo bravo", "B kilo") or a letter before the digits of an
    id ("kilo one two three"); a quantity puts the number first ("one kilo", "two kilo one"), and a lone word
    in a sentence is just a word. When the agent is waiting for an id (`spelling`), they are all letters."""
    if spelling:
        return frozenset()
    plain = set()
    for k, word in enumerate(words):
        if _low(word) not in NATO:
            continue
        after_letter = k > 0 and joined[k - 1] and _strong_letter(words[k - 1])
        before_letter = k + 1 < len(words) and joined[k] and _strong_letter(words[k + 1])
        after_number = k > 0 and joined[k - 1] and (words[k - 1].isdigit() or _is_number_word(words[k - 1]))
        leads_digits = not after_number and k + 1 < len(words) and joined[k] and _spelled_digits(words, k + 1) >= 2
        if not (after_letter or before_letter or leads_digits):
            plain.add(k)
    return frozenset(plain)


def _below_100(words: list[str], i: int) -> tuple[int, int, str]:
    """(value, words used, ordinal suffix) for a number under 100 starting at words[i]; used 0 if none."""
    w = _low(words[i]) if i < len(words) else ""
    nxt = _low(words[i + 1]) if i + 1 < len(words) else ""
    if w in TENS:
        if nxt in UNITS and nxt != "zero":
            return TENS[w] + UNITS[nxt], 2, ""
        if nxt in ORDINAL_UNITS:
            value, suffix = ORDINAL_UNITS[nxt]
            return TENS[w] + value, 2, suffix
        return TENS[w], 1, ""
    if w in TEENS:
        return TEENS[w], 1, ""
    if w in UNITS:
        return UNITS[w], 1, ""
    return 0, 0, ""


def _below_1000(words: list[str], i: int) -> tuple[int, int, str]:
    value, used, suffix = _below_100(words, i)
    if used == 1 and 0 < value < 10 and i + 1 < len(words) and _low(words[i + 1]) == "hundred":
        value, used = value * 100, 2
        j = i + 2
        if j < len(words) and _low(words[j]) == "and":
            j += 1
        rest, rest_used, suffix = _below_100(words, j)
        if rest_used:
            return value + rest, j - i + rest_used, suffix
    return value, used, suffix


def _number(words: list[str], i: int) -> tuple[int, int, str]:
    value, used, suffix = _below_1000(words, i)
    if used and not suffix and i + used < len(words) and _low(words[i + used]) == "thousand":
        j = i + used + 1
        if j < len(words) and _low(words[j]) == "and":
            j += 1
        rest, rest_used, suffix = _below_1000(words, j)
        return value * 1000 + rest, (j - i + rest_used) if rest_used else used + 1, suffix
    return value, used, suffix


def _items(words: list[str]) -> list[_Item] | None:
    out: list[_Item] = []
    i = 0
    while i < len(words):
        word, w = words[i], _low(words[i])
        if word.isdigit():
            out.append(_Item("literal", word))
            i += 1
        elif w in NATO:
            out.append(_Item("nato", NATO[w]))
            i += 1
        elif len(word) == 1 and word.isalpha() and w not in ZERO_WORDS:
            out.append(_Item("letter", word.upper()))
            i += 1
        elif w in ("dash", "hyphen"):
            out.append(_Item("dash", "-"))
            i += 1
        elif w in ZERO_WORDS:
            out.append(_Item("zero", "0"))
            i += 1
        elif w in REPEATS and i + 1 < len(words):
            digit = words[i + 1] if words[i + 1].isdigit() else str(UNITS.get(_low(words[i + 1]), 0))
            out.append(_Item("repeated", digit * REPEATS[w]))
            i += 2
        else:
            value, used, suffix = _number(words, i)
            if not used:
                return None  # a lone "hundred", "and": not a number this reads
            if suffix:
                out.append(_Item("ordinal", f"{value}{suffix}"))
            elif used == 1 and w in UNITS:
                out.append(_Item("digit", str(value)))
            else:
                out.append(_Item("compound", str(value)))
            i += used
    return out


def _render(items: list[_Item], source: str, before: str, after: str) -> str:
    """The rewrite of one run, or the run's own text when it is not clearly a number or an id."""
    if any(i.kind in ("letter", "nato") for i in items) and all(i.kind in ("letter", "nato", "zero") for i in items):
        items = [_Item("letter", "O") if i.kind == "zero" else i for i in items]  # "j o h n": o is a letter here
    letters = [i for i in items if i.kind in ("letter", "nato")]
    numbers = [i for i in items if i.kind not in ("letter", "nato", "dash")]
    if letters and numbers:
        return "".join(i.text for i in items)
    items = [i for i in items if i.kind != "dash"]
    if not letters and all(i.kind == "zero" for i in numbers):
        return source  # "oh" on its own is an exclamation
    if letters:
        if len(letters) >= 2 or letters[0].kind == "nato":
            return "".join(i.text for i in letters)
        return source
    kinds = [i.kind for i in numbers]
    if len(numbers) == 1:
        if kinds[0] == "digit" and not _UNIT_AFTER.match(after):
            return source
        return numbers[0].text
    if (len(numbers) == 2 and kinds == ["digit", "compound"] and 1 <= int(numbers[0].text) <= 12
            and 10 <= int(numbers[1].text) <= 59 and (_TIME_BEFORE.search(before) or _TIME_AFTER.match(after))):
        return f"{numbers[0].text}:{numbers[1].text}"
    if (len(numbers) == 3 and kinds[:2] == ["digit", "zero"] and kinds[2] == "digit"
            and (_TIME_BEFORE.search(before) or _TIME_AFTER.match(after))):
        return f"{numbers[0].text}:0{numbers[2].text}"  # "five oh five pm"
    if kinds == ["compound", "compound"] and all(10 <= int(n.text) <= 99 for n in numbers):
        return "".join(n.text for n in numbers)  # "nineteen ninety", "twenty three forty five"
    if kinds == ["literal", "literal"] and "," in source:
        return source  # "1, 2 or 3" is a list; a spelled id has more items
    if len(numbers) >= 3 or any(k in ("zero", "repeated", "literal") for k in kinds):
        return "".join(n.text for n in numbers)
    return source


_TOKEN = re.compile(r"\s+|x-ray|[A-Za-z0-9]+(?:'[A-Za-z]+)?|[^\sA-Za-z0-9]", re.I)
_IN_RUN = {",", "-"}  # separators a recogniser writes between spelled items


_LETTERS_DASH_DIGITS = re.compile(r"\b(?![AI]\b)([A-Z]{1,4})\s+(?i:dash|hyphen)\s+(\d+)\b")  # capitals: an id, not "go"


def spoken_ids(text: str, spelling: bool = False) -> str:
    """Runs of spelled letters and number words → ids and numbers (rule 2). `spelling`: the caller is
    spelling (an id asked for), so every NATO word is a letter and a full stop a pause in a run (rule 1)."""
    text = _DIGIT_DASHES.sub(lambda m: m.group(0).replace("-", ""), text)
    # an id read back as "B B dash one zero four two two" may come back as "BB dash 10422"
    text = _LETTERS_DASH_DIGITS.sub(lambda m: f"{m.group(1)}-{m.group(2)}", text)
    text = _THOUSANDS.sub("", text)  # Whisper writes "BB-10,001"; ids and amounts read the same without
    tokens = _TOKEN.findall(text)
    # A caller spelling slowly pauses between items, which Whisper writes as sentences ("Bravo. Bravo. 10014."):
    # when the agent waits for an id, a full stop is one more separator inside a run.
    separators = _IN_RUN | {"."} if spelling else _IN_RUN
    word_at = [k for k, t in enumerate(tokens) if not t.isspace() and t not in separators]
    words = [tokens[k] for k in word_at]
    joined = [_only_separators(tokens, word_at[k], word_at[k + 1], separators)
              for k in range(len(words) - 1)] + [False]
    plain = _nato_words_said_as_words(words, joined, spelling)
    out: list[str] = []
    copied = 0  # tokens before this index are already in `out`
    i = 0
    while i < len(words):
        if not _is_run_word(words, i, plain):
            i += 1
            continue
        j = i + 1
        while j < len(words) and _is_run_word(words, j, plain) and joined[j - 1]:
            j += 1
        while j - 1 > i and _low(words[j - 1]) == "and":
            j -= 1
        start, end = word_at[i], word_at[j - 1] + 1
        items = _items(words[i:j])
        source = "".join(tokens[start:end])
        rendered = source if items is None else _render(items, source, "".join(tokens[:start]),
                                                         "".join(tokens[end:]))
        out.append("".join(tokens[copied:start]))
        out.append(rendered)
        copied = end
        i = j
    out.append("".join(tokens[copied:]))
    return "".join(out)


def _only_separators(tokens: list[str], a: int, b: int, separators: set[str] = _IN_RUN) -> bool:
    return all(t.isspace() or t in separators for t in tokens[a + 1 : b])


# --- emails -----------------------------------------------------------------------------------

_TLDS = ("com|org|net|edu|gov|io|co|uk|us|ca|de|fr|es|it|nl|au|ie|info|biz|me|ai|app|dev|shop|store|email|mail"
         "|online|site|tech|xyz")
_W = r"[A-Za-z0-9]+"
_LOCAL_JOIN = r"(?:\s+(?:dot|period)\s+|\s*\.\s*|\s+underscore\s+|\s*_\s*|\s+(?:dash|hyphen)\s+|-|\s+plus\s+|\+)"
_DOMAIN_JOIN = r"(?:\s+dot\s+|\s*\.\s*|\s+(?:dash|hyphen)\s+|-)"
_EMAIL = re.compile(
    rf"(?i)(?<![\w.@])(?P<local>{_W}(?:{_LOCAL_JOIN}{_W})*)\s*(?:\s(?:at|at sign)\s|@)\s*"
    rf"(?P<domain>{_W}(?:{_DOMAIN_JOIN}{_W})*?(?:\s+dot\s+|\s*\.\s*)(?:{_TLDS}))(?![\w@])"
)
_WEBSITE = re.compile(rf"(?i)\b(?P<name>{_W}(?:\s+dot\s+{_W})*)\s+dot\s+(?P<tld>{_TLDS})\b")
_JOINS = [(re.compile(r"(?i)\s+(?:dot|period)\s+|\s*\.\s*"), "."), (re.compile(r"(?i)\s+underscore\s+|\s*_\s*"), "_"),
          (re.compile(r"(?i)\s+(?:dash|hyphen)\s+|\s*-\s*"), "-"), (re.compile(r"(?i)\s+plus\s+|\s*\+\s*"), "+")]
_EMAIL_LEADS = {"is", "it's", "its", "was", "email", "e-mail", "address", "me", "use", "try", "to", "on", "be"}


def _join_email_part(part: str) -> str:
    for pattern, joiner in _JOINS:
        part = pattern.sub(joiner, part)
    return re.sub(r"\s+", "", part).lower()


def _email(match: re.Match[str]) -> str:
    local = match.group("local")
    words = local.split()
    # "my email is john at …": the local part starts after the lead-in, not at "is"
    if words and words[0].lower() in _EMAIL_LEADS and len(words) > 1:
        return match.group(0)
    return f"{_join_email_part(local)}@{_join_email_part(match.group('domain'))}"


def spoken_email(text: str) -> str:
    """'john dot smith at example dot com' → 'john.smith@example.com' (rule 3)."""
    text = _EMAIL.sub(_email, text)
    return _WEBSITE.sub(lambda m: f"{_join_email_part(m.group('name'))}.{m.group('tld').lower()}", text)


def normalize_spoken(text: str, spelling: bool = False) -> str:
    """A transcript as the engine's extractors want it: spelled letters, ids, numbers, emails. `spelling`:
    the caller is spelling, so a lone NATO word is a letter too ("charlie twelve thirty four" → "C1234",
    "juliet at example dot com" → "j@example.com"); otherwise it is one only among spelled letters and digits
    (rule 1). The call agent asks for it while an id is awaited, not an email, whose lone NATO word is most
    often a name ("mike dot smith at ...")."""
    if not text:
        return text
    return spoken_email(spoken_ids(spelled_letters(text), spelling))
