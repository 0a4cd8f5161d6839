"""The hand-off a channel reads back through the application layer (a phone transfer tells the person)."""

from __future__ import annotations

from datetime import UTC, datetime

from helpline.application.handoffs import latest_handoff
from tests.conftest import RuntimeFactory

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # a Friday afternoon: the team is in


def test_no_handoff_until_the_customer_is_handed_off_then_the_latest_one(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    service = runtime.conversations
    started = service.start(actor="test")
    service.post(started.id, "I want to cancel my order", actor="test")
    assert latest_handoff(runtime.db, started.id) is None

    service.post(started.id, "I want to talk to a human", actor="test")
    handoff = latest_handoff(runtime.db, started.id)
    assert handoff is not None
    assert handoff.tier in {tier.name for tier in runtime.pack.business.escalation.tiers}
    assert handoff.issue  # the person hears what the call is about
    assert isinstance(handoff.steps_tried, tuple)


def test_another_conversations_handoff_is_not_read(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    service = runtime.conversations
    first = service.start(actor="test")
    service.post(first.id, "I want to talk to a human", actor="test")
    second = service.start(actor="test")
    assert latest_handoff(runtime.db, first.id) is not None
    assert latest_handoff(runtime.db, second.id) is None
