"""What the channels get back from the application layer: a typed view of a turn, and the words they share.

A channel renders a turn from its ``TurnView`` alone — the reply lines, whether the conversation ended, the public
state, the hand-off the turn made and what happened in it — rather than reading the store after the turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from helpline.application.handoffs import HandoffView
from helpline.conversation.engine import Engine
from helpline.conversation.events import (
    CallbackRequested,
    CallerIdentified,
    ConversationEnded,
    CustomerVerified,
    Escalated,
    HandoffNote,
    KnowledgeGap,
    OperationCalled,
    ProcedureFinished,
    TeamQuestionAsked,
    TicketsJoined,
)
from helpline.conversation.state import ConversationState

# Meta flag of an agent line said outside a customer's turn (silence, a colleague's answer): a channel without a
# live session (email, SMS) sends these itself, since no inbound message is waiting for them as a reply.
UNPROMPTED = "unprompted"
STAFF_ONLY = {"visibility": "staff"}  # message meta: a whisper the customer never sees
NOTICE = {"notice": True}  # message meta: a system line the customer sees (a person joined, left)

# Everything the engine reports of a turn (conversation/events.py), as a channel may look at it.
TurnEvent: TypeAlias = (CallbackRequested | CallerIdentified | ConversationEnded | CustomerVerified | Escalated
                        | HandoffNote | KnowledgeGap | OperationCalled | ProcedureFinished | TeamQuestionAsked
                        | TicketsJoined)


class ConversationNotFound(LookupError):
    pass


class ConversationClosed(RuntimeError):
    pass


def customer_visible(role: str, meta: dict[str, Any] | None) -> bool:
    return (meta or {}).get("visibility") != "staff"


@dataclass
class TurnView:
    id: str
    replies: list[str]
    ended: bool
    state: dict[str, Any] = field(default_factory=dict)
    channel: str = ""  # the conversation's channel (for metrics); set by post()
    engine_failed: bool = False  # the engine raised and the customer got the apology
    # The hand-off this turn made (the team it went to and the summary a person taking over hears), as recorded;
    # None when the turn handed nothing off.
    handoff: HandoffView | None = None
    events: tuple[TurnEvent, ...] = ()  # what happened in the turn, in order (verified, escalated, called, ...)

    @property
    def escalated(self) -> bool:
        """Whether the conversation is with the team (now or since an earlier turn)."""
        return bool(self.state.get("escalated"))


def public_state(state: ConversationState, engine: Engine) -> dict[str, Any]:
    """What a client may see about the conversation (no customer record before verification)."""
    active = state.active
    procedure = engine.procedures.get(active.procedure_id) if active else None
    return {
        "verified": state.verified,
        "customer_id": state.customer_id,
        "procedure": active.procedure_id if active else None,
        "procedure_title": procedure.title if procedure else None,
        "assurance": state.assurance,
        "awaiting": ("code" if state.verification.code_pending else "verification" if state.verification.in_progress
                     else (active.awaiting if active else None)),
        "escalated": state.escalated,
        "escalated_tier": state.escalated_tier,  # the team handed to (a phone transfer asks its hours)
        "ended": state.ended,
        "sentiment": round(state.sentiment, 3),
        "turn": state.turn,
    }
