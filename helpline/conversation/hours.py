"""Opening hours as a `Schedule`: when a team (or the whole business) is open, in the business's timezone,
and time counted in its open hours.

A pack's `opening_hours` / `holidays` make the business's schedule; an escalation tier may have its own,
and its own per channel (phone vs chat), each falling back to the level above (`team_schedule`). Callback
promises are counted in the open hours of the team that will call (`Schedule.due`): a 4h SLA asked at
17:00 of a team open 08:00-18:00 is due at 11:00 on its next open day, never at 21:00 or overnight.
A business that declares no hours is open around the clock, as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from helpline.pack.models import DAYS, BusinessConfig

MINUTES_PER_DAY = 24 * 60
# How far ahead an opening is looked for: a year covers any run of holidays a pack could declare.
SEARCH_DAYS = 400


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class Span:
    """One day's opening, in minutes after local midnight (a close of 1440 is "24:00")."""

    opens: int
    closes: int

    @classmethod
    def parse(cls, text: str) -> Span:
        start, end = text.split("-")
        return cls(_minutes(start), _minutes(end))


@dataclass(frozen=True)
class Schedule:
    zone: ZoneInfo
    week: Mapping[int, Span] = field(default_factory=dict)  # weekday (0 = Monday) -> span; missing = closed
    holidays: frozenset[date] = frozenset()
    always_open: bool = False  # no hours declared: open around the clock (holidays do not apply)

    @classmethod
    def build(cls, timezone: str, opening_hours: Mapping[str, str], holidays: Sequence[str] = ()) -> Schedule:
        week = {DAYS.index(day): Span.parse(span) for day, span in opening_hours.items()}
        return cls(zone=ZoneInfo(timezone), week=week, holidays=frozenset(date.fromisoformat(h) for h in holidays),
                   always_open=not opening_hours)

    # --- when it is open ----------------------------------------------------------------------

    def interval(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening and closing moments (local time), or None when closed all day."""
        if self.always_open:
            midnight = datetime.combine(day, time(0), tzinfo=self.zone)
            return midnight, midnight + timedelta(days=1)
        span = self.week.get(day.weekday())
        if span is None or day in self.holidays or span.closes <= span.opens:
            return None
        midnight = datetime.combine(day, time(0), tzinfo=self.zone)
        return midnight + timedelta(minutes=span.opens), midnight + timedelta(minutes=span.closes)

    def is_open(self, moment: datetime) -> bool:
        if self.always_open:
            return True
        local = moment.astimezone(self.zone)
        hours = self.interval(local.date())
        return hours is not None and hours[0] <= local < hours[1]

    def _intervals_from(self, moment: datetime) -> list[tuple[datetime, datetime]]:
        """Open intervals ending after `moment`, in order, for the search horizon (local times)."""
        local = moment.astimezone(self.zone)
        found = []
        for offset in range(SEARCH_DAYS):
            hours = self.interval(local.date() + timedelta(days=offset))
            if hours is not None and hours[1] > local:
                found.append(hours)
        return found

    def next_opening(self, moment: datetime) -> datetime:
        """The next moment it is open (``moment`` itself when open now; ``moment`` when it never opens)."""
        if self.is_open(moment):
            return moment
        local = moment.astimezone(self.zone)
        for opens, _ in self._intervals_from(moment):
            return max(opens, local)
        return moment

    def first_open_between(self, start: datetime, end: datetime) -> datetime | None:
        """The first open moment in [start, end), or None when it is closed all that time."""
        opening = self.next_opening(start)
        if opening == start and not self.is_open(start):
            return None
        return opening if opening < end else None

    # --- counting in open hours ---------------------------------------------------------------

    def add_open_time(self, start: datetime, amount: timedelta) -> datetime:
        """The moment `amount` of open time after `start` (time while closed does not count)."""
        if self.always_open:
            return start + amount
        remaining = amount
        cursor = start.astimezone(self.zone)
        for opens, closes in self._intervals_from(start):
            begin = max(opens, cursor)
            available = closes.astimezone(UTC) - begin.astimezone(UTC)  # real time, across a DST change too
            if remaining <= available:
                return (begin.astimezone(UTC) + remaining).astimezone(self.zone)
            remaining -= available
        return start + amount  # never open within a year: nothing better to promise

    def add_open_days(self, start: datetime, days: int) -> datetime:
        """`days` open days after the first open moment from `start`, at the same time of day (or the day's
        closing if it closes earlier)."""
        first = self.next_opening(start).astimezone(self.zone)
        counted = 0
        for offset in range(1, SEARCH_DAYS):
            day = first.date() + timedelta(days=offset)
            hours = self.interval(day)
            if hours is None:
                continue
            counted += 1
            if counted == days:
                wanted = datetime.combine(day, first.timetz().replace(tzinfo=None), tzinfo=self.zone)
                return min(max(wanted, hours[0]), hours[1])
        return start + timedelta(days=days)

    def due(self, now: datetime, sla: timedelta) -> datetime:
        """When a promise made at `now` with this SLA falls due, counted in open time: whole days as open
        days ("2d": two open days later), anything else as open hours ("4h" at 17:00, open 08-18: 11:00 on
        the next open day)."""
        if sla >= timedelta(days=1) and sla % timedelta(days=1) == timedelta(0) and not self.always_open:
            return self.add_open_days(now, sla // timedelta(days=1))
        return self.add_open_time(now, sla)

    def describe(self, moment: datetime, now: datetime) -> str:
        """A moment said in the business's time: "today at 15:00", "tomorrow at 08:00", "Tuesday at 11:00",
        "Tuesday 14 April at 11:00"."""
        local, today = moment.astimezone(self.zone), now.astimezone(self.zone).date()
        days = (local.date() - today).days
        if days == 0:
            day = "today"
        elif days == 1:
            day = "tomorrow"
        elif 1 < days < 7:
            day = f"{local:%A}"
        else:
            day = f"{local:%A} {local.day} {local:%B}"
        return f"{day} at {local:%H:%M}"


# --- the business's and the teams' schedules -------------------------------------------------------


def business_schedule(business: BusinessConfig) -> Schedule:
    return Schedule.build(business.timezone, business.opening_hours, business.holidays)


def team_schedule(business: BusinessConfig, tier_name: str | None = None, channel: str | None = None) -> Schedule:
    """The hours of an escalation tier on a channel: the channel's own, else the tier's, else the business's
    (hours and holidays fall back separately)."""
    tier = business.escalation.tier(tier_name)
    hours: Mapping[str, str] = business.opening_hours
    holidays: Sequence[str] = business.holidays
    if tier.opening_hours is not None:
        hours = tier.opening_hours
    if tier.holidays is not None:
        holidays = tier.holidays
    per_channel = tier.channels.get(channel) if channel else None
    if per_channel is not None:
        if per_channel.opening_hours is not None:
            hours = per_channel.opening_hours
        if per_channel.holidays is not None:
            holidays = per_channel.holidays
    return Schedule.build(business.timezone, hours, holidays)


def team_sla(business: BusinessConfig, tier_name: str | None = None) -> str:
    """The callback SLA a tier promises (its own, else the business's)."""
    return business.escalation.tier(tier_name).callback_sla or business.callback_sla


# --- the functions packs without per-team hours have always used ------------------------------------


def is_open(business: BusinessConfig, moment: datetime) -> bool:
    return business_schedule(business).is_open(moment)


def next_opening(business: BusinessConfig, moment: datetime) -> datetime:
    """The next moment the business opens (or `moment` itself when open)."""
    return business_schedule(business).next_opening(moment)
