"""Due callbacks through the application layer: claimed by one node only, attempts counted, then missed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpline.application.callbacks import CallbackDesk
from helpline.store.models import Ticket
from helpline.store.repositories import CallbackRepository
from tests.conftest import RuntimeFactory

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
NO_DELAY = timedelta(0)
CLAIM_TIMEOUT = timedelta(minutes=10)


def test_a_due_callback_is_claimed_by_one_node_and_missed_after_the_last_attempt(
        make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    with runtime.db.session() as session:
        callback_id = CallbackRepository(session).schedule(actor="test", due_at=NOW - timedelta(minutes=1),
                                                           reason="your order", phone="+13125550123", now=NOW).id
    first = CallbackDesk(runtime.db, node="node-a", actor="system:test")
    second = CallbackDesk(runtime.db, node="node-b", actor="system:test")

    claimed = first.claim_due(NOW, retry_after=NO_DELAY, claim_timeout=CLAIM_TIMEOUT)
    assert [(c.id, c.phone, c.reason) for c in claimed] == [(callback_id, "+13125550123", "your order")]
    assert second.claim_due(NOW, retry_after=NO_DELAY, claim_timeout=CLAIM_TIMEOUT) == []  # dialled once

    first.record_attempt(callback_id, None, "Callback attempt: busy.", completed=False, max_attempts=2, now=NOW)
    with runtime.db.session() as session:
        callback = CallbackRepository(session).get(callback_id, actor="test")
        assert callback is not None and callback.status == "scheduled"  # one attempt left

    again = second.claim_due(NOW, retry_after=NO_DELAY, claim_timeout=CLAIM_TIMEOUT)
    assert [c.id for c in again] == [callback_id]  # released: any node may try again
    second.record_attempt(callback_id, None, "Callback attempt: busy.", completed=False, max_attempts=2, now=NOW)
    with runtime.db.session() as session:
        callback = CallbackRepository(session).get(callback_id, actor="test")
        assert callback is not None and callback.status == "missed" and "2 attempts" in callback.outcome
    assert first.claim_due(NOW, retry_after=NO_DELAY, claim_timeout=CLAIM_TIMEOUT) == []


def test_a_reached_customer_completes_the_callback_and_notes_the_ticket(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    service = runtime.conversations
    started = service.start(actor="test")
    service.post(started.id, "I want to cancel my order", actor="test")
    with runtime.db.session() as session:
        ticket = session.query(Ticket).filter_by(conversation_id=started.id).one()
        ticket_id, number = ticket.id, ticket.number
        callback_id = CallbackRepository(session).schedule(actor="test", due_at=NOW, ticket_id=ticket_id,
                                                           phone="+13125550123", now=NOW).id
    desk = CallbackDesk(runtime.db, node="node-a", actor="system:test")
    assert desk.ticket_number(ticket_id) == number
    assert desk.ticket_number(None) is None
    assert [c.ticket_id for c in desk.claim_due(NOW, retry_after=NO_DELAY, claim_timeout=CLAIM_TIMEOUT)] == [ticket_id]
    desk.record_attempt(callback_id, ticket_id, "Callback made: reached the customer.", completed=True,
                        max_attempts=3, now=NOW)
    with runtime.db.session() as session:
        callback = CallbackRepository(session).get(callback_id, actor="test")
        assert callback is not None and callback.status == "done"
        stored = session.get(Ticket, ticket_id)
        assert stored is not None and "Callback made: reached the customer." in stored.notes
