"""A reading made ahead of the turn (the phone's look-ahead, while the caller's closing pause runs out) is handed
to the turn: the words are understood once. Anything that happens on the conversation in between (another
message, a timer, a person taking over) makes the reading stale, and the turn reads the words again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from helpline.application.conversations import PreparedReading
from helpline.conversation.commands import Interpretation
from helpline.runtime import Runtime
from helpline.store.models import Message
from tests.conftest import RuntimeFactory

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
QUESTION = "Do you have decaf coffee?"


class EngineWatch:
    """What the engine was asked to understand, and which reading each turn it handled went on."""

    def __init__(self, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
        self.understood: list[str] = []
        self.handled_with: list[Interpretation | None] = []
        engine = runtime.engine
        interpret, handle = engine.interpret, engine.handle

        def counted_interpret(state: Any, text: str, now: Any = None) -> Interpretation:
            self.understood.append(text)
            return interpret(state, text, now)

        def watched_handle(state: Any, text: str, context: Any, interpretation: Interpretation | None = None) -> Any:
            self.handled_with.append(interpretation)
            return handle(state, text, context, interpretation=interpretation)

        monkeypatch.setattr(engine, "interpret", counted_interpret)
        monkeypatch.setattr(engine, "handle", watched_handle)


def _ahead(runtime: Runtime, conversation_id: str) -> PreparedReading:
    reading = runtime.conversations.understand_ahead(conversation_id, QUESTION)
    assert reading is not None
    return reading


def test_the_turn_uses_the_reading_made_ahead_of_the_same_words(make_runtime: RuntimeFactory,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = make_runtime(NOW)
    watch = EngineWatch(runtime, monkeypatch)
    service = runtime.conversations
    conversation = service.start("phone", "phone:test")
    reading = _ahead(runtime, conversation.id)
    assert watch.understood == [QUESTION]

    view = service.post(conversation.id, QUESTION, "phone:caller", ahead=reading)
    assert watch.understood == [QUESTION]  # understood once, ahead
    assert watch.handled_with == [reading.interpretation]
    assert "decaf" in " ".join(view.replies).lower()

    # a reading of other words is no reading of these
    other = _ahead(runtime, conversation.id)
    service.post(conversation.id, "Do you ship to Canada?", "phone:caller", ahead=other)
    assert watch.understood[-1] == "Do you ship to Canada?"
    assert watch.handled_with[-1] is not other.interpretation


@pytest.mark.parametrize("meanwhile", ["another message", "a timer"])
def test_a_reading_made_before_the_conversation_moved_on_is_dropped(make_runtime: RuntimeFactory,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    meanwhile: str) -> None:
    runtime = make_runtime(NOW)
    watch = EngineWatch(runtime, monkeypatch)
    service = runtime.conversations
    conversation = service.start("phone", "phone:test")
    reading = _ahead(runtime, conversation.id)
    if meanwhile == "another message":
        service.post(conversation.id, "What are your opening hours?", "phone:caller")
    else:
        assert service.silence(conversation.id, final=False).replies  # "are you still there?"
    understood_before = len(watch.understood)

    view = service.post(conversation.id, QUESTION, "phone:caller", ahead=reading)
    assert watch.understood[understood_before:] == [QUESTION]  # read again on the state as it is now
    assert watch.handled_with[-1] is not reading.interpretation
    assert "decaf" in " ".join(view.replies).lower()


def test_a_reading_made_before_a_person_took_over_does_not_reach_the_engine(make_runtime: RuntimeFactory,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = make_runtime(NOW)
    watch = EngineWatch(runtime, monkeypatch)
    service = runtime.conversations
    conversation = service.start("phone", "phone:test")
    reading = _ahead(runtime, conversation.id)
    service.take_over(conversation.id, "agent-1", "Dana", actor="staff:agent-1")

    view = service.post(conversation.id, QUESTION, "phone:caller", ahead=reading)
    assert view.replies == [] and watch.handled_with == []  # the person answers, not the AI
    with runtime.db.session() as session:
        stored = session.scalars(select(Message).where(Message.conversation_id == conversation.id,
                                                       Message.role == "customer")).all()
        assert [(m.text, (m.meta or {}).get("to_human")) for m in stored] == [(QUESTION, "agent-1")]
