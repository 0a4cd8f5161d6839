"""Reading the answer to the slot asked the way people give it, in English.

- Chatter around a value is not the value: "05301, like I said" answers a ZIP with 05301; a free-text
  answer keeps what was said without the "um, well, ..." before it or the "like I said" after it.
- Dates and times: "next month" is a window, not a day (the engine asks for one); "thursday doesn't work"
  rules Thursday out rather than choosing it; "between the 3rd and the 5th", "after 3pm", "mornings",
  "thursday afternoon" are windows, written as ISO 8601 intervals ("2026-12-03/2026-12-05", "15:00/23:59").

The engine decides what a value means for the slot (conversation/slot_values.py); this module only reads.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from helpline.conversation.ports import Entity
from helpline.understanding.entities import EntityExtractor, next_day_of_month

_FILLER = r"(?:um+|uh+|erm?|hmm+|well|so|ok(?:ay)?|yeah|yep|right|basically|honestly|actually)"
_AS_SAID = (r"(?:(?:like|as) i (?:said|told you|mentioned|wrote|already said)|i (?:already )?(?:said|told you|gave you)"
            r"(?: (?:that|this|it))?)(?: (?:before|earlier|already|twice|above))*")
_CHATTER_LEAD = re.compile(rf"(?i)^\s*(?:(?:{_FILLER}|{_AS_SAID}|it'?s|it is)\b[\s,:.!-]*)+")
_CHATTER_TAIL = re.compile(rf"(?i)[\s,;:.!-]*\b(?:{_AS_SAID}|thanks|thank you|thx|cheers|please|pls|lol|haha"
                           r"|for the (?:second|third|last) time|if that helps)[\s.!?]*$")


def strip_chatter(text: str) -> str:
    """The answer without fillers before it and "like I said" / "thanks" after it (never empty)."""
    answer = text.strip()
    while True:
        shorter = _CHATTER_TAIL.sub("", _CHATTER_LEAD.sub("", answer)).strip(" ,;:-")
        if shorter == answer or not shorter:
            return answer if answer else text.strip()
        answer = shorter


_PLACE_LEAD = re.compile(
    rf"(?i)^\s*(?:{_FILLER}[\s,.!-]+)*(?:(?:we'?re|we are|i'?m|i am|we'?ll be|i'?ll be|we will be|i will be|we|i)\s+"
    r"(?:moving|relocating|going|heading|off|headed)\s+(?:to|into|over to|out to)"
    r"|(?:it'?s|it is|that'?s|that is|we'?re|we are|i'?m|i am)\s+(?:in|at)|(?:moving|relocating|going|over|out)\s+to"
    r"|to)\s+")
PLACE_WORDS = 4  # "to three forks": a short answer is a place named; a longer one a sentence kept as said


def strip_place_lead(text: str) -> str:
    """A free-text answer without chatter, and a short one without "we're moving to" / "it's in" / "to"
    before the place it names; a longer answer (an access note: "to get in use the side gate") keeps it."""
    answer = strip_chatter(text)
    for source in (text.strip(), answer):  # "it's in Mesa Alta": the lead before the chatter is taken off
        lead = _PLACE_LEAD.match(source)
        rest = strip_chatter(source[lead.end():]) if lead else ""
        if rest and len(rest.split()) <= PLACE_WORDS:
            return rest
    return answer


def read_pattern(text: str, pattern: str) -> str | None:
    """The part of the message matching a text slot's pattern, spaces and dashes removed, upper-cased."""
    match = re.search(pattern, text)
    return re.sub(r"[\s-]+", "", match.group(0)).upper() if match else None


# --- dates and times --------------------------------------------------------------------------------

DAY_START, DAY_END = "00:00", "23:59"
OPEN_DATE_WINDOW = timedelta(days=28)  # "after the 3rd": the four weeks from then
PARTS_OF_DAY = {"morning": ("08:00", "12:00"), "afternoon": ("12:00", "17:00"), "evening": ("17:00", "21:00"),
                "lunchtime": ("12:00", "14:00"), "lunch time": ("12:00", "14:00"), "tonight": ("17:00", "22:00")}

_REWRITES = (
    (re.compile(r"(?i)\b(?:anything|any day|any time|anytime|everything|all) (?:but|except|apart from)\b"),
     "except"),
    (re.compile(r"(?i)\b(?:not before|no earlier than|not earlier than)\b"), "after"),
    (re.compile(r"(?i)\b(?:not after|no later than|not later than)\b"), "before"),
    (re.compile(r"(?i)\b(\w+)'s (?=no good|out|bad|fully booked|booked)"), r"\1 is "),
    # "Monday, November 23" is one day, not two clauses
    (re.compile(r"(?i)\b((?:mon|tues|wednes|thurs|fri|satur|sun)day),\s*(?=(?:the\s+)?\d|(?:jan|feb|mar|apr|may|jun"
                r"|jul|aug|sep|oct|nov|dec)[a-z]*\b)"), r"\1 "),
)
_CLAUSES = re.compile(r"(?i)[,;!?]+|\.(?:\s|$)|\s+-\s+|\bbut\b|\bhow about\b|\bwhat about\b|\binstead\b|\bso\b"
                      r"|\bor else\b|\bthough\b")
_NEGATIVE = re.compile(r"(?i)\b(?:not|no|never|can'?t|cannot|won'?t|wont|isn'?t|aren'?t|don'?t|doesn'?t|dont|doesnt"
                       r"|does not|do not|will not|would not|wouldn'?t|busy|unavailable|away|except|other than"
                       r"|rather not|no good|bad|out of town|fully booked|impossible|working all day)\b")
_PERIOD = re.compile(r"(?i)\b(?:(?:any ?(?:day|time)|some ?time|sometime|at some point|whenever|early|late|later)\s+)?"
                     r"(?:in\s+)?(?P<which>next|this|the coming|coming|the)\s+(?P<unit>week|month|weekend)\b")
_POINT = r"(?:the\s+)?[\w:.']+(?:\s+(?:am|pm|a\.m\.|p\.m\.|o'?clock))?(?:\s+(?:of\s+)?[a-z]+)?"
_BETWEEN = re.compile(r"(?i)\b(?:between|from)\s+(?P<a>.+?)\s+(?:and|to|till|until|through|thru|-)\s+(?P<b>.+?)\s*$")
_DASHED = re.compile(r"(?i)(?P<a>\b\d{1,2}(?::\d{2})?\s*(?:am|pm)?)\s*(?:-|to|till|until)\s*"
                     r"(?P<b>\d{1,2}(?::\d{2})?\s*(?:am|pm))")
_AFTER = re.compile(r"(?i)\b(?:any ?time after|anytime after|after|from|later than|past|onwards? from)\s+(?P<a>.+?)"
                    r"(?:\s+on(?:wards?)?)?\s*$")
_BEFORE = re.compile(r"(?i)\b(?:before|by|until|till|up to|earlier than)\s+(?P<a>.+?)\s*$")
_PART_OF_DAY = re.compile(r"(?i)\b(?:in the |on |during the )?(?P<part>morning|afternoon|evening|lunch ?time"
                          r"|tonight)s?\b")
_MERIDIEM = re.compile(r"(?i)(am|pm|a\.m\.|p\.m\.)\s*$")
_BARE_NUMBER = re.compile(r"(?i)^(?:the\s+)?(\d{1,2})(?:(st|nd|rd|th)|:(\d{2}))?$")
_ORDINAL = re.compile(r"(?i)\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b")
_WEEKDAY_ONLY = re.compile(r"(?i)(?:on\s+)?(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?")
_RELATIVE = re.compile(r"(?i)\b(?:today|tomorrow|tonight|yesterday|next|this|in \d|ago)\b")


@dataclass(frozen=True)
class TemporalAnswer:
    """What an answer to a date, time or datetime question gives: the value chosen (ISO, or an ISO
    interval for a window) and the values the customer ruled out."""

    value: str | None = None
    ruled_out: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Reading:
    """One clause, read: a day or a window of days, and a time or a window of times."""

    days: tuple[date, date] | None = None
    times: tuple[str, str] | None = None

    def as_slot(self, slot_type: str) -> str | None:
        days, times = self.days, self.times
        if slot_type == "date":
            if days is None:
                return None
            return days[0].isoformat() if days[0] == days[1] else f"{days[0].isoformat()}/{days[1].isoformat()}"
        if slot_type == "time":
            if times is None:
                return None
            return times[0] if times[0] == times[1] else f"{times[0]}/{times[1]}"
        if days is not None and times is not None and days[0] == days[1]:
            day = days[0].isoformat()
            start, end = f"{day}T{times[0]}:00", f"{day}T{times[1]}:00"
            return start if start == end else f"{start}/{end}"
        return (self.as_slot("date") if days is not None else None) or self.as_slot("time")


class TemporalReader:
    """Reads dates, times and windows from an answer; `now` anchors "tomorrow" and "next week"."""

    def __init__(self, extractor: EntityExtractor | None = None) -> None:
        # dates need no pack ids or products: a plain extractor reads them
        self.extractor = extractor or EntityExtractor()

    def read(self, text: str, slot_type: str, now: datetime | None = None, within: str | None = None) -> TemporalAnswer:
        """`within`: a window the customer gave before ("next month"): "the 4th" and "tuesday" are read in it."""
        now = now or datetime.now()
        for pattern, replacement in _REWRITES:
            text = pattern.sub(replacement, text)
        chosen: list[str] = []
        ruled_out: list[str] = []
        for clause in _CLAUSES.split(text):
            if not clause or not clause.strip():
                continue
            value = self._clause(clause, now, within).as_slot(slot_type)
            if value is None:
                continue
            if _NEGATIVE.search(clause):
                if "/" not in value:  # "not next week" narrows nothing we can ask about
                    ruled_out.append(value)
            else:
                chosen.append(value)
        return TemporalAnswer(chosen[0] if chosen else None, tuple(dict.fromkeys(ruled_out)))

    # --- one clause -----------------------------------------------------------------------------

    def _clause(self, clause: str, now: datetime, within: str | None) -> _Reading:
        rest = clause
        days: tuple[date, date] | None = None
        times: tuple[str, str] | None = None
        period = _PERIOD.search(rest)
        if period and (period["which"].lower() != "the" or period["unit"].lower() == "weekend"):
            days = _period(period["which"].lower(), period["unit"].lower(), now.date())
            rest = rest[: period.start()] + " " + rest[period.end():]
        for pattern in (_BETWEEN, _DASHED):
            found = pattern.search(rest)
            if found is None:
                continue
            a, b = _share_meridiem(found["a"], found["b"])
            start, end = self._point(a, now, within), self._point(b, now, within)
            if start is None or end is None:
                continue
            if isinstance(start, date) and isinstance(end, date):
                days = (start, end if end >= start else self._after(b, start))
            elif isinstance(start, str) and isinstance(end, str):
                times = (start, end)
            rest = rest[: found.start()] + " " + rest[found.end():]
            break
        if times is None and (days is None or days[0] == days[1]):
            for pattern, opens in ((_AFTER, True), (_BEFORE, False)):
                found = pattern.search(rest)
                point = self._point(found["a"], now, within) if found else None
                if found is None or point is None:
                    continue
                if isinstance(point, str):
                    times = (point, DAY_END) if opens else (DAY_START, point)
                elif days is None:
                    days = (point, point + OPEN_DATE_WINDOW) if opens else (now.date(), point)
                rest = rest[: found.start()] + " " + rest[found.end():]
                break
        part = _PART_OF_DAY.search(rest)
        if times is None and part is not None:
            times = PARTS_OF_DAY[part["part"].lower().replace("lunch time", "lunchtime")]
            rest = rest[: part.start()] + " " + rest[part.end():]
        day, clock = self._points_in(rest, now, within)
        if days is None and day is not None:
            days = (day, day)
        if times is None and clock is not None:
            times = (clock, clock)
        return _Reading(days, times)

    def _points_in(self, text: str, now: datetime, within: str | None) -> tuple[date | None, str | None]:
        """The first day and the first time named in what is left of a clause."""
        day: date | None = None
        clock: str | None = None
        weekday: date | None = None  # "thursday" alone: the date beside it, if any, says which one
        base = _base(text, now, within)
        for entity in self.extractor.extract(text, base):
            if entity.type == "date" and _WEEKDAY_ONLY.fullmatch(entity.text.strip()):
                weekday = weekday or _in_window(date.fromisoformat(entity.value), within)
            elif entity.type == "date" and day is None:
                day = _in_window(date.fromisoformat(entity.value), within)
            elif entity.type == "time" and clock is None:
                clock = entity.value
            elif entity.type == "datetime" and day is None:
                moment = datetime.fromisoformat(entity.value)
                day, clock = _in_window(moment.date(), within), clock or f"{moment:%H:%M}"
        if day is None:
            ordinal = _ORDINAL.search(text)
            if ordinal:
                day = _day_of_month(int(ordinal.group(1)), base.date(), weekday)
        return day or weekday, clock

    def _point(self, phrase: str, now: datetime, within: str | None) -> date | str | None:
        """One end of a window: a day (date) or a time ("15:00")."""
        phrase = re.sub(r"(?i)^(?:on|at|the)\s+", "", phrase.strip(" .!?"))
        bare = _BARE_NUMBER.match(phrase)
        if bare:
            number, suffix, minutes = int(bare.group(1)), bare.group(2), bare.group(3)
            if suffix:
                return next_day_of_month(number, _base(phrase, now, within).date())
            if 1 <= number <= 12:  # "between 3 and 5": opening hours, so 3 is 15:00 and 9 is 09:00
                hour = number + 12 if number < 8 else number
                return f"{hour:02d}:{minutes or '00'}"
            return None
        if phrase.lower() in ("noon", "midday"):
            return "12:00"
        day, clock = self._points_in(phrase, now, within)
        if clock is not None and day is None:
            return clock
        return day

    def _after(self, phrase: str, start: date) -> date:
        """The end of a window read again from its start ("between the 30th and the 2nd")."""
        ordinal = _ORDINAL.search(phrase) or _BARE_NUMBER.match(phrase.strip())
        if ordinal:
            found = next_day_of_month(int(ordinal.group(1)), start)
            if found is not None:
                return found
        return start


def with_windows(entities: tuple[Entity, ...], now: datetime | None = None) -> tuple[Entity, ...]:
    """Dates named as a period ("we're moving next month") carry the window, not the one day the date
    parser picks in it: a window is asked about, never taken as the day."""
    return tuple(replace(e, value=window) if e.type == "date" and (window := _period_window(e.text, now)) else e
                 for e in entities)


def names_a_period(phrase: str) -> bool:
    """"next month", "this week": a window of days, whatever single day a date parser picked in it."""
    return _period_window(phrase, None) is not None


def _period_window(phrase: str, now: datetime | None) -> str | None:
    match = _PERIOD.fullmatch(phrase.strip())
    if match is None or (match["which"].lower() == "the" and match["unit"].lower() != "weekend"):
        return None
    start, end = _period(match["which"].lower(), match["unit"].lower(), (now or datetime.now()).date())
    return f"{start.isoformat()}/{end.isoformat()}"


def _share_meridiem(a: str, b: str) -> tuple[str, str]:
    """"between 3 and 5pm": the first end takes the second's pm."""
    if _MERIDIEM.search(b) and not _MERIDIEM.search(a) and re.fullmatch(r"\s*\d{1,2}(?::\d{2})?\s*", a):
        return f"{a.strip()}{_MERIDIEM.search(b).group(1)}", b  # type: ignore[union-attr]
    return a, b


def _period(which: str, unit: str, today: date) -> tuple[date, date]:
    if unit == "month":
        year, month = today.year, today.month
        if which != "this":
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        first = date(year, month, 1) if which != "this" else today
        return first, date(year, month, calendar.monthrange(year, month)[1])
    if unit == "weekend":
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if which == "next" and today.weekday() < 5:
            saturday += timedelta(days=7)
        return saturday, saturday + timedelta(days=1)
    monday = today - timedelta(days=today.weekday())
    if which == "this":
        return today, monday + timedelta(days=6)
    return monday + timedelta(days=7), monday + timedelta(days=13)


def _day_of_month(number: int, today: date, weekday: date | None) -> date | None:
    """"the 19th", or "thursday the 19th": the next 19th that is a Thursday when a weekday is named with it
    within the next few months; otherwise the next 19th: the date is what was checked, the weekday what was
    remembered)."""
    first = next_day_of_month(number, today)
    candidate = first
    for _ in range(3):
        if candidate is None or weekday is None or candidate.weekday() == weekday.weekday():
            return candidate
        candidate = next_day_of_month(number, candidate + timedelta(days=1))
    return first


def _window_days(within: str | None) -> tuple[date, date] | None:
    if not within or "/" not in within:
        return None
    start, end = within.split("/", 1)
    try:
        return date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
    except ValueError:
        return None


def _base(text: str, now: datetime, within: str | None) -> datetime:
    """Where "tuesday" or "the 4th" counts from: the window asked about, unless the words are relative to
    today ("tomorrow", "next friday")."""
    window = _window_days(within)
    if window is None or _RELATIVE.search(text) or window[0] <= now.date():
        return now
    return datetime.combine(window[0], now.time()) - timedelta(days=1)


def _in_window(day: date, within: str | None) -> date:
    """A weekday named for a window of several weeks is the first such day in it."""
    window = _window_days(within)
    if window is None:
        return day
    while day < window[0]:
        day += timedelta(days=7)
    return day
