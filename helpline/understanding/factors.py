"""Reading typed verification factors from what a customer types (issue 15 item 1).

Each factor type has its own reading. A value is taken from a message in two ways:
- *stated*: the message says what it is ("my phone ends in 4421", "account number FB-100234", "born on
  14 March 1988"): read whenever it is said;
- *asked*: the agent has just asked for identity details, so a bare answer counts ("4421", "four four two
  one", "03/04/1988") — but never a number the message itself calls something else: "I've been a customer
  since 2019" is a year, not the last 4 digits of a phone.

What is read is keyed by factor *type* (`phone_last4`, `date_of_birth`, ...); the engine decides which of the
pack's factors it fills (conversation/verification.py). A date that could be day-first or month-first
("03/04/1988") is given as both readings joined by `DATE_CHOICE_SEPARATOR`, the day-first one first; the engine
orders them by the business's locale and asks which was meant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import dateparser

from helpline.conversation.verification import DATE_CHOICE_SEPARATOR, THIRD_PARTY

_DIGIT_WORDS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
                "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_DIGIT_WORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
# 4 digits: "4421", "44 21", "4 4 2 1", "four four two one", "double four two one"
_FOUR = (r"(?<![\d\w+])(?:\d[ -]?){3}\d(?![\d\w])"
         r"|(?<![\w])(?:(?:double\s+)?" + _DIGIT_WORD + r"[\s,-]+){1,3}(?:double\s+)?" + _DIGIT_WORD + r"(?![\w])")
_FOUR_RE = re.compile(_FOUR, re.I)
# "... since 2019", "in 2019", "back in 2019", "2019 model": a year, whatever is being asked
_YEAR_BEFORE = re.compile(r"\b(since|in|from|until|till|by|year|years|of|born|class|around|circa|before|after|"
                          r"during|spring|summer|autumn|fall|winter)\s*$", re.I)
_YEAR_AFTER = re.compile(r"^\s*(model|edition|season|year)\b", re.I)
_PHONE_CUE = re.compile(r"\b(ends?|ending|finish(es)?|finishing)\s+(in|with|on)\s*:?\s*$|\blast\s+(4|four)"
                        r"(\s+digits?|\s+numbers?)?(\s+(of|on)\s+(my|the|her|his|their)?\s*(phone|mobile|cell|number|"
                        r"card|account)(\s+number)?(\s+on\s+file)?)?\s*(is|are|:|=)?\s*$", re.I)
_CARD_WORD = re.compile(r"\b(card|visa|mastercard|amex|debit|credit)\b", re.I)
_PHONE_WORD = re.compile(r"\b(phone|mobile|cell|landline|number on file|telephone)\b", re.I)
_ACCOUNT_STATED = re.compile(r"\b(?:account|acct|customer)\s*(?:number|no\.?|num|#|id)?\s*(?:is|:|=)?\s*"
                             r"(?P<value>[A-Z]{0,4}[- ]?\d[\d -]{3,16}\d)\b", re.I)
_ACCOUNT_BARE = re.compile(r"(?<![\w@.+-])(?P<value>[A-Z]{1,4}-?\d{4,12}|\d{6,12})(?![\w@-])", re.I)
# a number written in groups ("+44 7911 124421"): a group of it is not a number of its own
_GROUP_BEFORE = re.compile(r"(?:^|\s)\+?[\d]+[ -]$")
_GROUP_AFTER = re.compile(r"^[ -]\d")
_DOB_CUE = re.compile(r"\b(born|date of birth|d\.?o\.?b\.?|birthday|birth date)\b", re.I)
_NUMERIC_DATE = re.compile(r"(?<![\d/.-])(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4}|\d{2})(?![\d/.-])")
_ISO_DATE = re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)")
_WORD_DATE = re.compile(r"\b\d{1,2}(?:st|nd|rd|th|er|º)?\.?\s+(?:of\s+|de\s+)?[^\W\d_]{3,}\.?,?\s+(?:de\s+)?\d{4}\b"
                        r"|\b[^\W\d_]{3,}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}\b", re.I)
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_ORDINAL_PICK = {"first": 0, "former": 0, "1st": 0, "second": 1, "latter": 1, "2nd": 1}

_PEOPLE = (r"(mum|mom|mummy|mommy|mother|dad|daddy|father|parents?|wife|husband|partner|spouse|son|daughter|"
           r"kids?|child|children|brother|sister|grandma|grandmother|gran|nan|grandad|grandpa|grandfather|aunt|"
           r"auntie|uncle|nephew|niece|cousin|friend|neighbou?r|boss|client|tenant|landlord|carer|"
           r"father-in-law|mother-in-law)")
_THIRD_PARTY = (
    # "I'm calling for my mum", "ringing on behalf of my husband", "asking about my dad's bill"
    re.compile(r"\b(calling|phoning|ringing|contacting|writing|messaging|asking|speaking|here|chatting)\s+"
               r"(for|on behalf of|about|regarding)\s+(my|our)\s+" + _PEOPLE + r"\b", re.I),
    re.compile(r"\bon behalf of\s+(my|our|her|his|their)\s+" + _PEOPLE + r"\b", re.I),
    # "this is her son", "I'm his daughter", "it's her husband here"
    re.compile(r"\b(this is|i'?m|i am|it'?s|its)\s+(her|his|their)\s+" + _PEOPLE + r"\b", re.I),
    # "my mum's account", "the bill is in my husband's name"
    re.compile(r"\b(my|our)\s+" + _PEOPLE + r"(?:'s|’s|s')\s+(account|bill|broadband|internet|line|service|"
               r"contract|plan|name|router|connection)\b", re.I),
    re.compile(r"\b(account|bill|contract|line)\s+is\s+in\s+(my|our)\s+" + _PEOPLE + r"(?:'s|’s)?\s+name\b", re.I),
)


def read_factors(text: str, asked: bool, languages: Sequence[str] = ("en",),
                 pending_dates: Sequence[str] = ()) -> dict[str, str]:
    """The verification factors this message gives, by type. `asked`: the agent asked for identity details;
    `pending_dates`: "A|B" date choices the agent asked the customer to settle."""
    found: dict[str, str] = {}
    account = _account_number(text, asked)
    if account:
        found["account_number"] = account
    found.update(_last4(text, asked))
    date_of_birth = _resolve_date(text, pending_dates, languages) if pending_dates else None
    date_of_birth = date_of_birth or _date_of_birth(text, asked, languages)
    if date_of_birth:
        found["date_of_birth"] = date_of_birth
    relationship = third_party(text)
    if relationship:
        found[THIRD_PARTY] = relationship
    return found


def third_party(text: str) -> str | None:
    """The caller says he is someone other than the account holder: the words that say so ("her son")."""
    for pattern in _THIRD_PARTY:
        match = pattern.search(text)
        if match:
            return " ".join(match.group(0).split())[:60]
    return None


def _digits(value: str) -> str:
    out = []
    double = False
    for token in re.findall(r"\d|[a-z]+", value.lower()):
        if token == "double":
            double = True
            continue
        digit = token if token.isdigit() else _DIGIT_WORDS.get(token, "")
        out.append(digit * (2 if double else 1))
        double = False
    return "".join(out)


def _last4(text: str, asked: bool) -> dict[str, str]:
    """phone_last4 / card_last4 / pin: 4 digits. Stated with "ends in" or "last four"; bare only when asked and
    the message is a short answer that does not call the number a year."""
    found: dict[str, str] = {}
    words = len(text.split())
    for match in _FOUR_RE.finditer(text):
        value = _digits(match.group(0))
        if len(value) != 4:
            continue
        before, after = text[: match.start()], text[match.end():]
        if _inside_date(text, match.start()) or _in_groups(text, match.start(), match.end()):
            continue
        window = text[max(0, match.start() - 60): match.start()]
        if _PHONE_CUE.search(window):
            card = bool(_CARD_WORD.search(window)) and not _PHONE_WORD.search(window)
            phone = bool(_PHONE_WORD.search(window)) and not _CARD_WORD.search(window)
            if not card:
                found.setdefault("phone_last4", value)
            if not phone:
                found.setdefault("card_last4", value)
        elif _YEAR_BEFORE.search(before) or _YEAR_AFTER.search(after):
            continue  # "since 2019", "a 2019 model": a year, whatever was asked
        elif asked and words <= 12:
            for kind in ("phone_last4", "card_last4", "pin"):
                found.setdefault(kind, value)
    return found


def _account_number(text: str, asked: bool) -> str | None:
    match = _ACCOUNT_STATED.search(text)
    if match is None and asked:
        match = next((m for m in _ACCOUNT_BARE.finditer(text)
                      if not _inside_date(text, m.start())
                      and not (m.group("value").isdigit() and _in_groups(text, m.start(), m.end()))), None)
    if match is None:
        return None
    return re.sub(r"\s+", "", match.group("value")).upper()


def _in_groups(text: str, start: int, end: int) -> bool:
    return bool(_GROUP_BEFORE.search(text[:start]) or _GROUP_AFTER.search(text[end:]))


def _inside_date(text: str, at: int) -> bool:
    dates = (*_NUMERIC_DATE.finditer(text), *_ISO_DATE.finditer(text), *_WORD_DATE.finditer(text))
    return any(m.start() <= at < m.end() for m in dates)


def _parse(surface: str, order: str, languages: Sequence[str]) -> date | None:
    parsed = dateparser.parse(surface, languages=list(languages) or None,
                              settings={"DATE_ORDER": order, "REQUIRE_PARTS": ["day", "month", "year"],
                                        "PREFER_DAY_OF_MONTH": "first"})
    if parsed is None:
        return None
    day = parsed.date()
    if day > date.today():  # "03/04/88" is 1988 for a date of birth
        try:
            day = day.replace(year=day.year - 100)
        except ValueError:
            return None
    return day


def _date_candidates(text: str, languages: Sequence[str]) -> list[date]:
    """A full date in the message: one reading, or two when day and month could be either."""
    iso = _ISO_DATE.search(text)
    if iso:
        parsed = _parse(iso.group(0), "YMD", languages)
        return [parsed] if parsed else []
    numeric = _NUMERIC_DATE.search(text)
    if numeric:
        first, second = int(numeric.group("a")), int(numeric.group("b"))
        orders = ["DMY", "MDY"] if first != second and first <= 12 and second <= 12 else \
            ["DMY"] if first > 12 else ["MDY"]
        readings = [_parse(numeric.group(0), order, languages) for order in orders]
        return list(dict.fromkeys(r for r in readings if r is not None))
    for match in _WORD_DATE.finditer(text):
        parsed = _parse(match.group(0), "DMY", languages)
        if parsed is not None:
            return [parsed]
    return []


def _date_of_birth(text: str, asked: bool, languages: Sequence[str]) -> str | None:
    if not (asked or _DOB_CUE.search(text)):
        return None
    candidates = _date_candidates(text, languages)
    return DATE_CHOICE_SEPARATOR.join(d.isoformat() for d in candidates) or None


def _resolve_date(text: str, pending: Sequence[str], languages: Sequence[str]) -> str | None:
    """The answer to "did you mean 3 April or 4 March?": a month, "the first", or the date written out."""
    options = [o for choice in pending for o in choice.split(DATE_CHOICE_SEPARATOR)]
    lowered = text.lower()
    for index, name in enumerate(_MONTHS, start=1):
        if re.search(rf"\b{name[:3]}(?:{name[3:]})?\b", lowered):
            matching = [o for o in options if int(o[5:7]) == index]
            if len(matching) == 1:
                return matching[0]
    for word, index in _ORDINAL_PICK.items():
        if re.search(rf"\b{word}\b", lowered) and index < len(options):
            return options[index]
    written = _date_candidates(text, languages)
    if len(written) == 1 and written[0].isoformat() in options:
        return written[0].isoformat()
    return None
