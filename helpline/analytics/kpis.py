"""Contact-center KPIs as plain functions over contacts (one per ticket), so they are easy to test.

Definitions (documented on the dashboard too):
- containment rate: contacts the AI finished without a person (not escalated) / all contacts;
- escalation rate: contacts handed to a person / all contacts;
- first-contact resolution (FCR): resolved contacts whose customer did not contact again within
  ``repeat_window`` / resolved contacts (a contact without a known customer cannot repeat);
- average handle time (AHT): mean handle time of contacts with a recorded time;
- CSAT: mean of the 1-5 ratings and the share of 4s and 5s.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Contact:
    created_at: datetime
    channel: str
    category: str
    status: str
    escalated: bool
    handle_time_seconds: int = 0
    csat: int | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class Csat:
    mean: float | None
    satisfied_share: float | None
    responses: int


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def contacts_per_day(contacts: Sequence[Contact], start: date, end: date) -> dict[date, dict[str, int]]:
    """Every day from ``start`` to ``end`` inclusive (empty days too), counts by channel."""
    days: dict[date, dict[str, int]] = {}
    day = start
    while day <= end:
        days[day] = {}
        day += timedelta(days=1)
    for contact in contacts:
        bucket = days.get(contact.created_at.date())
        if bucket is not None:
            bucket[contact.channel] = bucket.get(contact.channel, 0) + 1
    return days


def escalation_rate(contacts: Sequence[Contact]) -> float | None:
    return _share(sum(1 for c in contacts if c.escalated), len(contacts))


def containment_rate(contacts: Sequence[Contact]) -> float | None:
    return _share(sum(1 for c in contacts if not c.escalated), len(contacts))


def first_contact_resolution(contacts: Sequence[Contact], repeat_window: timedelta = timedelta(days=7)) -> float | None:
    by_customer: dict[str, list[datetime]] = defaultdict(list)
    for c in contacts:
        if c.customer_id:
            by_customer[c.customer_id].append(c.created_at)
    resolved = [c for c in contacts if c.status == "resolved"]
    first_time = 0
    for c in resolved:
        later = by_customer.get(c.customer_id or "", [])
        if not any(c.created_at < t <= c.created_at + repeat_window for t in later):
            first_time += 1
    return _share(first_time, len(resolved))


def average_handle_time(contacts: Sequence[Contact]) -> float | None:
    times = [c.handle_time_seconds for c in contacts if c.handle_time_seconds > 0]
    return sum(times) / len(times) if times else None


def csat(contacts: Sequence[Contact]) -> Csat:
    ratings = [c.csat for c in contacts if c.csat is not None]
    if not ratings:
        return Csat(None, None, 0)
    return Csat(sum(ratings) / len(ratings), sum(1 for r in ratings if r >= 4) / len(ratings), len(ratings))


def top_reasons(contacts: Sequence[Contact], n: int = 8) -> list[tuple[str, int]]:
    """Most frequent contact categories, most first (ties by name, for a stable chart)."""
    counts = Counter(c.category for c in contacts)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
