"""When a customer asks to be called back: "tomorrow morning", "after 3pm", "Friday at 10", honoured when
the team that will call is open then.

The phrase is found in the customer's words with a few English patterns (a day, a part of the day, a clock
time with "after" / "before" / "between"); the day itself is read by dateparser relative to the
conversation's clock in the business's timezone. Nothing here decides what is promised: `callback_at`
gives the moment and whether it is the one asked for, and the engine says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from helpline.conversation.hours import Schedule

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
_WEEKDAY = r"(?:mon|tue|tues|wed|wednes|thu|thur|thurs|fri|sat|satur|sun)(?:day)?"
_DAY = re.compile(
    rf"\b(?:day after tomorrow|today|tonight|tomorrow|(?:next |this |on )?{_WEEKDAY}\b"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?(?: of)? {_MONTH}\b|{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?\b"
    r"|\d{4}-\d{2}-\d{2})", re.IGNORECASE)
_CLOCK = r"(?:\b\d{1,2}(?::\d{2})?\s*(?:am\b|pm\b|a\.m\.|p\.m\.)|\b\d{1,2}:\d{2}\b|\bnoon\b|\bmidday\b)"
# a bare hour ("after 3") only counts after a word that makes it a time
_HOUR = rf"(?:{_CLOCK}|\d{{1,2}}\b)"
_BETWEEN = re.compile(rf"\bbetween\s+(?P<a>{_HOUR})\s*(?:and|&|-)\s*(?P<b>{_HOUR})", re.IGNORECASE)
_AFTER = re.compile(rf"\b(?:after|from|any ?time after|later than)\s+(?P<t>{_HOUR})", re.IGNORECASE)
_BEFORE = re.compile(rf"\b(?:before|by|no later than)\s+(?P<t>{_HOUR})", re.IGNORECASE)
_AT = re.compile(rf"(?:\b(?:at|around|about)\s+(?P<q>{_HOUR}))|(?P<t>{_CLOCK})", re.IGNORECASE)
_PART = re.compile(r"\b(?P<part>morning|afternoon|evening|lunch ?time|tonight)\b", re.IGNORECASE)

# Parts of the day as windows of local time.
_PARTS: dict[str, tuple[time, time]] = {
    "morning": (time(8), time(12)),
    "lunchtime": (time(12), time(14)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), time(21)),
    "tonight": (time(17), time(21)),
}


@dataclass(frozen=True)
class RequestedTime:
    """A time the customer asked to be called: a moment (`start == end`) or a window [start, end)."""

    start: datetime
    end: datetime
    phrase: str

    @property
    def exact(self) -> bool:
        return self.start == self.end


def _clock(text: str) -> time | None:
    """"3pm", "3:30 p.m.", "15:00", "noon", a bare "3" (an afternoon hour when 1-7: nobody asks for 3 am)."""
    cleaned = text.lower().replace(".", "").replace(" ", "")
    if cleaned in ("noon", "midday"):
        return time(12)
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(am|pm)?", cleaned)
    if match is None:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half == "pm" and hour < 12:
        hour += 12
    elif half == "am" and hour == 12:
        hour = 0
    elif half is None and match.group(2) is None and 1 <= hour <= 7:
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _day(phrase: str, local_now: datetime) -> date | None:
    """The day a phrase names, relative to now (dateparser; "tonight" is today)."""
    lowered = phrase.lower().strip()
    if lowered == "tonight":
        return local_now.date()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", lowered):
        return date.fromisoformat(lowered)
    import dateparser  # imported here: loading its data costs time nobody needs until a callback is asked

    settings: Any = {"RELATIVE_BASE": local_now.replace(tzinfo=None), "PREFER_DATES_FROM": "future"}
    parsed = dateparser.parse(lowered, languages=["en"], settings=settings)
    return parsed.date() if parsed is not None else None


_ISO_MOMENT = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:[+-]\d{2}:\d{2}|Z)?")


def _iso(text: str, zone: ZoneInfo) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def read_requested_time(text: str, now: datetime, zone: ZoneInfo) -> RequestedTime | None:
    """The callback time a message (or a slot's ISO value, "start/end" for a window) asks for, or None when it
    names none. A window never starts before now."""
    local_now = now.astimezone(zone)
    moments = _ISO_MOMENT.findall(text)
    if moments:
        start = _iso(moments[0], zone)
        end = _iso(moments[1], zone) if len(moments) > 1 and "/" in text else start
        if end > local_now:
            return RequestedTime(max(start, local_now) if end > start else start, end, text.strip()[:80])
        return None
    day_match = _DAY.search(text)
    day = _day(day_match.group(0), local_now) if day_match else None
    if day_match is not None and day is None:
        day_match = None
    window: tuple[time, time | None] | None = None  # (from, to); to None = an exact moment
    phrase = day_match.group(0) if day_match else ""
    part = _PART.search(text)
    if (between := _BETWEEN.search(text)) and (a := _clock(between.group("a"))) and (b := _clock(between.group("b"))):
        window, phrase = (a, b), f"{phrase} {between.group(0)}"
    elif (after := _AFTER.search(text)) and (t := _clock(after.group("t"))):
        window, phrase = (t, time.max), f"{phrase} {after.group(0)}"
    elif (before := _BEFORE.search(text)) and (t := _clock(before.group("t"))):
        window, phrase = (time(0), t), f"{phrase} {before.group(0)}"
    elif (at := _AT.search(text)) and (t := _clock(at.group("q") or at.group("t"))):
        window, phrase = (t, None), f"{phrase} {at.group(0)}"
    elif part is not None:
        key = part.group("part").lower().replace(" ", "")
        window, phrase = _PARTS[key], f"{phrase} {part.group(0)}"
    elif day_match is not None and day_match.group(0).lower() == "tonight":
        window = _PARTS["tonight"]
    if day is None and window is None:
        return None
    if day is None:
        # "after 3pm" said at 16:00 means now-ish today; "at 10am" said at 16:00 means tomorrow
        assert window is not None
        ends = window[1] or window[0]
        day = local_now.date() if datetime.combine(local_now.date(), ends, tzinfo=zone) > local_now \
            else local_now.date() + timedelta(days=1)
    begin, finish = window if window is not None else (time(0), time.max)
    start = datetime.combine(day, begin, tzinfo=zone)
    if finish is None:
        return RequestedTime(start, start, phrase.strip()) if start > local_now else None
    end = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone) if finish == time.max
           else datetime.combine(day, finish, tzinfo=zone))
    start = max(start, local_now)
    return RequestedTime(start, end, phrase.strip()) if start < end else None


def callback_at(schedule: Schedule, now: datetime, requested: RequestedTime) -> tuple[datetime, bool]:
    """The callback moment for a requested time, and whether it is what was asked: the moment itself (or the
    first open moment of the window) when the team is open then, else the team's next opening after it."""
    start = max(requested.start, now)
    if requested.exact:
        if schedule.is_open(start):
            return start, True
        return schedule.next_opening(start), False
    found = schedule.first_open_between(start, requested.end)
    if found is not None:
        return found, True
    return schedule.next_opening(start), False
