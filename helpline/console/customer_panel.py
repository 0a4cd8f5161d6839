"""The customer beside a conversation or a ticket: who they are, how to reach them (masked for agents), their
records (orders, ...) from the business's system, and their contacts on every channel."""

from __future__ import annotations

from dataclasses import dataclass, field

from helpline.application.customer_view import PastContact, customer_overview
from helpline.application.customers import CustomerRecords
from helpline.console.auth import StaffUser
from helpline.pack.expressions import mask
from helpline.runtime import Runtime

__all__ = ["CustomerPanel", "PastContact", "customer_panel", "sees_contact_details"]


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


def customer_panel(runtime: Runtime, user: StaffUser, customer_id: str | None, conversation_id: str | None = None,
                   this_ticket_id: str | None = None) -> CustomerPanel:
    """`customer_id` is Helpline's customer (Conversation/Ticket.customer_id). Every read is audited as this
    staff member."""
    if not customer_id:
        return CustomerPanel(known=False)
    customer = customer_overview(runtime.db, user.actor, customer_id, declaration=runtime.pack.records,
                                 operations=runtime.engine.operations, conversation_id=conversation_id,
                                 this_ticket_id=this_ticket_id)
    if customer is None:
        return CustomerPanel(known=False)
    full = sees_contact_details(user)
    return CustomerPanel(
        known=True, name=customer.name, reference=customer.reference, masked=not full,
        email=customer.email if full else mask(customer.email or None, "email"),
        phone=customer.phone if full else mask(customer.phone or None, "phone"),
        records=customer.records, contacts=customer.contacts)
