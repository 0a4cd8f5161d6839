"""What the console's live view and conversation pages read: active conversations with what a supervisor needs to
judge them, one conversation's transcript, state and hand-offs, and who handles it; and one conversation with its
ticket and transcript as the API returns it. Plain views, never the store's rows; reads of customer data are
audited as the staff member's (or the API key's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from helpline.store.db import Database
from helpline.store.models import Conversation, Handoff, Message
from helpline.store.repositories import ConversationRepository, HandoffRepository, TicketRepository
from helpline.store.throttle import AlertView, recent_alerts

__all__ = [
    "ActiveConversation", "AlertView", "ConversationRecord", "ConversationView", "EscalationView", "TranscriptLine",
    "active_conversations", "conversation_exists", "conversation_of", "conversation_record", "handoffs_of",
    "message_json", "transcript", "transcript_since", "verification_alerts",
]

ACTIVE_SHOWN = 200


def message_json(message: Message) -> dict[str, Any]:
    """A transcript line as the console's pages and live stream show it."""
    meta = message.meta or {}
    return {"seq": message.seq, "role": message.role, "text": message.text, "at": message.created_at.isoformat(),
            "by": meta.get("name") or meta.get("by") or "", "staff_only": meta.get("visibility") == "staff",
            "notice": bool(meta.get("notice")), "kb_gap": bool(meta.get("kb_gap"))}


@dataclass(frozen=True)
class ConversationView:
    id: str
    channel: str
    status: str  # active | ended
    started_at: datetime
    last_activity_at: datetime
    handled_by: str | None  # the console user answering instead of the AI
    sentiment: float  # the engine's frustration score, 0 calm .. 1 furious
    current_procedure: str | None
    customer_id: str | None
    escalated: bool
    verified: bool
    ended_at: datetime | None

    @classmethod
    def of(cls, row: Conversation) -> ConversationView:
        state = row.state or {}
        return cls(id=row.id, channel=row.channel, status=row.status, started_at=row.started_at,
                   last_activity_at=row.last_activity_at, handled_by=row.handled_by, sentiment=row.sentiment,
                   current_procedure=row.current_procedure, customer_id=row.customer_id,
                   escalated=bool(state.get("escalated")), verified=bool(state.get("customer")),
                   ended_at=row.ended_at)


@dataclass(frozen=True)
class EscalationView:
    """A hand-off to a person as staff read it."""

    id: str
    conversation_id: str | None
    ticket_id: str | None
    tier: str
    customer_summary: str
    issue: str
    customer_wants: str
    mood: str
    urgency: str
    steps_tried: tuple[str, ...]
    created_at: datetime
    accepted_by: str | None
    accepted_at: datetime | None

    @classmethod
    def of(cls, row: Handoff) -> EscalationView:
        return cls(id=row.id, conversation_id=row.conversation_id, ticket_id=row.ticket_id, tier=row.tier,
                   customer_summary=row.customer_summary, issue=row.issue, customer_wants=row.customer_wants,
                   mood=row.mood, urgency=row.urgency, steps_tried=tuple(row.steps_tried or ()),
                   created_at=row.created_at, accepted_by=row.accepted_by, accepted_at=row.accepted_at)


@dataclass(frozen=True)
class ActiveConversation:
    """An active conversation with what the live list judges it by."""

    conversation: ConversationView
    ticket_number: int | None
    last_customer_text: str  # the first 140 characters of the customer's latest line
    last_customer_at: datetime | None
    waiting_since: datetime | None  # when the hand-off nobody has accepted yet was made


@dataclass(frozen=True)
class TranscriptLine:
    seq: int
    role: str  # customer | agent | staff | system
    text: str  # as stored: redacted
    created_at: datetime


@dataclass(frozen=True)
class ConversationRecord:
    """A conversation with its ticket (if one was made) and every line of its transcript."""

    conversation: ConversationView
    ticket_id: str | None
    ticket_number: int | None
    lines: list[TranscriptLine]


def conversation_record(db: Database, conversation_id: str, actor: str) -> ConversationRecord | None:
    """The conversation (its read audited as ``actor``'s, and its ticket's), or None when there is none."""
    with db.session() as session:
        repo = ConversationRepository(session)
        conversation = repo.get(conversation_id, actor=actor)
        if conversation is None:
            return None
        tickets = TicketRepository(session).list(actor=actor, conversation_id=conversation_id, limit=1)
        return ConversationRecord(
            ConversationView.of(conversation), tickets[0].id if tickets else None,
            tickets[0].number if tickets else None,
            [TranscriptLine(m.seq, m.role, m.text, m.created_at) for m in repo.messages(conversation_id)])


def conversation_exists(db: Database, conversation_id: str) -> bool:
    with db.read_session() as session:
        return session.get(Conversation, conversation_id) is not None


def conversation_of(db: Database, conversation_id: str, actor: str | None = None) -> ConversationView | None:
    """The conversation; ``actor`` audits the read (None: a state check that shows no customer data)."""
    with db.session() as session:
        row = (ConversationRepository(session).get(conversation_id, actor=actor) if actor is not None
               else session.get(Conversation, conversation_id))
        return ConversationView.of(row) if row is not None else None


def active_conversations(db: Database, actor: str, limit: int = ACTIVE_SHOWN) -> list[ActiveConversation]:
    with db.session() as session:
        repo = ConversationRepository(session)
        found = []
        for c in repo.list_active(actor=actor, limit=limit):
            messages = repo.messages(c.id)
            last = next((m for m in reversed(messages) if m.role == "customer"), None)
            tickets = TicketRepository(session).list(actor=actor, conversation_id=c.id, limit=1)
            view = ConversationView.of(c)
            waiting_since = None
            if view.escalated and not c.handled_by:
                # only when the hand-off was made (no customer data: not audited on every refresh of the list)
                waiting_since = session.scalar(select(func.min(Handoff.created_at)).where(
                    Handoff.conversation_id == c.id, Handoff.accepted_at.is_(None)))
            found.append(ActiveConversation(view, tickets[0].number if tickets else None,
                                            last.text[:140] if last else "", last.created_at if last else None,
                                            waiting_since))
    return found


def verification_alerts(db: Database, since: datetime) -> list[AlertView]:
    """Too many failed identity checks since ``since``, newest first."""
    with db.session() as session:
        return recent_alerts(session, since)


def transcript(db: Database, conversation_id: str, actor: str) -> list[dict[str, Any]]:
    """Every line of the conversation (audited as ``actor``'s read)."""
    with db.session() as session:
        return [message_json(m) for m in ConversationRepository(session).messages(conversation_id, actor=actor)]


def transcript_since(db: Database, conversation_id: str, after: int) -> tuple[list[dict[str, Any]],
                                                                               ConversationView] | None:
    """The lines after ``after`` and the conversation's state, for a page already opened (and audited); None when
    the conversation is gone."""
    with db.session() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return None
        fresh = [message_json(m) for m in ConversationRepository(session).messages(conversation_id) if m.seq > after]
        return fresh, ConversationView.of(conversation)


def handoffs_of(db: Database, conversation_id: str, actor: str) -> list[EscalationView]:
    """The conversation's hand-offs, oldest first."""
    with db.session() as session:
        return [EscalationView.of(h) for h in HandoffRepository(session).list(actor=actor,
                                                                               conversation_id=conversation_id)]
