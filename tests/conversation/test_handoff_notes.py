"""After a hand-off, what the customer adds reaches the person taking over, on the hand-off card."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from helpline.store.models import Handoff
from tests.conftest import RuntimeFactory

OPEN = datetime(2026, 11, 20, 16, tzinfo=UTC)  # a Friday afternoon in Chicago: the team is in


def test_what_the_customer_adds_after_the_hand_off_is_on_the_card(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(OPEN)
    service = runtime.conversations
    started = service.start(channel="chat", actor="test")
    service.post(started.id, "please put me through to a real person", actor="test")
    later = service.post(started.id, "my espresso machine is leaking water all over the counter", actor="test")
    assert not any("missed that" in r.lower() for r in later.replies)
    with runtime.db.session() as session:
        cards = session.scalars(select(Handoff).where(Handoff.conversation_id == started.id)).all()
    assert len(cards) == 1
    assert any("leaking water" in step for step in cards[0].steps_tried)
