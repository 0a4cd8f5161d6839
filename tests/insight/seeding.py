"""Contacts written straight into a Helpline database, as the recorder leaves them: a conversation, the customer's
lines (with the meta the engine sets) and a ticket."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpline.store.models import Conversation, Message, Ticket


def add_contact(session: Session, lines: Sequence[str], at: datetime, channel: str = "chat",
                kb_gap: Sequence[str] = (), summary: str = "New contact", intent: str | None = None) -> Ticket:
    """One contact whose customer wrote ``lines``, understood as ``intent``; those also in ``kb_gap`` went
    unanswered."""
    conversation = Conversation(channel=channel, started_at=at, last_activity_at=at, status="ended")
    session.add(conversation)
    session.flush()
    for seq, text in enumerate(lines, start=1):
        meta = {"intent": intent, "kb_gap": True} if text in kb_gap else {"intent": intent}
        session.add(Message(conversation_id=conversation.id, seq=seq * 2, role="customer", text=text, meta=meta,
                            created_at=at))
    number = (session.scalar(select(func.max(Ticket.number))) or 0) + 1
    ticket = Ticket(number=number, conversation_id=conversation.id, channel=channel, summary=summary,
                    status="resolved", created_at=at, updated_at=at)
    session.add(ticket)
    session.flush()
    return ticket
