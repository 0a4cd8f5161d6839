"""The tau-retail bench's count of the agent's model use, read from what Helpline's recorder stores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.tau_retail.model_usage import ModelTurns, conversation_model_turns
from helpline.application.recorder import TurnRecorder
from helpline.conversation.events import TurnResult
from helpline.conversation.state import ConversationState
from helpline.llm.port import Completion, LanguageModelError, LanguageModelErrorKind, TokenUsage, TurnModelUsage
from helpline.store.db import Database
from helpline.store.models import Base, Conversation
from helpline.store.repositories import ConversationRepository


def _usage(*, answered: int = 0, failed: int = 0) -> TurnModelUsage:
    usage = TurnModelUsage()
    for _ in range(answered):
        usage.add(Completion("2", None, TokenUsage(220, 1), 3000.0, "m"))
    for _ in range(failed):
        usage.failed(LanguageModelError(LanguageModelErrorKind.TIMEOUT, "slow", latency_ms=120000.0))
    return usage


def _record(database: Database, results: list[TurnResult]) -> str:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with database.session() as session:
        conversation: Conversation = ConversationRepository(session).create(channel="chat", actor="test")
        recorder = TurnRecorder(session, conversation, actor="test")
        for number, result in enumerate(results):
            recorder.record_turn(ConversationState(), f"message {number}", result, now)
        return conversation.id


def test_counts_turns_asked_calls_failures_and_readings_taken(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'h.db'}")
    Base.metadata.create_all(database.engine)
    hybrid = _record(database, [
        TurnResult(["hello"]),  # embedded reading sure: the model is not asked
        TurnResult(["ok"], model_usage=_usage(answered=1)),  # asked, its choice not taken
        TurnResult(["ok"], understood_by="llm", model_usage=_usage(answered=1)),  # asked, choice taken
        TurnResult(["sorry"], model_usage=_usage(failed=1)),  # asked, timed out
    ])
    other = _record(database, [TurnResult(["hi"], understood_by="llm", model_usage=_usage(answered=2))])

    turns = conversation_model_turns(database, hybrid)

    assert (turns.customer_turns, turns.asked, turns.calls, turns.failures, turns.taken) == (4, 3, 3, 1, 1)
    assert (turns.prompt_tokens, turns.completion_tokens) == (440, 2)
    assert turns.latency_ms == 126000.0
    assert "model asked on 3 of 4 customer turns (3 calls, 1 failed), its reading taken on 1" in turns.line()
    both = turns + conversation_model_turns(database, other)
    assert (both.customer_turns, both.asked, both.calls, both.taken) == (5, 4, 5, 2)


def test_embedded_conversation_never_asked() -> None:
    turns = ModelTurns()
    turns.add_turn({"intent": "cancel"})
    assert (turns.customer_turns, turns.asked) == (1, 0)
    assert turns.line().endswith("no calls")
