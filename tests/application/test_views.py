"""The typed view of a turn carries what the channels need from it — the hand-off it made and what happened —
so a channel need not read the store after the turn (a phone transfer tells the person the hand-off)."""

from __future__ import annotations

from datetime import UTC, datetime

from helpline.application.handoffs import latest_handoff
from helpline.conversation.events import Escalated, OperationCalled
from tests.conftest import RuntimeFactory

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # a Friday afternoon: the team is in


def test_the_turn_that_hands_off_carries_the_handoff_as_recorded(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    service = runtime.conversations
    started = service.start(actor="test")
    asked = service.post(started.id, "where is my order BB-10133?", actor="test")
    assert asked.handoff is None and not any(isinstance(e, Escalated) for e in asked.events)

    handed = service.post(started.id, "I want to talk to a human", actor="test")
    assert handed.handoff is not None
    assert handed.handoff == latest_handoff(runtime.db, started.id)  # what the person taking over is told
    assert handed.handoff.tier in {tier.name for tier in runtime.pack.business.escalation.tiers}
    escalations = [e for e in handed.events if isinstance(e, Escalated)]
    assert [e.tier for e in escalations] == [handed.handoff.tier]
    assert handed.escalated

    later = service.post(started.id, "ok thanks", actor="test")
    assert later.handoff is None  # made once, by the turn that handed off
    assert later.escalated


def test_the_events_say_what_the_turn_did(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    service = runtime.conversations
    started = service.start(actor="test")
    service.post(started.id, "where is my order BB-10133?", actor="test")
    verified = service.post(started.id, "ana.cook@example.com", actor="test")
    assert any(isinstance(e, OperationCalled) and e.ok for e in verified.events), verified.events
