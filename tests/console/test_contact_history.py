"""The ticket page shows the customer's contacts on every channel."""

from __future__ import annotations

from helpline.store.models import Ticket
from helpline.store.repositories import CustomerRepository, TicketRepository
from tests.console.conftest import Console

Clients = dict[str, tuple[object, str]]


def test_a_ticket_shows_the_customers_contacts_on_every_channel(console: Console, as_role: Clients) -> None:
    with console.runtime.db.session() as session:
        customer = CustomerRepository(session).upsert_from_record(actor="t", external_id="C-1002", name="Samuel Rogers",
                                                                  email="samuel.rogers@example.com", phone=None)
        other = CustomerRepository(session).upsert_from_record(actor="t", external_id="C-1003", name="Jordan Anderson",
                                                               email="jordan.anderson@example.com", phone=None)
        repo = TicketRepository(session)
        mine = [repo.create(actor="t", channel=channel, summary=summary, customer_id=customer.id).number
                for channel, summary in (("phone", "Cancel an order"), ("email", "Refund question"),
                                         ("sms", "Delivery update"))]
        theirs = repo.create(actor="t", channel="chat", summary="Grinder jams", customer_id=other.id).number
    client, _ = as_role["agent"]
    page = client.get(f"/console/tickets/{mine[0]}").text  # type: ignore[attr-defined]
    history = page.split("<h2>Contact history</h2>", 1)[1].split("</ul>", 1)[0]
    assert f"#{mine[1]}</a>" in history and "email" in history and "Refund question" in history
    assert f"#{mine[2]}</a>" in history and "sms" in history
    assert f"#{theirs}</a>" not in history and f"#{mine[0]}</a>" not in history
    with console.runtime.db.session() as session:
        assert session.query(Ticket).count() == 4
