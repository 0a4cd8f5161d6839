"""What ends a conversation when "anything else?" is pending: a "nothing else" alone, not one said with a request.

The interpretations are given as they are (not read by the models), so the engine's rule is tested whatever the
act model makes of a phrasing; tests/conversation/scripts/phone_misheard_request_after_answer.yaml has the
phrasing that hung up on a caller."""

from __future__ import annotations

from datetime import UTC, datetime

from helpline.conversation.commands import AskKnowledge, Command, Interpretation, NothingElse, StartProcedure
from helpline.conversation.engine import Engine, TurnContext
from helpline.conversation.state import ConversationState
from tests.conftest import RuntimeFactory

OPEN = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def after_an_answer(engine: Engine) -> ConversationState:
    state = ConversationState()
    engine.handle(state, "What are your opening hours?", TurnContext(now=OPEN))
    assert state.pending_offer == "anything_else" and not state.ended
    return state


def reply(engine: Engine, state: ConversationState, text: str, *commands: Command) -> str:
    result = engine.handle(state, text, TurnContext(now=OPEN), interpretation=Interpretation(text, commands))
    return " ".join(result.replies)


def test_nothing_else_with_a_request_starts_the_request(make_runtime: RuntimeFactory) -> None:
    engine = make_runtime(OPEN).conversations.engine
    state = after_an_answer(engine)
    said = reply(engine, state, "Change ive address, Coffee,",
                 NothingElse(), StartProcedure("change_default_address", confidence=0.74))
    assert not state.ended, said
    assert state.active is not None and state.active.procedure_id == "change_default_address"


def test_nothing_else_with_a_question_answers_it(make_runtime: RuntimeFactory) -> None:
    engine = make_runtime(OPEN).conversations.engine
    state = after_an_answer(engine)
    said = reply(engine, state, "that's all, oh wait, do you take PayPal?",
                 NothingElse(), AskKnowledge("do you take PayPal?", question=True))
    assert not state.ended and "PayPal" in said, said


def test_nothing_else_alone_or_with_a_mere_topic_still_ends(make_runtime: RuntimeFactory) -> None:
    engine = make_runtime(OPEN).conversations.engine
    state = after_an_answer(engine)
    reply(engine, state, "no that's all thanks", NothingElse())
    assert state.ended
    state = after_an_answer(engine)
    reply(engine, state, "that's everything I wanted to ask about my order",
          NothingElse(), AskKnowledge("that's everything I wanted to ask about my order", question=False))
    assert state.ended
