"""Rule-based entity extraction: contact details, pack identifiers, dates, money, products.

Extraction claims character spans in a fixed priority order (email, card placeholder, pack ids,
money, phone, postcode, date/time, product, number) and a later extractor never reuses a claimed
span, so an order id's digits are not also reported as a phone number, ZIP code or number.

Pack id normalisation rule: the match is upper-cased and its separators (spaces, dashes) are
removed; if the pack's regex contains a literal dash, one dash is re-inserted between the letter
prefix and the rest. So with ``(?i)\\bBB[- ]?\\d{5}\\b``, "bb 10001", "BB10001" and "bb-10001" all
become "BB-10001". A pack regex that allows an optional dash (``-?``) also accepts a space there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from helpline.conversation.ports import Entity
from helpline.knowledge.product_names import ProductNames
from helpline.knowledge.quantities import DIGIT_WORDS
from helpline.knowledge.synonyms import same_word

SHORT_WORD_LETTERS = 3  # a product name's word this short, said one letter off, is another word ("or" / "one")


@dataclass(frozen=True)
class ProductInfo:
    name: str
    options: dict[str, list[str]] = field(default_factory=dict)


def _words(text: str, sep: str | None = None) -> list[str]:
    return [w for w in text.split(sep) if w]


def _enumerate_words(text: str, sep: str | None = None) -> enumerate[str]:
    return enumerate(_words(text, sep))


_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_CARD_PLACEHOLDER = re.compile(r"\[card ending (\d{4})\]")
_US_ZIP = re.compile(r"(?<![\w-])\d{5}(?:-\d{4})?(?![\w-])")
_UK_POSTCODE = re.compile(r"(?i)\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)\s*\d[A-Z]{2}\b")
_POSTCODE_CUE = re.compile(r"(?i)\b(?:zip|postcode|post code|postal code|zip code)\b")
_MONEY_SYMBOL = re.compile(r"(?P<cur>[$£€])\s?(?P<amount>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)")
_MONEY_WORD = re.compile(r"(?i)\b(?P<amount>\d+(?:\.\d{1,2})?)\s*(?P<cur>dollars?|bucks|usd|pounds?|gbp|euros?|eur)\b")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_NUMBER_WORDS = {
    w: i
    for i, w in _enumerate_words(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty",
        sep=" ",
    )
}
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_WEEKDAYS = r"mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:rs(?:day)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?"
# a weekday said in full stands alone; a short form is a word of its own as often ("it's sat by the router", "in the
# sun", "we wed in May") and is a day only after "on", "next", "this", "last", "by" or "until"
_WEEKDAYS_FULL = r"monday|tues(?:day)?|wednesday|thurs(?:day)?|friday|saturday|sunday"
_TIME_PART = (
    r"(?:at\s+)?(?:\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2}|noon|midnight"
    r"|(?:in\s+the\s+)?(?:morning|afternoon|evening)|tonight|\d{1,2}\s*o'?clock)"
)
_DATE_PART = (
    rf"(?:today|tomorrow|yesterday|day\s+after\s+tomorrow"
    rf"|(?:(?:next|this|last|on|by|until)\s+)(?:{_WEEKDAYS})\b|(?:{_WEEKDAYS_FULL})\b"
    rf"|(?:next|last|this)\s+(?:week|month|year)"
    rf"|in\s+\d+\s+(?:days?|weeks?|months?)|\d+\s+(?:days?|weeks?)\s+ago"
    rf"|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\b\.?(?:,?\s+\d{{4}})?"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?)"
)
# Dateparser costs ~1 ms per call even on plain text; only phrases this regex finds reach it.
_DATETIME = re.compile(
    rf"(?i)\b(?:{_DATE_PART}(?:\s*,?\s*{_TIME_PART})?|{_TIME_PART}(?:\s*,?\s*(?:on\s+)?{_DATE_PART})?)(?![\w/])"
)
_TIME_ONLY = re.compile(rf"(?i)^{_TIME_PART}$")
_HAS_TIME = re.compile(rf"(?i){_TIME_PART}")
_NAME_INTRO = re.compile(
    r"(?:\b[Mm]y\s+(?:full\s+)?name\s+is|\b[Nn]ame'?s|\b[Tt]his\s+is|\bI'?m|\bI\s+am|\b[Ii]t'?s)\s+"
    r"(?P<name>[A-Z][a-zA-Z'-]+(?:\s+[A-Z][a-zA-Z'-]+){0,2})"
)
_NAME_INTRO_ANYCASE = re.compile(r"(?i)\bmy\s+(?:full\s+)?name\s+is\s+(?P<name>[a-z][a-z'-]+(?:\s+[a-z][a-z'-]+){0,2})")
_NOT_NAMES = frozenset(
    _words(
        """
    a an the not very so just calling having here still really trying looking sorry afraid glad happy
    fine good ok okay sure unhappy angry frustrated interested wondering and but or with from in on at
    for to of about my your our their this that it yes no please hi hello hey thanks thank
    """
    )
)
_ANSWER_FILLER = re.compile(
    r"(?i)^\s*(?:(?:it'?s|it\s+is|that'?s|that\s+is|my\s+\w+(?:\s+\w+)?\s+is|the\s+\w+\s+is|"
    r"um+|uh+|er+|ok(?:ay)?|sure|yes|yeah|so)[\s,:]+)+"
)
_WORD = re.compile(r"[\w'-]+")
_ORDINAL_DAY = re.compile(r"(?i)(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)")


def next_day_of_month(day: int, today: date) -> date | None:
    """The next `day`th of a month on or after today."""
    if not 1 <= day <= 31:
        return None
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return None


def _compile_id(pattern: str) -> tuple[re.Pattern[str], bool]:
    """The pack regex made lenient about an optional dash, and whether its canonical form has a dash."""
    lenient = pattern.replace("-?", "[- ]?")
    return re.compile(lenient), "-" in pattern


def _canonical_id(text: str, dashed: bool) -> str:
    raw = re.sub(r"[\s-]+", "", text).upper()
    if not dashed:
        return raw
    m = re.match(r"([A-Z]+)(.+)", raw)
    return f"{m.group(1)}-{m.group(2)}" if m else raw


def _id_prefix(pattern: str) -> str:
    """The literal letter prefix of an id regex ("BB" for ``(?i)\\bBB-?\\d{5}``), if any."""
    m = re.match(r"^(?:\(\?[a-z]+\))?(?:\\b)?([A-Za-z]+)", pattern)
    return m.group(1) if m else ""


def _money(amount: str) -> str:
    try:
        return f"{Decimal(amount.replace(',', '')):.2f}"
    except InvalidOperation:  # pragma: no cover - the regexes only pass digits
        return amount


@lru_cache(maxsize=1)
def _date_parser() -> Any:
    from dateparser.date import DateDataParser

    return DateDataParser(languages=["en"], settings={"PREFER_DATES_FROM": "future"})


class _Spans:
    """Character spans already claimed by a higher-priority entity."""

    def __init__(self) -> None:
        self._taken: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self._taken)

    def claim(self, start: int, end: int) -> None:
        self._taken.append((start, end))


class EntityExtractor:
    def __init__(
        self,
        id_formats: Mapping[str, str] | None = None,
        products: Sequence[ProductInfo] = (),
        default_region: str = "US",
        product_cutoff: float = 85.0,
    ) -> None:
        self._ids = {name: _compile_id(rx) for name, rx in (id_formats or {}).items()}
        self._id_prefixes = {name: _id_prefix(rx) for name, rx in (id_formats or {}).items()}
        self._products = list(products)
        self._region = default_region
        self._cutoff = product_cutoff
        self._product_names = [p.name for p in self._products]
        self._said_names = ProductNames(self._product_names)
        self._head_words = self._unique_head_words()
        self._options: dict[str, str] = {}  # lower-cased option value -> canonical value
        for p in self._products:
            for values in p.options.values():
                for v in values:
                    self._options.setdefault(v.lower(), v)

    @property
    def product_names(self) -> tuple[str, ...]:
        """The catalogue's product names, as the pack gives them."""
        return tuple(self._product_names)

    def warm_up(self) -> None:
        """Load dateparser's and phonenumbers' lazy data now rather than on a customer's turn."""
        self.extract("call me on 512-555-0100 tomorrow at 3pm")

    # --- public -------------------------------------------------------------------------------

    def extract(self, text: str, now: datetime | None = None) -> tuple[Entity, ...]:
        spans = _Spans()
        found: list[Entity] = []
        for extractor in (
            self._emails,
            self._card_placeholders,
            self._pack_ids,
            self._money_amounts,
            self._phones,
            self._postcodes,
            lambda t, s: self._dates(t, s, now),
            self._names,
            self._products_in,
            self._numbers,
        ):
            found.extend(extractor(text, spans))
        return tuple(sorted(found, key=lambda e: (e.start, e.type)))

    def extract_as(self, text: str, entity_type: str, now: datetime | None = None) -> Entity | None:
        """Read one expected value from an answer, accepting terse forms the free extractor would not."""
        stripped = text.strip()
        if not stripped:
            return None
        if entity_type == "text":
            return Entity("text", stripped, stripped, text.find(stripped), text.find(stripped) + len(stripped))
        for e in self.extract(text, now):
            if e.type == entity_type or (entity_type in ("date", "time", "datetime") and e.type == "datetime"):
                return e
        answer = _ANSWER_FILLER.sub("", stripped).strip(" .!?")
        offset = text.find(answer) if answer else 0
        return self._terse(answer, entity_type, offset, now)

    # --- terse answers ------------------------------------------------------------------------

    def _terse(self, answer: str, entity_type: str, offset: int, now: datetime | None) -> Entity | None:
        if not answer:
            return None

        def ent(value: str) -> Entity:
            return Entity(entity_type, value, answer, offset, offset + len(answer))

        if entity_type == "person_name":
            words = answer.split()
            if (
                1 <= len(words) <= 3
                and all(re.fullmatch(r"[A-Za-z][A-Za-z'-]*", w) for w in words)
                and not any(w.lower() in _NOT_NAMES for w in words)
            ):
                return ent(" ".join(w[:1].upper() + w[1:] for w in words))
            return None
        if entity_type == "postcode":
            m = re.fullmatch(r"\d{5}(?:-\d{4})?", answer) or _UK_POSTCODE.fullmatch(answer)
            return ent(self._postcode_value(m.group(0))) if m else None
        if entity_type == "number":
            if answer.lower() in _NUMBER_WORDS:
                return ent(str(_NUMBER_WORDS[answer.lower()]))
            return None
        if entity_type == "money":
            m = re.fullmatch(r"\d+(?:\.\d{1,2})?", answer)
            return ent(_money(m.group(0))) if m else None
        if entity_type in self._ids:
            prefix = self._id_prefixes[entity_type]
            rx, dashed = self._ids[entity_type]
            candidate = f"{prefix}{answer}" if prefix and answer.isdigit() else answer
            m = rx.fullmatch(candidate) or rx.fullmatch(candidate.upper())
            return ent(_canonical_id(m.group(0), dashed)) if m else None
        if entity_type in ("date", "time", "datetime"):
            return self._parse_datetime(answer, offset, now)
        if entity_type == "product" and self._product_names:
            hits = process.extract(answer, self._product_names, scorer=fuzz.WRatio, processor=default_process, limit=2)
            # "espresso" fits Espresso One and Espresso Pro equally: ask again rather than guess.
            if hits and hits[0][1] >= 80 and (len(hits) == 1 or hits[0][1] - hits[1][1] >= 5):
                return ent(hits[0][0])
            return None
        if entity_type == "product_option" and self._options:
            hit = process.extractOne(
                answer.lower(), list(self._options), scorer=fuzz.WRatio, processor=default_process, score_cutoff=85
            )
            return ent(self._options[hit[0]]) if hit else None
        return None

    # --- extractors, in priority order --------------------------------------------------------

    def _emails(self, text: str, spans: _Spans) -> Iterable[Entity]:
        for m in _EMAIL.finditer(text):
            candidate = m.group(0).rstrip(".")
            try:
                info = validate_email(candidate, check_deliverability=False)
            except EmailNotValidError:
                continue
            spans.claim(m.start(), m.start() + len(candidate))
            yield Entity("email", info.normalized.lower(), candidate, m.start(), m.start() + len(candidate))

    def _card_placeholders(self, text: str, spans: _Spans) -> Iterable[Entity]:
        for m in _CARD_PLACEHOLDER.finditer(text):
            spans.claim(m.start(), m.end())
            yield Entity("card_number", m.group(1), m.group(0), m.start(), m.end())

    def _pack_ids(self, text: str, spans: _Spans) -> Iterable[Entity]:
        for name, (rx, dashed) in self._ids.items():
            for m in rx.finditer(text):
                if spans.free(m.start(), m.end()):
                    spans.claim(m.start(), m.end())
                    yield Entity(name, _canonical_id(m.group(0), dashed), m.group(0), m.start(), m.end())

    def _money_amounts(self, text: str, spans: _Spans) -> Iterable[Entity]:
        for rx in (_MONEY_SYMBOL, _MONEY_WORD):
            for m in rx.finditer(text):
                if spans.free(m.start(), m.end()):
                    spans.claim(m.start(), m.end())
                    yield Entity("money", _money(m.group("amount")), m.group(0), m.start(), m.end())

    def _phones(self, text: str, spans: _Spans) -> Iterable[Entity]:
        if sum(c.isdigit() for c in text) < 7:
            return
        for m in phonenumbers.PhoneNumberMatcher(text, self._region):
            if spans.free(m.start, m.end):
                spans.claim(m.start, m.end)
                value = phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
                yield Entity("phone", value, m.raw_string, m.start, m.end)

    def _postcode_value(self, raw: str) -> str:
        if raw[0].isdigit():
            return raw
        compact = re.sub(r"\s+", "", raw).upper()
        return f"{compact[:-3]} {compact[-3:]}"

    def _postcodes(self, text: str, spans: _Spans) -> Iterable[Entity]:
        for m in _UK_POSTCODE.finditer(text):
            # Guard against ordinary words: a UK postcode needs a digit in its outward part.
            if spans.free(m.start(), m.end()) and any(c.isdigit() for c in m.group(0)[:4]):
                spans.claim(m.start(), m.end())
                yield Entity("postcode", self._postcode_value(m.group(0)), m.group(0), m.start(), m.end())
        # A bare 5-digit number is too often a quantity or reference to be a ZIP without a cue.
        cued = bool(_POSTCODE_CUE.search(text))
        for m in _US_ZIP.finditer(text):
            if (cued or "-" in m.group(0)) and spans.free(m.start(), m.end()):
                spans.claim(m.start(), m.end())
                yield Entity("postcode", m.group(0), m.group(0), m.start(), m.end())

    def _dates(self, text: str, spans: _Spans, now: datetime | None) -> Iterable[Entity]:
        for m in _DATETIME.finditer(text):
            if not spans.free(m.start(), m.end()):
                continue
            ent = self._parse_datetime(m.group(0), m.start(), now)
            if ent is not None:
                spans.claim(m.start(), m.end())
                yield ent

    def _parse_datetime(self, phrase: str, offset: int, now: datetime | None) -> Entity | None:
        cleaned = re.sub(r"(?i)^(?:on|at)\s+", "", phrase.strip())
        ordinal = _ORDINAL_DAY.fullmatch(cleaned)
        if ordinal:
            # dateparser reads "the 5th" as a month; customers mean the next 5th of a month.
            day = next_day_of_month(int(ordinal.group(1)), (now or datetime.now()).date())
            if day is None:
                return None
            return Entity("date", day.isoformat(), phrase, offset, offset + len(phrase))
        parser = _date_parser()
        settings: dict[str, Any] = {"PREFER_DATES_FROM": "future"}
        if now is not None:
            settings["RELATIVE_BASE"] = now
        from dateparser import parse

        when = (
            parse(cleaned, languages=["en"], settings=settings)
            if now is not None
            else parser.get_date_data(cleaned).date_obj
        )
        if when is None:
            return None
        end = offset + len(phrase)
        if _TIME_ONLY.match(cleaned):
            return Entity("time", when.strftime("%H:%M"), phrase, offset, end)
        if _HAS_TIME.search(cleaned):
            return Entity("datetime", when.replace(microsecond=0).isoformat(), phrase, offset, end)
        return Entity("date", when.date().isoformat(), phrase, offset, end)

    def _names(self, text: str, spans: _Spans) -> Iterable[Entity]:
        for rx in (_NAME_INTRO, _NAME_INTRO_ANYCASE):
            for m in rx.finditer(text):
                words = m.group("name").split()
                # Stop at the first word that is clearly not part of a name ("I'm Jane and ...").
                kept: list[str] = []
                for w in words:
                    if w.lower() in _NOT_NAMES:
                        break
                    kept.append(w)
                if not kept:
                    continue
                start = m.start("name")
                end = start + len(" ".join(kept))
                if spans.free(start, end):
                    spans.claim(start, end)
                    value = " ".join(w[:1].upper() + w[1:] for w in kept)
                    yield Entity("person_name", value, text[start:end], start, end)

    def _unique_head_words(self) -> dict[str, str]:
        """Distinctive last words ("grinder" -> "Burr Grinder") that identify one product alone."""
        counts: dict[str, list[str]] = {}
        for name in self._product_names:
            for w in name.lower().split():
                counts.setdefault(w, []).append(name)
        heads: dict[str, str] = {}
        for name in self._product_names:
            last = name.lower().split()[-1]
            if len(last) >= 6 and len(counts[last]) == 1:
                heads[last] = name
        return heads

    def _products_in(self, text: str, spans: _Spans) -> Iterable[Entity]:
        if not self._products:
            return
        tokens = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text)]
        products: list[Entity] = []
        for mention in self._said_names.mentions(text):
            # said the caller's way: "espresso 1", "expresso one", "the pro" beside "the one"
            if mention.renamed and spans.free(mention.start, mention.end):
                spans.claim(mention.start, mention.end)
                products.append(Entity("product", mention.name, mention.said, mention.start, mention.end))
        lengths = sorted({len(n.split()) for n in self._product_names}, reverse=True)
        for n in lengths:
            for i in range(len(tokens) - n + 1):
                start, end = tokens[i][1], tokens[i + n - 1][2]
                if not spans.free(start, end):
                    continue
                phrase = text[start:end]
                hit = process.extractOne(
                    phrase.lower(),
                    {p: p.lower() for p in self._product_names if len(p.split()) == n},
                    scorer=fuzz.ratio,
                    score_cutoff=self._cutoff,
                )
                if hit and _short_words_said(phrase, hit[2]):
                    spans.claim(start, end)
                    products.append(Entity("product", hit[2], phrase, start, end))
        for word, start, end in tokens:
            head = self._head_words.get(word.lower().rstrip("s"), self._head_words.get(word.lower()))
            if head and spans.free(start, end):
                spans.claim(start, end)
                products.append(Entity("product", head, word, start, end))
        yield from products
        yield from self._product_options(text, spans, tokens, {e.value for e in products})

    def _product_options(
        self, text: str, spans: _Spans, tokens: list[tuple[str, int, int]], products: set[str]
    ) -> Iterable[Entity]:
        allowed = dict(self._options)
        if products:
            allowed = {
                v.lower(): v
                for p in self._products
                if p.name in products
                for values in p.options.values()
                for v in values
            }
        for lower, canonical in allowed.items():
            # Short values ("red", "1L") must match exactly; longer ones may be slightly misspelt.
            for m in re.finditer(rf"(?i)(?<![\w-]){re.escape(lower)}(?![\w-])", text):
                if spans.free(m.start(), m.end()):
                    spans.claim(m.start(), m.end())
                    yield Entity("product_option", canonical, m.group(0), m.start(), m.end())
            if len(lower) >= 5 and " " not in lower:
                for word, start, end in tokens:
                    # a shorter word one letter off is another word ("back" is not "black")
                    if spans.free(start, end) and len(word) >= len(lower) and fuzz.ratio(word.lower(), lower) >= 88:
                        spans.claim(start, end)
                        yield Entity("product_option", canonical, word, start, end)

    def _numbers(self, text: str, spans: _Spans) -> Iterable[Entity]:
        for m in _NUMBER.finditer(text):
            if spans.free(m.start(), m.end()):
                spans.claim(m.start(), m.end())
                yield Entity("number", m.group(0), m.group(0), m.start(), m.end())


def _short_words_said(phrase: str, name: str) -> bool:
    """A misspelt name keeps its short words: "espresso or" is not "Espresso One" (a word of three letters or
    fewer one letter off is another word), "espreso one" is, and so are "travel mugs"."""
    said, written = phrase.lower().split(), name.lower().split()
    return len(said) == len(written) and all(
        len(w) > SHORT_WORD_LETTERS or same_word(DIGIT_WORDS.get(a, a), DIGIT_WORDS.get(w, w))  # "mugs": "mug"
        for a, w in zip(said, written, strict=True))
