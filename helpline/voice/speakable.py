"""Text written for a screen, rewritten as what a voice should say.

The engine's replies are written for chat: Markdown, "$1,234.50", "#W2378156", "john@example.com",
"3:30 pm", "2024-03-15". A voice reading them raw says "hash W two million three hundred…" or
"asterisk asterisk". `speakable` rewrites them into words a synthesiser reads naturally:

- Markdown is stripped (bullets and headings become sentences, links keep their text);
- money, percentages, plain numbers, ordinals, dates and times become words (num2words, US style:
  "one thousand two hundred thirty-four dollars and fifty cents");
- ids (letters with digits: "BB-10001", "#W2378156"), phone numbers and long digit strings are read
  one character at a time in natural groups ("B B, one zero zero zero one", "W, two three seven,
  eight one five six"), which is also how a caller checks them;
- emails and web addresses say "at", "dot", "slash";
- common abbreviations and symbols are spelled out.

Capital letters are left as single letters ("W"): espeak-ng, which piper also uses for its phonemes,
reads a lone capital letter by its name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from num2words import num2words

_DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_MONTH_INDEX = {m.lower()[:3]: i + 1 for i, m in enumerate(_MONTHS)}
_WEEKDAYS = {"mon": "Monday", "tue": "Tuesday", "tues": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
             "thur": "Thursday", "thurs": "Thursday", "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
               "€": ("euro", "euros", "cent", "cents")}
_UNITS = {"oz": "ounces", "g": "grams", "kg": "kilograms", "lb": "pounds", "lbs": "pounds", "ml": "millilitres",
          "l": "litres", "cm": "centimetres", "mm": "millimetres", "km": "kilometres", "ft": "feet",
          "min": "minutes", "mins": "minutes", "hr": "hours", "hrs": "hours", "sec": "seconds", "secs": "seconds",
          "mb": "megabytes", "gb": "gigabytes"}
_SINGULAR_UNITS = {"ounces": "ounce", "grams": "gram", "kilograms": "kilogram", "pounds": "pound",
                   "millilitres": "millilitre", "litres": "litre", "centimetres": "centimetre",
                   "millimetres": "millimetre", "kilometres": "kilometre", "feet": "foot", "minutes": "minute",
                   "hours": "hour", "seconds": "second", "megabytes": "megabyte", "gigabytes": "gigabyte"}
_ABBREVIATIONS = [
    (r"\be\.g\.", "for example"), (r"\bi\.e\.", "that is"), (r"\betc\.", "et cetera"),
    (r"\bapprox\.", "approximately"), (r"\bvs\.?(?=\s)", "versus"), (r"\bw/(?=\s)", "with"),
    (r"\b[Qq]ty\b", "quantity"), (r"\bN/A\b", "not available"), (r"\bASAP\b", "as soon as possible"),
    (r"\bFAQs?\b", "frequently asked questions"), (r"\bmins?\.?(?=\s|$)", "minutes"), (r"\bhrs?\.?(?=\s|$)", "hours"),
    (r"\bDr\.(?=\s+[A-Z])", "Doctor"), (r"\bMr\.", "Mister"), (r"\bMrs\.", "Missus"), (r"\bMs\.", "Miz"),
    (r"\bSt\.(?=\s+[A-Z])", "Saint"), (r"\bAve\.", "Avenue"), (r"\bNo\.(?=\s*\d)", "number"),
    (r"\bExt\.?(?=\s*\d)", "extension"), (r"\bdept\.", "department"), (r"\b24/7\b", "twenty-four seven"),
]


# --- number words ---------------------------------------------------------------------------------


def cardinal(value: int | float | str) -> str:
    """US style: no "and", no commas ("one thousand two hundred thirty-four")."""
    text = num2words(float(value) if isinstance(value, str) and "." in value else int(value))
    return re.sub(r"\s+", " ", text.replace(",", "").replace(" and ", " ")).strip()


def ordinal(value: int) -> str:
    return re.sub(r"\s+", " ", num2words(int(value), to="ordinal").replace(",", "").replace(" and ", " ")).strip()


def year(value: int) -> str:
    if 2000 <= value <= 2009:
        return cardinal(value)  # "two thousand five", not "twenty oh five"
    return num2words(value, to="year").replace(" and ", " ")


def digits(text: str, group: bool = True) -> str:
    """Digits one by one ("five one two"), grouped by commas in natural chunks of three and four."""
    only = [c for c in text if c.isdigit()]
    words = [_DIGIT_NAMES[int(c)] for c in only]
    if not group:
        return " ".join(words)
    return ", ".join(" ".join(words[a:b]) for a, b in _groups(len(words)))


def _groups(n: int) -> list[tuple[int, int]]:
    if n <= 5:
        sizes = [n]
    elif n in (6, 9):
        sizes = [3] * (n // 3)
    elif n == 8:
        sizes = [4, 4]
    else:
        # threes with the last four: 7 → 3+4, 10 → 3+3+4 (how people read phone numbers)
        sizes = [3] * ((n - 4) // 3) + [4]
        rest = n - sum(sizes)
        sizes = [*sizes[:-1], sizes[-1] + rest] if rest else sizes
    bounds, start = [], 0
    for size in sizes:
        bounds.append((start, start + size))
        start += size
    return bounds


def _letters_and_digits(token: str) -> str:
    """'BB-10001' → 'B B, one zero zero zero one'; 'W2378156' → 'W, two three seven, eight one five six'.
    Not "B B dash, ...": with the dash said, Whisper heard a caller reading BB-12345 back as "BB-10001-234"
    (another id of the business, from its hints) in the full test run (tests/voice/test_recognition.py)."""
    parts = re.findall(r"[A-Za-z]+|\d+", token.replace(",", ""))
    return ", ".join(digits(part) if part.isdigit() else " ".join(part.upper()) for part in parts)


# --- Markdown ------------------------------------------------------------------------------------


def _sentence(line: str) -> str:
    line = line.strip()
    return line if not line or line[-1] in ".!?:;," else line + "."


def strip_markdown(text: str) -> str:
    """Markdown → plain sentences: list items and headings end with a full stop so the voice pauses."""
    text = re.sub(r"```[a-zA-Z0-9_-]*\n?", "", text)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        if re.fullmatch(r"[-*_=]{3,}", line) or (re.fullmatch(r"\|?[\s:|-]+\|?", line) and "-" in line):
            continue  # rules and table separators
        line = re.sub(r"^#{1,6}\s*", "", line)
        line = re.sub(r"^>\s?", "", line)
        bullet = re.match(r"^(?:[-*+•]|\d+[.)])\s+", line)
        line = line[bullet.end():] if bullet else line
        if "|" in line and line.count("|") >= 2:
            line = ", ".join(cell.strip() for cell in line.strip("|").split("|") if cell.strip())
            bullet = bullet or re.match("", line)
        if bullet or raw.lstrip().startswith("#"):
            line = _sentence(line)
        lines.append(line)
    text = "\n".join(lines)
    text = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"\1", text)
    text = re.sub(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])", r"\1", text)
    text = re.sub(r"~~(.+?)~~", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return " ".join(_sentence(" ".join(p.split())) if len(paragraphs) > 1 else " ".join(p.split())
                    for p in paragraphs)


# --- the rewrites, in the order they run -----------------------------------------------------------

_TLD = r"(?:com|org|net|edu|gov|io|co|uk|us|ca|de|fr|info|biz|me|ai|app|dev|shop|store)"
_EMAIL = re.compile(r"(?<![\w.])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(rf"(?i)\b(?:https?://)?(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.{_TLD}\b(?:/[\w./%?=&#-]*)?")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_SLASH_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b")
_MONTH_NAMES = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?" \
               r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
_MONTH_DAY = re.compile(rf"(?i)\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?")
_DAY_MONTH = re.compile(rf"(?i)\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_NAMES})\b\.?(?:,?\s+(\d{{4}}))?")
_TIME = re.compile(r"(?i)\b(\d{1,2})(?::(\d{2}))?\s*(a\.m\.?|p\.m\.?|am|pm)(?![a-z])|\b([01]?\d|2[0-3]):(\d{2})\b")
_WEEKDAY_RANGE = re.compile(r"(?i)\b(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\s*[–—-]\s*"
                            r"(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\b")
_PHONE = re.compile(r"(?<![\w.])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{3,4}[\s.-]\d{3,4}(?![\w])")
_MONEY = re.compile(r"([$£€])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?:\s?(million|billion|thousand|k)\b)?")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_UNIT = re.compile(rf"(?i)\b(\d+(?:\.\d+)?)\s?({'|'.join(sorted(_UNITS, key=len, reverse=True))})\b(?!\.\w)")
_HASH_NUMBER = re.compile(r"#(\d+)\b")
_ID = re.compile(r"#?\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]+(?:-[A-Z0-9]+)*\b")
# an id as a caller typed or said it back: lower case ("bb-12345"; two letters at most, so "mid-2024" stays a
# year) or with a thousands separator ("BB-10,001"), read like any other id
_WRITTEN_ID = re.compile(r"#?\b(?:[a-z]{1,2}|[A-Z]{1,4})-?(?:\d{1,3}(?:,\d{3})+|\d{3,})(?!\w|,\d)")
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
_LONG_DIGITS = re.compile(r"\b\d{5,}\b")
_YEAR_CONTEXT = re.compile(r"(?i)\b(in|since|from|of|year|until|by|before|after)\s+((?:19|20)\d{2})\b")
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w])")


def _email_words(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{_dotted(local)} at {_dotted(domain)}"


def _dotted(part: str) -> str:
    names = {".": " dot ", "-": " dash ", "_": " underscore ", "+": " plus ", "/": " slash "}
    out = re.sub(r"[.\-_+/]", lambda m: names[m.group(0)], part)
    out = re.sub(r"\d+", lambda m: " " + digits(m.group(0), group=False) + " ", out)
    return " ".join(out.split())


def _url_words(match: re.Match[str]) -> str:
    url = re.sub(r"(?i)^https?://", "", match.group(0)).rstrip("/.")
    return _dotted(url)


def _date_words(month: int, day: int, year_: int | None) -> str:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return ""
    spoken = f"{_MONTHS[month - 1]} {ordinal(day)}"
    return f"{spoken}, {year(year_)}" if year_ else spoken


def _iso_date(m: re.Match[str]) -> str:
    return _date_words(int(m.group(2)), int(m.group(3)), int(m.group(1))) or m.group(0)


def _slash_date(m: re.Match[str]) -> str:
    first, second, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    y = y + 2000 if y < 100 else y
    month, day = (first, second) if first <= 12 else (second, first)  # US order unless it cannot be
    return _date_words(month, day, y) or m.group(0)


def _month_day(m: re.Match[str]) -> str:
    month = _MONTH_INDEX[m.group(1).lower()[:3]]
    return _date_words(month, int(m.group(2)), int(m.group(3)) if m.group(3) else None) or m.group(0)


def _day_month(m: re.Match[str]) -> str:
    month = _MONTH_INDEX[m.group(2).lower()[:3]]
    day, y = int(m.group(1)), (int(m.group(3)) if m.group(3) else None)
    if not 1 <= day <= 31:
        return m.group(0)
    spoken = f"the {ordinal(day)} of {_MONTHS[month - 1]}"
    return f"{spoken}, {year(y)}" if y else spoken


def _time(m: re.Match[str]) -> str:
    if m.group(3):  # 12-hour with am/pm
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        half = "a m" if m.group(3).lower().startswith("a") else "p m"
        if not 1 <= hour <= 12 or minute > 59:
            return m.group(0)
    else:
        hour, minute = int(m.group(4)), int(m.group(5))
        if minute > 59:
            return m.group(0)
        half = "a m" if hour < 12 else "p m"
        if hour == 12 and minute == 0:
            return "noon"
        if hour == 0 and minute == 0:
            return "midnight"
        hour = hour % 12 or 12
    # "5 p.m." at the end of a sentence: the abbreviation's dot also ended the sentence
    end = "." if m.group(0).endswith(".") and re.match(r"\s*(?:$|[A-Z])", m.string[m.end():]) else ""
    if minute == 0:
        return f"{cardinal(hour)} {half}{end}"
    minutes = f"oh {cardinal(minute)}" if minute < 10 else cardinal(minute)
    return f"{cardinal(hour)} {minutes} {half}{end}"


def _money(m: re.Match[str]) -> str:
    one, many, cent, cents = _CURRENCIES[m.group(1)]
    whole = int(m.group(2).replace(",", ""))
    fraction = int((m.group(3) or "0").ljust(2, "0"))
    scale = m.group(4)
    if scale:
        scale_word = {"k": "thousand"}.get(scale.lower(), scale.lower())
        amount = f"{cardinal(whole)}" + (f" point {digits(m.group(3), group=False)}" if m.group(3) else "")
        return f"{amount} {scale_word} {many}"
    if whole == 0 and fraction:
        return f"{cardinal(fraction)} {cent if fraction == 1 else cents}"
    spoken = f"{cardinal(whole)} {one if whole == 1 else many}"
    if fraction:
        spoken += f" and {cardinal(fraction)} {cent if fraction == 1 else cents}"
    return spoken


def _decimal(whole: str, fraction: str | None) -> str:
    spoken = cardinal(int(whole.replace(",", "")))
    return f"{spoken} point {digits(fraction, group=False)}" if fraction else spoken


def _unit(m: re.Match[str]) -> str:
    number, unit = m.group(1), _UNITS[m.group(2).lower()]
    whole, _, fraction = number.partition(".")
    if number == "1":
        unit = _SINGULAR_UNITS.get(unit, unit)
    return f"{_decimal(whole, fraction or None)} {unit}"


def _phone(m: re.Match[str]) -> str:
    groups = re.findall(r"\d+", m.group(0))
    prefix = "plus " if m.group(0).startswith("+") else ""
    return prefix + ", ".join(digits(g, group=len(g) > 5) for g in groups)


def _id(m: re.Match[str]) -> str:
    return _letters_and_digits(m.group(0).lstrip("#"))


def _hash_number(m: re.Match[str]) -> str:
    number = m.group(1)
    return "number " + (digits(number) if len(number) >= 4 else cardinal(int(number)))


_Rewrite = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]
_REWRITES: list[_Rewrite] = [
    (_EMAIL, lambda m: _email_words(m.group(0))),
    (_URL, _url_words),
    (_ISO_DATE, _iso_date),
    (_SLASH_DATE, _slash_date),
    (_WEEKDAY_RANGE, lambda m: f"{_WEEKDAYS[m.group(1).lower()]} to {_WEEKDAYS[m.group(2).lower()]}"),
    (_TIME, _time),
    (_MONTH_DAY, _month_day),
    (_DAY_MONTH, _day_month),
    (_PHONE, _phone),
    (_MONEY, _money),
    (_PERCENT, lambda m: f"{_decimal(*m.group(1).partition('.')[::2]) if '.' in m.group(1) else cardinal(m.group(1))}"
                         " percent"),
    (_UNIT, _unit),
    (_HASH_NUMBER, _hash_number),
    (_WRITTEN_ID, _id),
    (_ID, _id),
    (_ORDINAL, lambda m: ordinal(int(m.group(1)))),
    (_LONG_DIGITS, lambda m: digits(m.group(0))),
    (_YEAR_CONTEXT, lambda m: f"{m.group(1)} {year(int(m.group(2)))}"),
    (_NUMBER, lambda m: _decimal(m.group(1), m.group(2))),
]


def _symbols(text: str) -> str:
    text = re.sub(r"\s*&\s*", " and ", text)
    text = re.sub(r"(?<=\w)/(?=\w)", " or ", text)
    text = re.sub(r"\s+\+\s+", " plus ", text)
    text = re.sub(r"~\s*(?=\w)", "about ", text)
    text = re.sub(r"\s*(?:\.\.\.|…)\s*", ", ", text)
    text = re.sub(r"\s+[–—-]\s+|\s*—\s*", ", ", text)
    text = re.sub(r"\s*[()\[\]]\s*", ", ", text)  # an aside is a pause, not "left parenthesis"
    text = re.sub(r"^[\s,]+|(?<=[.!?:;])\s*,", " ", text)
    return re.sub(r"(?:\s*,)+\s*(?=[,.!?;:]|$)", "", text)


def speakable(text: str) -> str:
    """A reply as a voice should say it (see the module docstring for what is rewritten)."""
    text = strip_markdown(text)
    for abbreviation, expansion in _ABBREVIATIONS:
        text = re.sub(abbreviation, expansion, text)
    for pattern, rewrite in _REWRITES[:9]:
        text = pattern.sub(rewrite, text)
    # a range between numbers or times reads "to": "9 a m – 5 p m", "3-5 days"
    text = re.sub(r"(?<=\d)\s*[–—-]\s*(?=\$?\d)", " to ", text)
    text = re.sub(r"(?<=[ap] m)\s*[–—-]\s*(?=\w)", " to ", text)
    for pattern, rewrite in _REWRITES[9:]:
        text = pattern.sub(rewrite, text)
    text = _symbols(text)
    text = text.replace("#", " number ")
    return re.sub(r"\s+([,.!?;:])", r"\1", " ".join(text.split()))


# --- spelling out and sentences ------------------------------------------------------------------

_SYMBOL_NAMES = {"@": "at", ".": "dot", "-": "dash", "_": "underscore", "#": "hash", "+": "plus", "/": "slash",
                 "&": "and", "'": "apostrophe", ",": "comma"}


# Mail domains people say as words ("at gmail dot com"); any other domain is spelled too.
_SAID_DOMAINS = {"gmail", "googlemail", "yahoo", "hotmail", "outlook", "live", "icloud", "me", "aol", "proton",
                 "protonmail", "msn", "mail", "example", "com", "org", "net", "edu", "gov", "co", "uk", "us", "io",
                 "ca", "de", "fr", "info", "biz"}


def spell(text: str) -> str:
    """Every character named, for "can you spell that?": 'BB-10001' → 'B, B, dash, one, zero, …'; an
    email's well-known domain as words: 'jo.w@gmail.com' → 'J, O, dot, W, at gmail dot com'."""
    words = []
    for word in text.split():
        local, at, domain = word.partition("@")
        if at and domain and all(label.lower() in _SAID_DOMAINS for label in domain.split(".")):
            words.append(f"{_spelled(local)}, at {' dot '.join(domain.lower().split('.'))}")
        elif _spelled(word):
            words.append(_spelled(word))
    return ". ".join(words) + ("." if words else "")


def _spelled(word: str) -> str:
    names = []
    for ch in word:
        if ch.isdigit():
            names.append(_DIGIT_NAMES[int(ch)])
        elif ch.isalpha():
            names.append(ch.upper())
        elif ch in _SYMBOL_NAMES:
            names.append(_SYMBOL_NAMES[ch])
    return ", ".join(names)


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str, first_max_words: int = 14) -> list[str]:
    """Sentences to synthesise one by one. A long first sentence is cut at its first comma or semicolon
    past a few words, so the caller hears the start sooner."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    if sentences and len(sentences[0].split()) > first_max_words:
        first = sentences[0]
        cut = re.search(r"[,;:]\s", first[len(" ".join(first.split()[:4])):])
        if cut:
            at = len(" ".join(first.split()[:4])) + cut.end()
            sentences[0:1] = [first[:at].strip(), first[at:].strip()]
    return sentences
