"""What QA judges: one finished contact as plain data (transcript lines with their meta, the state, the ticket,
the audit trail of the AI's turns, hand-offs and callbacks), read from the store without changing anything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.store.models import AuditEntry, Callback, Conversation, Handoff, Message, Ticket

AGENT_ROLES = ("agent", "human")
CUSTOMER_ROLE = "customer"
# A whisper (meta.visibility == "staff") is never seen by the customer, so it is no part of what QA judges.
STAFF_VISIBILITY = "staff"
AI_ACTOR_PREFIX = "ai:conversation:"


@dataclass(frozen=True)
class Line:
    seq: int
    role: str
    text: str
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def spoken_by_agent(self) -> bool:
        return self.role in AGENT_ROLES and self.meta.get("visibility") != STAFF_VISIBILITY

    @property
    def frustration(self) -> float:
        value = self.meta.get("frustration", 0.0)
        return float(value) if isinstance(value, int | float) else 0.0

    @property
    def intent(self) -> str:
        return str(self.meta.get("intent", ""))


@dataclass(frozen=True)
class AuditFact:
    """One audit entry of the AI's turns; ``turn_seq`` is the customer line of the turn it belongs to (0: none)."""

    action: str
    entity: str
    detail: Mapping[str, Any]
    turn_seq: int


@dataclass(frozen=True)
class TicketFacts:
    number: int
    status: str
    summary: str
    resolution: str
    next_step: str
    notes: str
    steps_taken: tuple[str, ...]
    flags: tuple[str, ...]
    created_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class ContactRecord:
    lines: tuple[Line, ...]
    state: Mapping[str, Any]
    ticket: TicketFacts
    audit: tuple[AuditFact, ...] = ()
    handoffs: int = 0
    callbacks_with_means: int = 0  # callbacks holding a number or an email to reach the customer on
    started_at: datetime | None = None
    ended_at: datetime | None = None
    handoffs_waiting: int = 0  # hand-offs no person ever accepted
    # Seconds from the first untaken hand-off to the contact's end: how long the customer waited for nobody.
    waited_for_nobody: float = 0.0

    @property
    def last_customer_line(self) -> Line | None:
        return next((line for line in reversed(self.lines) if line.role == CUSTOMER_ROLE), None)

    def agent_lines_after(self, seq: int) -> list[Line]:
        return [line for line in self.lines if line.seq > seq and line.spoken_by_agent]

    @property
    def customer_lines(self) -> list[Line]:
        return [line for line in self.lines if line.role == CUSTOMER_ROLE]


def _utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their timezone; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _audit_facts(session: Session, conversation_id: str) -> tuple[AuditFact, ...]:
    """The AI's audit entries for this conversation in order, each tied to the customer line of its turn (the
    recorder writes a turn's messages first, then the turn's reads and changes)."""
    facts: list[AuditFact] = []
    turn_seq = 0
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.actor == AI_ACTOR_PREFIX + conversation_id)
                                 .order_by(AuditEntry.id)):
        detail = entry.detail if isinstance(entry.detail, dict) else {}
        if entry.entity == "message" and entry.action == "create" and detail.get("role") == CUSTOMER_ROLE:
            _, _, seq = entry.entity_id.rpartition(":")
            turn_seq = int(seq) if seq.isdigit() else turn_seq
        facts.append(AuditFact(entry.action, entry.entity, detail, turn_seq))
    return tuple(facts)


def load_contact(session: Session, ticket: Ticket) -> ContactRecord | None:
    """The contact behind a ticket, or None when it has no conversation (left after erasure, say)."""
    if ticket.conversation_id is None:
        return None
    conversation = session.get(Conversation, ticket.conversation_id)
    if conversation is None:
        return None
    messages = list(session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.seq)))
    lines = tuple(Line(m.seq, m.role, m.text, dict(m.meta or {})) for m in messages)
    audit = _audit_facts(session, conversation.id)
    handoffs = list(session.execute(select(Handoff.created_at, Handoff.accepted_at)
                                    .where(Handoff.ticket_id == ticket.id)).all())
    untaken = [created for created, accepted in handoffs if accepted is None]
    # The hand-off's moment is its turn's, on the conversation's own clock (the one its end was stamped with).
    said_at = {m.seq: m.created_at for m in messages}
    handed_at = next((said_at[f.turn_seq] for f in audit
                      if f.entity == "handoff" and f.action == "create" and f.turn_seq in said_at),
                     min(untaken, default=None))
    waited = 0.0
    if untaken and handed_at is not None and conversation.ended_at is not None:
        waited = max((_utc(conversation.ended_at) - _utc(handed_at)).total_seconds(), 0.0)
    callbacks = [c for c in session.scalars(select(Callback).where(Callback.ticket_id == ticket.id))
                 if c.phone or c.email]
    facts = TicketFacts(ticket.number, ticket.status, ticket.summary, ticket.resolution, ticket.next_step,
                        ticket.notes, tuple(ticket.steps_taken or ()), tuple(ticket.flags or ()), ticket.created_at,
                        ticket.closed_at)
    return ContactRecord(lines, dict(conversation.state or {}), facts, audit, len(handoffs), len(callbacks),
                         conversation.started_at, conversation.ended_at, handoffs_waiting=len(untaken),
                         waited_for_nobody=waited)
