"""The customer's other open contacts on every channel (the engine's `ContactHistory` port).

A contact belongs to a customer when its ticket was linked to them at verification, or when it came from their
email address (an email thread) or their phone number (an SMS thread) — an email the customer sent without
verifying is still theirs to be reminded of, once they have verified on this contact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from helpline.conversation.ports import JoinedContact, OpenContact
from helpline.store.models import Customer, EmailRecord, SmsThread, Ticket
from helpline.store.validation import normalise_email, normalise_phone

OPEN_STATUSES = ("open", "escalated", "awaiting_callback")


class StoredContactHistory:
    def __init__(self, session: Session, conversation_id: str):
        self.session = session
        self.conversation_id = conversation_id

    def open_elsewhere(self, customer: Mapping[str, Any]) -> Sequence[OpenContact]:
        conversations = set()
        email = _or_none(normalise_email, customer.get("email"))
        if email:
            conversations |= set(self.session.scalars(select(EmailRecord.conversation_id).where(
                EmailRecord.address == email, EmailRecord.direction == "in")))
        phone = _or_none(normalise_phone, customer.get("phone"))
        if phone:
            conversations |= set(self.session.scalars(
                select(SmsThread.conversation_id).where(SmsThread.phone == phone)))
        linked = select(Customer.id).where(Customer.external_id == str(customer.get("id")))
        tickets = self.session.scalars(select(Ticket).where(
            or_(Ticket.customer_id.in_(linked), Ticket.conversation_id.in_(conversations)),
            Ticket.status.in_(OPEN_STATUSES), Ticket.merged_into_id.is_(None),
            Ticket.conversation_id != self.conversation_id).order_by(Ticket.created_at.desc()).limit(5))
        return [OpenContact(t.number, t.channel, t.summary, t.created_at) for t in tickets
                if t.summary and t.summary != "New contact"]

    def joined_into(self, mine: Ticket | None) -> JoinedContact | None:
        """This conversation's ticket (`mine`, as the turn loaded it) folded into another, with what that one did."""
        if mine is None or mine.merged_into_id is None:
            return None
        kept = self.session.get(Ticket, mine.merged_into_id)
        if kept is None:
            return None
        return JoinedContact(kept.number, kept.channel, kept.status, kept.resolution)


def _or_none(normalise: Any, value: Any) -> str | None:
    try:
        return str(normalise(str(value))) if value else None
    except ValueError:
        return None
