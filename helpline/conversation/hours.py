"""Opening hours in the business's own timezone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from helpline.pack.models import DAYS, BusinessConfig


def _span(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    end_time = time(23, 59, 59) if end == "24:00" else time.fromisoformat(end)
    return time.fromisoformat(start), end_time


def is_open(business: BusinessConfig, moment: datetime) -> bool:
    if not business.opening_hours:
        return True
    local = moment.astimezone(ZoneInfo(business.timezone))
    if local.date().isoformat() in business.holidays:
        return False
    span = business.opening_hours.get(DAYS[local.weekday()])
    if span is None:
        return False
    start, end = _span(span)
    return start <= local.time() < end


def next_opening(business: BusinessConfig, moment: datetime) -> datetime:
    """The next moment the business opens (or `moment` itself when open)."""
    if is_open(business, moment):
        return moment
    zone = ZoneInfo(business.timezone)
    local = moment.astimezone(zone)
    for days_ahead in range(0, 15):
        day = (local + timedelta(days=days_ahead)).date()
        span = business.opening_hours.get(DAYS[day.weekday()])
        if span is None or day.isoformat() in business.holidays:
            continue
        start, _ = _span(span)
        candidate = datetime.combine(day, start, tzinfo=zone)
        if candidate > local:
            return candidate
    return moment
