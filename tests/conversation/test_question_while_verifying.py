"""A general question asked when the agent wants to know who the customer is: answered, then the details asked
again; not read as a failed answer (three of those handed a phone caller, whose misheard words had started a
verification, to a person while none of their questions was answered)."""

from __future__ import annotations

from datetime import UTC, datetime

from helpline.conversation.engine import TurnContext
from helpline.conversation.state import ConversationState
from tests.conftest import RuntimeFactory

OPEN = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def test_questions_while_verifying_are_answered_and_the_details_asked_again(make_runtime: RuntimeFactory) -> None:
    engine = make_runtime(OPEN).conversations.engine
    state = ConversationState()

    def say(text: str) -> str:
        return " ".join(engine.handle(state, text, TurnContext(now=OPEN)).replies)

    say("I need to change my address")
    assert state.verification.in_progress
    asked = [("Do you take PayPal?", "PayPal"), ("How long does delivery usually take?", "business days"),
             ("Can I make cold foam with the frother?", "foam")]
    for question, answer in asked:
        reply = say(question)
        assert answer in reply, reply
        assert state.verification.in_progress and not state.escalated, reply  # still asking who they are
    reply = say("it's ana.cook@example.com")
    assert state.verified, reply  # and the request goes on once they say
    assert state.active is not None and state.active.procedure_id == "change_default_address"
