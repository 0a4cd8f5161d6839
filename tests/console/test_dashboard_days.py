"""The dashboard's contacts of a date range are those of the business's days (America/Chicago in the demo pack),
not UTC's: around local midnight a contact belongs to the day the business's clock shows."""

from __future__ import annotations

from datetime import UTC, date, datetime

from helpline.console.dashboard import load_contacts
from helpline.store.repositories import TicketRepository
from tests.console.conftest import Console

BEFORE_MIDNIGHT = datetime(2026, 11, 20, 5, 45, tzinfo=UTC)  # 23:45 on Thursday 19 November in Chicago
AFTER_MIDNIGHT = datetime(2026, 11, 20, 6, 15, tzinfo=UTC)  # 00:15 on Friday 20 November in Chicago
THURSDAY, FRIDAY = date(2026, 11, 19), date(2026, 11, 20)


def _ticket(console: Console, summary: str, opened: datetime) -> int:
    with console.runtime.db.session() as session:
        return TicketRepository(session).create(actor="test", channel="chat", summary=summary, status="resolved",
                                                now=opened).number


def _numbers(console: Console, first: date, last: date) -> list[int | None]:
    return sorted((contact.ticket_number for contact in load_contacts(console.runtime, first, last, "test")),
                  key=lambda number: number or 0)


def test_contacts_either_side_of_local_midnight_fall_on_the_business_s_days(console: Console) -> None:
    assert console.runtime.pack.business.timezone == "America/Chicago"
    late = _ticket(console, "late evening parcel", BEFORE_MIDNIGHT)
    early = _ticket(console, "just after midnight", AFTER_MIDNIGHT)
    # both are on 20 November in UTC; in Chicago the first is still Thursday
    assert _numbers(console, THURSDAY, THURSDAY) == [late]
    assert _numbers(console, FRIDAY, FRIDAY) == [early]
    assert _numbers(console, THURSDAY, FRIDAY) == [late, early]
