"""Hand-offs to people: created by the engine, accepted in the console."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from helpline.store.models import (
    Conversation,
    Handoff,
    Ticket,
)
from helpline.store.repositories.base import (
    Conflict,
    NotFound,
    _limit,
    _now,
    _Repository,
    _str_list,
)


class HandoffRepository(_Repository):
    """Escalation summaries for the human tier (who, issue, steps tried, wants, mood, urgency)."""

    def create(
        self,
        *,
        actor: str,
        tier: str,
        conversation_id: str | None = None,
        ticket_id: str | None = None,
        customer_summary: str = "",
        issue: str = "",
        steps_tried: Sequence[str] = (),
        customer_wants: str = "",
        mood: str = "",
        urgency: str = "",
        now: datetime | None = None,
    ) -> Handoff:
        if not tier:
            raise ValueError("a handoff needs a tier")
        handoff = Handoff(
            tier=tier, conversation_id=conversation_id, ticket_id=ticket_id, customer_summary=customer_summary,
            issue=issue, steps_tried=_str_list("steps_tried", steps_tried), customer_wants=customer_wants,
            mood=mood, urgency=urgency, created_at=_now(now),
        )
        self.session.add(handoff)
        self.session.flush()
        self.audit.record(actor, "create", "handoff", handoff.id, self._customer_of(handoff), {"tier": tier})
        return handoff

    def add_note(self, conversation_id: str, note: str, *, actor: str) -> Handoff | None:
        """What the customer said after the hand-off, added to the conversation's latest card."""
        handoff = self.session.scalars(
            select(Handoff).where(Handoff.conversation_id == conversation_id)
            .order_by(Handoff.created_at.desc()).limit(1)
        ).first()
        if handoff is None:
            return None
        handoff.steps_tried = [*handoff.steps_tried, f"Customer added after the hand-off: {note}"]
        self.session.flush()
        self.audit.record(actor, "update", "handoff", handoff.id, self._customer_of(handoff), {"note": True})
        return handoff

    def _customer_of(self, handoff: Handoff) -> str | None:
        if handoff.ticket_id:
            ticket = self.session.get(Ticket, handoff.ticket_id)
            if ticket is not None and ticket.customer_id:
                return ticket.customer_id
        if handoff.conversation_id:
            conversation = self.session.get(Conversation, handoff.conversation_id)
            if conversation is not None:
                return conversation.customer_id
        return None

    def get(self, handoff_id: str, *, actor: str) -> Handoff | None:
        handoff = self.session.get(Handoff, handoff_id)
        if handoff is not None:
            self.audit.record(actor, "read", "handoff", handoff.id, self._customer_of(handoff))
        return handoff

    def list(
        self,
        *,
        actor: str,
        pending_only: bool = False,
        tier: str | None = None,
        ticket_id: str | None = None,
        conversation_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Handoff]:
        """Oldest first: the queue order for humans."""
        query = select(Handoff)
        if pending_only:
            query = query.where(Handoff.accepted_at.is_(None))
        if tier is not None:
            query = query.where(Handoff.tier == tier)
        if ticket_id is not None:
            query = query.where(Handoff.ticket_id == ticket_id)
        if conversation_id is not None:
            query = query.where(Handoff.conversation_id == conversation_id)
        query = query.order_by(Handoff.created_at, Handoff.id).limit(_limit(limit)).offset(max(offset, 0))
        found = list(self.session.scalars(query))
        self.audit.record(actor, "read", "handoff", "*", None, {"ids": [h.id for h in found]})
        return found

    def accept(self, handoff_id: str, *, actor: str, accepted_by: str | None = None,
               now: datetime | None = None) -> Handoff:
        handoff = self.session.get(Handoff, handoff_id)
        if handoff is None:
            raise NotFound(f"handoff {handoff_id} not found")
        if handoff.accepted_at is not None:
            raise Conflict(f"handoff already accepted by {handoff.accepted_by}")
        handoff.accepted_by = (accepted_by or actor)[:200]
        handoff.accepted_at = _now(now)
        self.session.flush()
        self.audit.record(actor, "update", "handoff", handoff.id, self._customer_of(handoff),
                          {"fields": ["accepted_by", "accepted_at"]})
        return handoff


