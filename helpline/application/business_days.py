"""What "a day" is wherever staff pick or count days: the business's day, in the time zone its pack names.

The dashboard counts contacts by the business's days; the ticket list's date filters and the CSV downloads bound
their rows by the same days, so a ticket opened at 23:30 local time is on the same day in every view (it used to
be on the next UTC day in the list and the downloads). Times are stored in UTC; a naive time read back from
SQLite is UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessDays:
    zone: ZoneInfo

    @classmethod
    def named(cls, timezone: str) -> BusinessDays:
        """The days of the IANA zone a pack names (e.g. ``America/Chicago``)."""
        return cls(ZoneInfo(timezone))

    def day_of(self, moment: datetime) -> date:
        """The business's day ``moment`` falls on."""
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.astimezone(self.zone).date()

    def today(self, now: datetime | None = None) -> date:
        return self.day_of(now or datetime.now(UTC))

    def start(self, day: date) -> datetime:
        """The UTC instant the business's ``day`` begins. Midnight is read with fold=0, so where a clock change
        skips midnight this is the change itself, and where midnight repeats it is the first one: either way the
        day's first instant."""
        return datetime.combine(day, time.min, self.zone).astimezone(UTC)

    def span(self, first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
        """The days ``first`` to ``last`` (both included; either may be open) as a half-open range of UTC times:
        from the start of ``first`` to the start of the day after ``last``."""
        return (None if first is None else self.start(first),
                None if last is None else self.start(last + timedelta(days=1)))
