"""Every node runs the idle sweeper: a quiet customer is still reminded once, and closed once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from helpline.store.models import Message
from tests.conftest import RuntimeFactory

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def test_two_sweepers_acting_on_the_same_quiet_customer_remind_and_close_once(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    service = runtime.conversations
    started = service.start(actor="test")
    service.post(started.id, "What are your opening hours?", actor="test")
    # both nodes' sweepers read the conversation as quiet, then each acts on it in turn
    first, second = service.silence(started.id, final=False), service.silence(started.id, final=False)
    closed, closed_again = service.silence(started.id, final=True), service.silence(started.id, final=True)
    assert first.replies and not second.replies
    assert closed.ended and closed.replies and not closed_again.replies
    with runtime.db.session() as session:
        agent_lines = list(session.scalars(select(Message.text).where(Message.conversation_id == started.id,
                                                                      Message.role == "agent")))
    assert agent_lines.count(first.replies[0]) == 1 and agent_lines.count(closed.replies[0]) == 1
