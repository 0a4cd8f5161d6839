"""What the channels get back from the application layer: a typed view of a turn, and the words they share.

A channel renders a turn from its ``TurnView`` alone — the reply lines, whether the conversation ended, the public
state, the hand-off the turn made and what happened in it — rather than reading the store after the turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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

@dataclass(frozen=True)
class TurnEvent:
    """Something that happened in a turn, as a channel may act on it: what kind, and the pack's or engine's name
    for it — never the customer's words or records (a message may turn out to hold half a card number only when
    the next one arrives; the stored lines are masked then, a view already handed out could not be)."""

    kind: str  # one of EVENT_KINDS' values
    name: str = ""  # the operation, the team handed to, the procedure, who was served, why it ended
    ok: bool = True  # an operation's success
    at: datetime | None = None  # a callback's due time


EVENT_KINDS: dict[type, str] = {
    OperationCalled: "operation_called", CustomerVerified: "customer_verified", CallerIdentified: "caller_identified",
    Escalated: "escalated", CallbackRequested: "callback_requested", ProcedureFinished: "procedure_finished",
    HandoffNote: "handoff_note", KnowledgeGap: "knowledge_gap", TeamQuestionAsked: "team_question_asked",
    TicketsJoined: "tickets_joined", ConversationEnded: "ended",
}


def turn_event(event: object) -> TurnEvent:
    """The channel's view of one engine event (conversation/events.py)."""
    kind = EVENT_KINDS.get(type(event), type(event).__name__)
    if isinstance(event, OperationCalled):
        return TurnEvent(kind, event.name, event.ok)
    if isinstance(event, Escalated):
        return TurnEvent(kind, event.tier)
    if isinstance(event, CallbackRequested):
        return TurnEvent(kind, at=event.due_at)
    if isinstance(event, ProcedureFinished):
        return TurnEvent(kind, event.procedure_id)
    if isinstance(event, CallerIdentified):
        return TurnEvent(kind, event.served)
    if isinstance(event, ConversationEnded):
        return TurnEvent(kind, event.reason)
    return TurnEvent(kind)


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
