"""Erasing one customer on request (GDPR art. 17): ``helpline customer erase`` and ``DELETE /customers/{id}``.

The customer is named by the business's own id (what the system of record calls them, kept as
``customers.external_id`` when they were verified), by Helpline's customer id, or by an email address or
phone number: then conversations where they never verified are found too (the contact is in the saved
state, a transcript or a callback). Everything found is anonymised (``helpline.privacy.anonymise``), the
customer's recordings and email attachments are deleted (their emails, texts, queued messages and team
questions anonymised, their opt-outs kept under a key: ``channel_data``), and one audit entry records the
erasure: who, when, a hash of each identifier and how many records of each kind were erased; no personal data.

Open conversations are left alone (a turn in flight would write its state back): they are reported, and
the customer's own record is kept so that running the erasure again once they have ended finishes it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
from sqlalchemy import Text, cast, delete, or_, select
from sqlalchemy.orm import Session

from helpline.privacy.anonymise import Anonymiser, ErasedCounts, chunks
from helpline.privacy.attachments import AttachmentFolder
from helpline.privacy.channel_data import ChannelData
from helpline.privacy.recordings import RecordingStore
from helpline.store.db import Database
from helpline.store.idempotency import erase_answers_mentioning
from helpline.store.models import (
    AuditEntry,
    Callback,
    Conversation,
    Customer,
    CustomerIdentity,
    Handoff,
    Message,
    Ticket,
    utcnow,
)
from helpline.store.repositories import AuditLog
from helpline.store.validation import normalise_email, normalise_phone

ERASURE_ENTITY = "customer_erasure"
_HASH_DOMAIN = "helpline:customer:"
_NON_DIGIT = re.compile(r"\D")


def identifier_hash(identifier: str) -> str:
    """The SHA-256 an erasure is recorded under: it proves a given id was erased without storing the id.
    (An id from a small, guessable space can be found again by trying them all; the log is admin-only.)"""
    return hashlib.sha256((_HASH_DOMAIN + identifier.strip()).encode("utf-8")).hexdigest()


class NothingHeld(LookupError):
    """No personal data is held for this identifier (never was, or it was already erased)."""

    def __init__(self, message: str, erased_at: datetime | None = None) -> None:
        super().__init__(message)
        self.erased_at = erased_at


@dataclass(frozen=True)
class ErasureReport:
    subject: str  # the hash the erasure is recorded under
    dry_run: bool
    matched_by: tuple[str, ...]  # external_id | customer_id | email | phone | chat
    erased: ErasedCounts
    open_conversations: int  # left alone until they end; run the erasure again then

    @property
    def complete(self) -> bool:
        return self.open_conversations == 0


@dataclass
class _Subject:
    """Who is being erased: their customer rows and every contact detail they can be recognised by."""

    customers: list[Customer] = field(default_factory=list)
    matched_by: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    other_ids: set[str] = field(default_factory=set)  # business ids and chat handles
    names: set[str] = field(default_factory=set)

    def personal(self) -> set[str]:
        return {s.lower() for s in (*self.emails, *self.phones, *self.other_ids, *self.names) if s}

    def identifiers(self) -> set[str]:
        return {*self.emails, *self.phones, *self.other_ids}


@dataclass
class _Plan:
    conversations: list[Conversation] = field(default_factory=list)  # ended: erased now
    open_conversation_ids: set[str] = field(default_factory=set)  # active: left alone
    tickets: list[Ticket] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)


class CustomerErasure:
    """Erases one customer; ``dry_run`` counts what would go, changes nothing and is audited as a read."""

    def __init__(self, db: Database, *, recordings: RecordingStore | None = None,
                 attachments: AttachmentFolder | None = None,
                 clock: Callable[[], datetime] | None = None, region: str | None = None) -> None:
        self.db = db
        self.recordings = recordings
        self.attachments = attachments
        self.clock = clock or utcnow
        self.region = region  # for a phone number given without its country code

    def erase(self, identifier: str, *, actor: str, dry_run: bool = False) -> ErasureReport:
        identifier = identifier.strip()
        with self.db.session() as session:
            subject = self._subject(session, identifier)
            plan = self._plan(session, subject)
            primary = self._primary(subject, identifier)  # (before the customer rows are emptied)
            customer_id = subject.customers[0].id if len(subject.customers) == 1 else None
            now = self.clock()
            anonymiser = Anonymiser(session, erased_by="erasure", now=now)
            channels = ChannelData(anonymiser, self.attachments)
            self._apply(anonymiser, channels, plan, subject)
            erasable = {c.id for c in plan.conversations}
            recordings = self.recordings.of_conversations(erasable) if self.recordings else []
            counts = anonymiser.counts
            if counts.total() == 0 and not plan.open_conversation_ids and \
                    not RecordingStore.existing_audio(recordings) and not channels.files:
                session.rollback()
                raise NothingHeld("no personal data is held for this customer",
                                  self._erased_at(session, {identifier, primary, *subject.identifiers()}))
            if dry_run:
                counts.recordings = RecordingStore.existing_audio(recordings)
                counts.attachments = sum(1 for path in channels.files if path.exists())
                session.rollback()  # everything above is undone; only the audit entry below is kept
            else:
                session.flush()
                # Inside the transaction: if a file cannot be deleted nothing is committed, and the
                # erasure can simply be run again.
                counts.recordings = RecordingStore.delete(recordings)
                counts.attachments = AttachmentFolder.delete(channels.files)
            report = ErasureReport(identifier_hash(primary), dry_run, tuple(sorted(subject.matched_by)), counts,
                                   len(plan.open_conversation_ids))
            AuditLog(session).record(
                actor, "read" if dry_run else "delete", ERASURE_ENTITY, report.subject, customer_id,
                {"identifiers": sorted({identifier_hash(i) for i in {primary, *subject.identifiers()}}),
                 "matched_by": list(report.matched_by), "dry_run": dry_run, "erased": counts.as_dict(),
                 "open_conversations_kept": report.open_conversations},
                at=now,
            )
        return report

    # -- who

    def _subject(self, session: Session, identifier: str) -> _Subject:
        subject = _Subject()
        if not identifier:
            return subject
        email = _parse(normalise_email, identifier) if "@" in identifier else None
        phone = None if email else _parse(lambda text: normalise_phone(text, self.region), identifier)
        found: dict[str, Customer] = {}
        for customer in session.scalars(select(Customer).where(Customer.external_id == identifier)):
            found[customer.id] = customer
            subject.matched_by.add("external_id")
        if len(identifier) <= 36:
            by_id = session.get(Customer, identifier)
            if by_id is not None:
                found[by_id.id] = by_id
                subject.matched_by.add("customer_id")
        for kind, value in (("email", email), ("phone", phone), ("chat", identifier), ("external", identifier)):
            if not value:
                continue
            owners = session.scalars(select(Customer).join(CustomerIdentity).where(
                CustomerIdentity.kind == kind, CustomerIdentity.value == value))
            for customer in owners:
                found[customer.id] = customer
                subject.matched_by.add("external_id" if kind == "external" else kind)
        if email:
            subject.emails.add(email)
            subject.matched_by.add("email")
        if phone:
            subject.phones.add(phone)
            subject.matched_by.add("phone")
        subject.customers = list(found.values())
        for customer in subject.customers:
            subject.names.update(n for n in (customer.name,) if n and len(n) >= 4)
            subject.emails.update(e for e in (customer.email,) if e)
            subject.phones.update(p for p in (customer.phone,) if p)
            subject.other_ids.update(x for x in (customer.external_id,) if x)
            for identity in session.scalars(select(CustomerIdentity).where(
                    CustomerIdentity.customer_id == customer.id)):
                {"email": subject.emails, "phone": subject.phones}.get(identity.kind, subject.other_ids) \
                    .add(identity.value)
        return subject

    @staticmethod
    def _primary(subject: _Subject, identifier: str) -> str:
        """The business's id when there is exactly one, else the identifier as given."""
        external = {c.external_id for c in subject.customers if c.external_id}
        return next(iter(external)) if len(external) == 1 else identifier

    # -- what

    def _plan(self, session: Session, subject: _Subject) -> _Plan:
        customer_ids = {c.id for c in subject.customers}
        conversations: dict[str, Conversation] = {}
        for chunk in chunks(customer_ids):
            for conversation in session.scalars(select(Conversation).where(Conversation.customer_id.in_(chunk))):
                conversations[conversation.id] = conversation
        for conversation in self._unverified_conversations(session, subject):
            conversations[conversation.id] = conversation
        # emails from or to their address, texts from or to their number (an email thread that never verified)
        for conversation_id in ChannelData.conversations_of_contacts(session, subject.emails, subject.phones):
            if conversation_id not in conversations:
                linked_conversation = session.get(Conversation, conversation_id)
                if linked_conversation is not None:
                    conversations[conversation_id] = linked_conversation

        contact_terms = [Callback.email.in_(sorted(subject.emails)), Callback.phone.in_(sorted(subject.phones))]
        callbacks: dict[str, Callback] = {}
        for chunk in chunks(customer_ids) if customer_ids else [[]]:
            for callback in session.scalars(select(Callback).where(or_(Callback.customer_id.in_(chunk),
                                                                       *contact_terms))):
                callbacks[callback.id] = callback

        tickets: dict[str, Ticket] = {}
        ticket_terms = [
            *(Ticket.customer_id.in_(chunk) for chunk in chunks(customer_ids)),
            *(Ticket.conversation_id.in_(chunk) for chunk in chunks(set(conversations))),
            *(Ticket.id.in_(chunk) for chunk in chunks({c.ticket_id for c in callbacks.values() if c.ticket_id})),
        ]
        if ticket_terms:
            for ticket in session.scalars(select(Ticket).where(or_(*ticket_terms))):
                tickets[ticket.id] = ticket
        for ticket in tickets.values():  # a ticket found by its callback's number: its conversation too
            if ticket.conversation_id and ticket.conversation_id not in conversations:
                linked = session.get(Conversation, ticket.conversation_id)
                if linked is not None:
                    conversations[linked.id] = linked
        handoff_terms = [*(Handoff.ticket_id.in_(chunk) for chunk in chunks(set(tickets))),
                         *(Handoff.conversation_id.in_(chunk) for chunk in chunks(set(conversations)))]
        handoffs = list(session.scalars(select(Handoff).where(or_(*handoff_terms)))) if handoff_terms else []

        open_ids = {cid for cid, c in conversations.items() if c.status != "ended"}
        kept_tickets = {t.id for t in tickets.values() if t.conversation_id in open_ids}
        return _Plan(
            conversations=[c for cid, c in conversations.items() if cid not in open_ids],
            open_conversation_ids=open_ids,
            tickets=[t for t in tickets.values() if t.id not in kept_tickets],
            handoffs=[h for h in handoffs if h.conversation_id not in open_ids and h.ticket_id not in kept_tickets],
            callbacks=[c for c in callbacks.values() if c.ticket_id not in kept_tickets],
        )

    def _unverified_conversations(self, session: Session, subject: _Subject) -> list[Conversation]:
        """Conversations with no customer attached whose saved state names one of the contacts (a caller's
        number, an email typed before verification failed), or whose transcript quotes one of the emails."""
        digits = {_national_digits(phone) for phone in subject.phones} - {""}
        terms = [cast(Conversation.state, Text).icontains(email, autoescape=True) for email in subject.emails]
        terms += [cast(Conversation.state, Text).contains(d[-4:], autoescape=True) for d in digits]
        if not terms:
            return []
        found = [c for c in session.scalars(select(Conversation).where(Conversation.customer_id.is_(None),
                                                                        or_(*terms)))
                 if _mentions(c.state, subject.emails, digits)]
        quoted = select(Message.conversation_id).where(
            or_(*(Message.text.icontains(email, autoescape=True) for email in subject.emails))) \
            if subject.emails else None
        if quoted is not None:
            known = {c.id for c in found}
            found += [c for c in session.scalars(select(Conversation).where(
                Conversation.customer_id.is_(None), Conversation.id.in_(quoted))) if c.id not in known]
        return found

    # -- erase

    def _apply(self, anonymiser: Anonymiser, channels: ChannelData, plan: _Plan, subject: _Subject) -> None:
        titles: dict[str, list[str]] = {}
        for conversation in plan.conversations:
            titles[conversation.id] = [str(r.get("title", "")) for r in (conversation.state or {}).get("requests", [])
                                       if isinstance(r, dict)]
            anonymiser.conversation(conversation)
        for ticket in plan.tickets:
            anonymiser.ticket(ticket, titles.get(ticket.conversation_id or "", []))
        for handoff in plan.handoffs:
            anonymiser.handoff(handoff)
        for callback in plan.callbacks:
            anonymiser.callback(callback, cancel_open=True)
        anonymiser.audit_of_conversations({c.id for c in plan.conversations})
        channels.contacts({c.id for c in plan.conversations}, {t.id for t in plan.tickets},
                          {t.number for t in plan.tickets}, cancel_pending=True)
        kept_tickets = {t.id for t in anonymiser.session.scalars(select(Ticket).where(
            Ticket.conversation_id.in_(sorted(plan.open_conversation_ids))))} if plan.open_conversation_ids else set()
        channels.addressed_to(subject.emails, subject.phones, {c.id for c in subject.customers},
                              plan.open_conversation_ids, kept_tickets)
        # answers kept for API retries (Idempotency-Key) that name them, their conversations or tickets
        erase_answers_mentioning(anonymiser.session, {*subject.personal(), *(c.id for c in plan.conversations),
                                                      *(t.id for t in plan.tickets)})
        if plan.open_conversation_ids:
            return  # the customer's record stays until a run finds no open conversation
        channels.key_opt_outs(subject.emails, subject.phones)
        anonymiser.audit_mentioning(subject.personal(), {c.id for c in subject.customers})
        self._anonymise_customers(anonymiser, subject.customers)

    @staticmethod
    def _anonymise_customers(anonymiser: Anonymiser, customers: Collection[Customer]) -> None:
        """The customer row stays, empty: tickets keep pointing at one anonymous key, so repeat contacts
        (first-contact resolution) still count the same."""
        session = anonymiser.session
        for customer in customers:
            removed = session.execute(delete(CustomerIdentity).where(CustomerIdentity.customer_id == customer.id))
            identities = int(getattr(removed, "rowcount", 0) or 0)
            anonymiser.counts.identities += identities
            if identities or any((customer.external_id, customer.name, customer.email, customer.phone)):
                customer.external_id = customer.name = customer.email = customer.phone = None
                anonymiser.counts.customers += 1

    @staticmethod
    def _erased_at(session: Session, identifiers: Collection[str]) -> datetime | None:
        """When an earlier erasure recorded one of these identifiers, if one did."""
        hashes = sorted({identifier_hash(i) for i in identifiers if i})
        if not hashes:
            return None
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == ERASURE_ENTITY, AuditEntry.action == "delete",
                                     or_(AuditEntry.entity_id.in_(hashes),
                                         *(cast(AuditEntry.detail, Text).contains(h) for h in hashes)))
            .order_by(AuditEntry.id.desc()).limit(1)).first()
        return entry.at if entry is not None else None


def _parse(normalise: Callable[[str], str], text: str) -> str | None:
    try:
        return normalise(text)
    except ValueError:
        return None


def _national_digits(phone: str) -> str:
    try:
        return str(phonenumbers.parse(phone).national_number)
    except phonenumbers.NumberParseException:
        return _NON_DIGIT.sub("", phone)


def _mentions(value: Any, emails: Collection[str], digits: Collection[str]) -> bool:
    """Whether any string in a JSON-like value holds one of the emails, or one of the phone numbers however
    it was typed (its national digits, in order)."""
    if isinstance(value, str):
        lowered = value.lower()
        if any(email in lowered for email in emails):
            return True
        typed = _NON_DIGIT.sub("", value)
        return len(typed) >= 7 and any(d and d in typed for d in digits)
    if isinstance(value, dict):
        return any(_mentions(item, emails, digits) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_mentions(item, emails, digits) for item in value)
    return False
