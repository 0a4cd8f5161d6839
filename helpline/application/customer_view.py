"""The customer beside a conversation or a ticket, as staff read them: who they are, their records from the
business's system (``customers.py``), and their contacts on every channel. Every read is audited as the staff
member's; masking contact details for a role is the console's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from helpline.application.customers import CustomerRecords, customer_records
from helpline.conversation.ports import OperationGateway
from helpline.pack.records import RecordsDeclaration
from helpline.store.contact_history import StoredContactHistory
from helpline.store.db import Database
from helpline.store.repositories import AuditLog, CustomerRepository, TicketRepository

CONTACTS_SHOWN = 20


@dataclass(frozen=True)
class PastContact:
    number: int
    channel: str
    status: str
    summary: str
    created_at: datetime


@dataclass(frozen=True)
class CustomerOverview:
    id: str  # Helpline's customer id
    name: str
    email: str
    phone: str
    reference: str  # the business's own customer id
    records: CustomerRecords = field(default_factory=CustomerRecords)
    contacts: list[PastContact] = field(default_factory=list)  # newest first, not the one being read


def customer_overview(db: Database, actor: str, customer_id: str, *, declaration: RecordsDeclaration | None,
                      operations: OperationGateway, conversation_id: str | None = None,
                      this_ticket_id: str | None = None) -> CustomerOverview | None:
    """The customer (None when unknown), their latest records and their other contacts."""
    with db.session() as session:
        customer = CustomerRepository(session).get(customer_id, actor=actor)
        if customer is None:
            return None
        records = CustomerRecords()
        if customer.external_id:
            records = customer_records(declaration, operations, customer.external_id)
            AuditLog(session).record(actor, "read", "customer_records", customer.external_id, customer.id,
                                     {"records": len(records.records)})
        # Their tickets on every channel: those linked to them at verification, and open email and SMS threads
        # from their address or number they have not verified on (the contact history the agent reads).
        found = {t.number: PastContact(t.number, t.channel, t.status, t.summary, t.created_at)
                 for t in TicketRepository(session).list(actor=actor, customer_id=customer_id, limit=CONTACTS_SHOWN)
                 if t.id != this_ticket_id and (conversation_id is None or t.conversation_id != conversation_id)}
        if customer.external_id:
            history = StoredContactHistory(session, conversation_id or "")
            for other in history.open_elsewhere({"id": customer.external_id, "email": customer.email,
                                                 "phone": customer.phone}):
                found.setdefault(other.ticket_number, PastContact(other.ticket_number, other.channel, "open",
                                                                  other.summary, other.opened_at))
        return CustomerOverview(
            id=customer.id, name=customer.name or "", email=customer.email or "", phone=customer.phone or "",
            reference=customer.external_id or "", records=records,
            contacts=sorted(found.values(), key=lambda c: c.number, reverse=True)[:CONTACTS_SHOWN])
