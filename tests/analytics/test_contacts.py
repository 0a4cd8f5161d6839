"""Reading contacts from the store: when the answer came, a person taking a hand-off, repeats past the period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from helpline.analytics import kpis
from helpline.analytics.contacts import load_contacts
from helpline.store.db import Database
from helpline.store.models import Base, Customer
from helpline.store.repositories import ConversationRepository, HandoffRepository, TicketRepository

T0 = datetime(2026, 11, 10, 15, tzinfo=UTC)


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'h.db'}")
    Base.metadata.create_all(database.engine)  # the schema without replaying every migration: cheaper
    yield database
    database.dispose()


def contact(db: Database, channel: str, start: datetime, lines: list[tuple[str, float, str]], *,
            customer_id: str | None = None, status: str = "resolved", handoff: float | None = None,
            accepted: float | None = None, end: bool = True) -> None:
    """A conversation with its lines (role, seconds after the start, text) and its ticket."""
    with db.session() as session:
        conversations = ConversationRepository(session)
        conversation = conversations.create(channel=channel, actor="t", customer_id=customer_id, now=start)
        for role, after, text in lines:
            conversations.append_message(conversation.id, role=role, text=text, actor="t",
                                         now=start + timedelta(seconds=after))
        ticket = TicketRepository(session).create(actor="t", channel=channel, conversation_id=conversation.id,
                                                  customer_id=customer_id, status=status, category="orders",
                                                  now=start)
        if handoff is not None:
            made = HandoffRepository(session).create(actor="t", tier="tier2", conversation_id=conversation.id,
                                                     ticket_id=ticket.id, now=start + timedelta(seconds=handoff))
            if accepted is not None:
                HandoffRepository(session).accept(made.id, actor="t", now=start + timedelta(seconds=accepted))
        if end:
            conversations.end(conversation.id, actor="t", now=start + timedelta(minutes=5))


def test_answer_waits_hand_offs_and_repeats_read_from_the_store(db: Database) -> None:
    with db.session() as session:
        customer = Customer(name="Ana Cook")
        session.add(customer)
        session.flush()
        ana = customer.id
    # a call: the agent's first audio 3 s after the call started
    contact(db, "phone", T0, [("agent", 3, "Hi, Bea here"), ("customer", 8, "where is my order"),
                              ("agent", 9, "on its way")], customer_id=ana)
    # a chat the customer left before any reply to what they wrote (the greeting is not an answer)
    contact(db, "chat", T0 + timedelta(hours=1), [("agent", 0, "Hi!"), ("customer", 20, "hello??")],
            status="open")
    # a call handed to a person who took it 40 s later
    contact(db, "phone", T0 + timedelta(hours=2), [("agent", 1, "Hi"), ("customer", 5, "a person please"),
                                                   ("agent", 6, "passing you")], status="escalated",
            handoff=6, accepted=46)
    # Ana calls again about her order three days later, after the period asked for
    contact(db, "phone", T0 + timedelta(days=3), [("agent", 1, "Hi"), ("customer", 4, "still not here")],
            customer_id=ana)
    with db.session() as session:
        found = load_contacts(session, date(2026, 11, 10), date(2026, 11, 10))
    assert len(found) == 3
    call, chat, handed = found
    assert call.answer_wait_seconds == 3 and call.repeat_elsewhere  # the later call, outside the period, counts
    assert chat.answer_wait_seconds is None and chat.customer_spoke and kpis.abandoned(chat)
    assert handed.escalated and handed.person_wait_seconds == 40
    assert kpis.first_contact_resolution(found) == 0.0  # the one resolved contact came back
    assert kpis.service_level(found, 20) == 0.5  # the first call in time; the person took 40 s on the other
