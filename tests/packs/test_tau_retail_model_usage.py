"""The tau-retail bench's count of the agent's model use, read from what Helpline's recorder stores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.tau_retail.model_usage import ModelTurns, choices_line, conversation_model_turns, logged_choices
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


def test_hybrid_choices_are_read_from_the_server_log() -> None:
    log = "\n".join([
        "2026-12-01 02:50:01 INFO uvicorn.access 127.0.0.1 - POST /api/v1/conversations 201",
        "2026-12-01 02:50:03 INFO helpline.llm.assisted hybrid choice: 6 options, embedded knowledge p=0.180, "
        "best procedure:cancel_order p=0.240, kept",
        "2026-12-01 02:50:09 INFO helpline.llm.assisted hybrid choice: 4 options, embedded option:keep p=0.100, "
        "best option:paypal p=0.800, taken",
        "2026-12-01 02:50:12 INFO helpline.llm.assisted: hybrid choice: 3 options, embedded option:keep p=0.300, "
        "best option:no longer needed p=0.400, kept [request_id=5f2a]",
    ])
    choices = logged_choices(log)
    assert [(c.options, c.embedded, c.best, c.best_p, c.taken) for c in choices] == [
        (6, "knowledge", "procedure:cancel_order", 0.24, False), (4, "option:keep", "option:paypal", 0.8, True),
        (3, "option:keep", "option:no longer needed", 0.4, False)]
    line = choices_line(choices)
    assert line.startswith("3 choices (4.3 options on average)") and "min 0.24" in line and line.endswith("taken 1")
    assert choices_line([]) == "no hybrid choice logged"
