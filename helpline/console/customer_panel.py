"""The customer beside a conversation or a ticket: who they are, how to reach them (masked for agents), their
records (orders, ...) from the business's system, and their contacts on every channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from helpline.application.customers import CustomerRecords, customer_records
from helpline.console.auth import StaffUser
from helpline.pack.expressions import mask
from helpline.runtime import Runtime
from helpline.store.contact_history import StoredContactHistory
from helpline.store.repositories import AuditLog, CustomerRepository, TicketRepository

CONTACTS_SHOWN = 20


@dataclass(frozen=True)
class PastContact:
    number: int
    channel: str
    status: str
    summary: str
    created_at: datetime


@dataclass
class CustomerPanel:
    known: bool  # False: nobody verified on this contact yet
    name: str = ""
    email: str = ""
    phone: str = ""
    reference: str = ""  # the business's own customer id
    masked: bool = False  # the contact details are shortened for this reader's role
    records: CustomerRecords = field(default_factory=CustomerRecords)
    contacts: list[PastContact] = field(default_factory=list)


def sees_contact_details(user: StaffUser) -> bool:
    """Agents work the queue and see enough to recognise a customer; supervisors and admins, who call back and
    correct records, see the details in full."""
    return user.can("supervisor")


def customer_panel(runtime: Runtime, session: Session, user: StaffUser, customer_id: str | None,
                   conversation_id: str | None = None, this_ticket_id: str | None = None) -> CustomerPanel:
    """`customer_id` is Helpline's customer (Conversation/Ticket.customer_id). Every read is audited as this
    staff member."""
    if not customer_id:
        return CustomerPanel(known=False)
    customer = CustomerRepository(session).get(customer_id, actor=user.actor)
    if customer is None:
        return CustomerPanel(known=False)
    full = sees_contact_details(user)
    panel = CustomerPanel(
        known=True, name=customer.name or "", reference=customer.external_id or "", masked=not full,
        email=(customer.email or "") if full else mask(customer.email, "email"),
        phone=(customer.phone or "") if full else mask(customer.phone, "phone"),
    )
    if customer.external_id:
        panel.records = customer_records(runtime.pack.records, runtime.engine.operations, customer.external_id)
        AuditLog(session).record(user.actor, "read", "customer_records", customer.external_id, customer.id,
                                 {"records": len(panel.records.records)})
    panel.contacts = past_contacts(session, user, customer_id, customer.external_id, customer.email,
                                   customer.phone, conversation_id, this_ticket_id)
    return panel


def past_contacts(session: Session, user: StaffUser, customer_id: str, external_id: str | None,
                  email: str | None, phone: str | None, conversation_id: str | None,
                  this_ticket_id: str | None) -> list[PastContact]:
    """Their tickets on every channel, newest first: those linked to them at verification, and open email and SMS
    threads from their address or number they have not verified on (the contact history the agent reads)."""
    tickets = TicketRepository(session)
    found = {t.number: PastContact(t.number, t.channel, t.status, t.summary, t.created_at)
             for t in tickets.list(actor=user.actor, customer_id=customer_id, limit=CONTACTS_SHOWN)
             if t.id != this_ticket_id and (conversation_id is None or t.conversation_id != conversation_id)}
    if external_id:
        history = StoredContactHistory(session, conversation_id or "")
        for other in history.open_elsewhere({"id": external_id, "email": email, "phone": phone}):
            found.setdefault(other.ticket_number, PastContact(other.ticket_number, other.channel, "open",
                                                              other.summary, other.opened_at))
    return sorted(found.values(), key=lambda c: c.number, reverse=True)[:CONTACTS_SHOWN]
