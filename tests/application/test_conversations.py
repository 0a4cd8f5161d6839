"""The conversation service: silence handling, crash safety, closed conversations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from helpline.application.conversations import CRASH_REPLY, ConversationClosed
from helpline.store.models import Message, Ticket
from tests.conftest import RuntimeFactory

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_quiet_customer_is_reprompted_once_then_closed_with_the_ticket_kept(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    clock = Clock(NOW)
    runtime.conversations.clock = clock
    service = runtime.conversations
    started = service.start(actor="test")
    service.post(started.id, "I want to cancel my order", actor="test")
    clock.now = NOW + timedelta(minutes=3)
    assert service.sweep_idle() == 1
    clock.now = NOW + timedelta(minutes=4)
    assert service.sweep_idle() == 0  # reprompted once for this turn only
    clock.now = NOW + timedelta(minutes=20)
    assert service.sweep_idle() == 1
    with runtime.db.session() as session:
        texts = [m.text for m in session.scalars(select(Message).where(Message.conversation_id == started.id)
                                                 .order_by(Message.seq))]
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == started.id)).one()
        assert ticket.summary == "Cancel an order" and ticket.status == "open"
    assert sum("still" in t.lower() for t in texts) >= 1
    with pytest.raises(ConversationClosed):
        service.post(started.id, "hello?", actor="test")


def test_engine_crash_gets_an_apology_and_loses_nothing(make_runtime: RuntimeFactory,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = make_runtime(NOW)
    service = runtime.conversations
    started = service.start(actor="test")
    service.post(started.id, "I'd like to cancel order BB-10160", actor="test")

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(runtime.engine, "handle", explode)
    view = service.post(started.id, "my card is 4111 1111 1111 1111", actor="test")
    assert view.replies == [CRASH_REPLY]
    monkeypatch.undo()
    with runtime.db.session() as session:
        texts = [m.text for m in session.scalars(select(Message).where(Message.conversation_id == started.id))]
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == started.id)).one()
    assert not any("4111 1111 1111 1111" in t for t in texts)
    assert any("card ending 1111" in t for t in texts)
    assert "engine_error" in ticket.flags and ticket.summary == "Cancel an order"
    # the conversation goes on from where it was
    after = service.post(started.id, "aisha.patel@example.com", actor="test")
    assert after.state["verified"]
