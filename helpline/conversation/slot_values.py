"""Dates, times and windows as a slot keeps them, and whether an answer fits the slot asked.

Understanding reads the customer's words into ISO values (`2026-12-03`, `15:00`, `2026-12-03T15:00`) or
windows (`2026-12-03/2026-12-05`, `15:00/18:00`: ISO 8601 intervals); this module decides, without any
English, whether such a value answers the slot: one day when one day is asked, never a value the customer
ruled out. The engine re-asks otherwise (awaited_answers.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from helpline.pack.models import SlotSpec

TEMPORAL_TYPES = ("date", "time", "datetime")


class Fit(StrEnum):
    TAKE = "take"  # the value answers the slot
    NEEDS_ONE = "needs_one"  # a window where one day or time is asked
    RULED_OUT = "ruled_out"  # a value the customer said doesn't work
    NOT_THIS_TYPE = "not_this_type"  # not a date / time at all


@dataclass(frozen=True)
class Temporal:
    """A date, time or datetime, or a window between two of them."""

    start: str
    end: str | None = None

    @property
    def is_window(self) -> bool:
        return self.end is not None and self.end != self.start

    def __str__(self) -> str:
        return f"{self.start}/{self.end}" if self.is_window else self.start

    @classmethod
    def parse(cls, value: object) -> Temporal | None:
        """An ISO value or interval; None for anything else."""
        if not isinstance(value, str) or not value.strip():
            return None
        start, _, end = value.strip().partition("/")
        if not _iso(start) or (end and not _iso(end)):
            return None
        return cls(start, end or None)

    def facts(self) -> dict[str, str]:
        """The window's parts for a reply template: its day (when it has one) and its times."""
        end = self.end or self.start
        day = self.start.split("T")[0] if "-" in self.start else ""
        return {"start": self.start, "end": end, "day": day if day == end.split("T")[0] else "",
                "start_time": _time_of(self.start), "end_time": _time_of(end)}

    def covers(self, value: str) -> bool:
        """Whether a single value lies in this window (or is this value)."""
        if not self.is_window:
            return value == self.start
        assert self.end is not None
        return self.start <= value <= self.end if _comparable(self.start, value) else False


def _iso(text: str) -> bool:
    for parse in (date.fromisoformat, time.fromisoformat, datetime.fromisoformat):
        try:
            parse(text)
        except ValueError:
            continue
        return True
    return False


def _time_of(value: str) -> str:
    """"2026-12-03T15:00:00" -> "15:00"; "15:00" -> "15:00"; a date -> ""."""
    clock = value.split("T")[1] if "T" in value else value if ":" in value else ""
    return clock[:5]


def _comparable(a: str, b: str) -> bool:
    """ISO strings of the same shape compare in time order as strings."""
    return (":" in a) == (":" in b) and ("-" in a) == ("-" in b)


def fit(slot: SlotSpec, value: object, ruled_out: list[str]) -> Fit:
    """Whether `value` answers a date, time or datetime slot."""
    found = Temporal.parse(value)
    if found is None:
        return Fit.NOT_THIS_TYPE
    if not found.is_window:
        return Fit.RULED_OUT if any(_same_moment(found.start, excluded) for excluded in ruled_out) else Fit.TAKE
    return Fit.TAKE if slot.window else Fit.NEEDS_ONE


def _same_moment(value: str, excluded: str) -> bool:
    """A datetime on a ruled-out day is ruled out too ("not thursday" then "thursday at 3")."""
    if value == excluded:
        return True
    return "T" in value and "T" not in excluded and value.split("T")[0] == excluded
