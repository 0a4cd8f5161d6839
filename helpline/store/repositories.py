"""Small repositories over one Session each; the caller owns the transaction (``Database.session()``).

Auditing: every method that reads or changes customer data writes an ``AuditEntry`` in the same
transaction, so the log can never disagree with the data. The ``actor`` names who did it:
``"ai:conversation:<id>"``, ``"apikey:<prefix>"`` or ``"system"``.

Audited (R = read, C/U/D = create/update/delete):
  CustomerRepository      get R, find_by_identity R (when found), upsert_from_record C/U, link_identity C
  ConversationRepository  create C, get R, messages R (when an actor is given), append_message C,
                          save_state U, end U, list_active R
  TicketRepository        create C, get R, get_by_number R, update U (only when something changed), list R
  HandoffRepository       create C, get R, list R, accept U
  CallbackRepository      schedule C, get R, due R, list R, complete U, cancel U, mark_missed_overdue U
  IncidentRepository      declare C, end U (reads are not audited: incidents hold no customer data)
  ApiKeyRepository        create C, revoke U (verify is not audited: it runs on every request)
  ConsoleUserRepository   create C, set_password U, disable U (logins are audited by the console)
  ConsoleSessionRepository, WidgetKeyRepository, WidgetChatRepository: credentials, no customer data
A list read writes one entry naming the rows returned, not one entry per row.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpline.store.claims import Claims, holder
from helpline.store.models import (
    INCIDENT_KINDS,
    ApiKey,
    AuditEntry,
    Callback,
    ConsoleSession,
    ConsoleUser,
    Conversation,
    Customer,
    CustomerIdentity,
    Handoff,
    Incident,
    Message,
    Ticket,
    WidgetChat,
    WidgetKey,
    utcnow,
)
from helpline.store.validation import (
    API_ROLES,
    AUDIT_ACTIONS,
    CALLBACK_STATUSES,
    CHANNELS,
    CONSOLE_ROLES,
    IDENTITY_KINDS,
    MESSAGE_ROLES,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    check_choice,
    normalise_email,
    normalise_phone,
)

log = logging.getLogger(__name__)

FIRST_TICKET_NUMBER = 1001
MAX_LIST_LIMIT = 1000
API_KEY_PREFIX = "hl_"
API_KEY_PREFIX_LENGTH = 8
_NUMBERING_ATTEMPTS = 5
_TICKET_NUMBER_LOCK = 0x48_4C_54_4B  # "HLTK": an arbitrary, fixed advisory-lock key


class NotFound(LookupError):
    """The record asked for does not exist."""


class Conflict(RuntimeError):
    """The change contradicts the record's current state (e.g. completing a cancelled callback)."""


def _now(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()


def _limit(limit: int) -> int:
    return max(0, min(limit, MAX_LIST_LIMIT))


def _str_list(name: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"invalid {name}: expected a list of strings")
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"invalid {name}: expected a list of strings")
    return items


class AuditLog:
    """The append-only record of who read or changed customer data. Reading it is not itself audited."""

    def __init__(self, session: Session):
        self.session = session

    def record(
        self,
        actor: str,
        action: str,
        entity: str,
        entity_id: str = "",
        customer_id: str | None = None,
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AuditEntry:
        check_choice("audit action", action, AUDIT_ACTIONS)
        if not actor:
            raise ValueError("an audit entry needs an actor")
        entry = AuditEntry(
            at=_now(at), actor=actor[:200], action=action, entity=entity[:200], entity_id=str(entity_id)[:200],
            customer_id=customer_id, detail=detail or {},
        )
        self.session.add(entry)
        return entry

    def list(
        self,
        *,
        entity: str | None = None,
        entity_id: str | None = None,
        customer_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Newest first."""
        query = select(AuditEntry)
        if entity is not None:
            query = query.where(AuditEntry.entity == entity)
        if entity_id is not None:
            query = query.where(AuditEntry.entity_id == entity_id)
        if customer_id is not None:
            query = query.where(AuditEntry.customer_id == customer_id)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        if action is not None:
            query = query.where(AuditEntry.action == check_choice("audit action", action, AUDIT_ACTIONS))
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at < until)
        query = query.order_by(AuditEntry.id.desc()).limit(_limit(limit)).offset(max(offset, 0))
        return list(self.session.scalars(query))


class _Repository:
    def __init__(self, session: Session):
        self.session = session
        self.audit = AuditLog(session)


# --- customers ---------------------------------------------------------------------------------


class CustomerRepository(_Repository):
    """Customers and the identities (email, phone, chat handle, business id) that find them on any channel."""

    def get(self, customer_id: str, *, actor: str) -> Customer | None:
        customer = self.session.get(Customer, customer_id)
        if customer is not None:
            self.audit.record(actor, "read", "customer", customer.id, customer.id)
        return customer

    def find_by_identity(self, kind: str, value: str, *, actor: str, region: str | None = None) -> Customer | None:
        """Find the customer with this email, phone (E.164, or national with ``region``), chat or business id."""
        normalised = self._normalise_identity(kind, value, region)
        customer = self.session.scalars(
            select(Customer)
            .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
            .where(CustomerIdentity.kind == kind, CustomerIdentity.value == normalised)
        ).first()
        if customer is not None:
            self.audit.record(actor, "read", "customer", customer.id, customer.id, {"found_by": kind})
        return customer

    def identities(self, customer_id: str) -> list[CustomerIdentity]:
        """The customer's identities (call after an audited ``get``)."""
        query = select(CustomerIdentity).where(CustomerIdentity.customer_id == customer_id)
        return list(self.session.scalars(query.order_by(CustomerIdentity.kind, CustomerIdentity.value)))

    def link_identity(
        self, customer_id: str, kind: str, value: str, *, actor: str, region: str | None = None
    ) -> CustomerIdentity:
        """Attach an identity; raises Conflict if it already belongs to another customer."""
        normalised = self._normalise_identity(kind, value, region)
        existing = self.session.scalars(
            select(CustomerIdentity).where(CustomerIdentity.kind == kind, CustomerIdentity.value == normalised)
        ).first()
        if existing is not None:
            if existing.customer_id != customer_id:
                raise Conflict(f"{kind} identity already belongs to another customer")
            return existing
        if self.session.get(Customer, customer_id) is None:
            raise NotFound(f"customer {customer_id} not found")
        identity = CustomerIdentity(customer_id=customer_id, kind=kind, value=normalised)
        self.session.add(identity)
        self.session.flush()
        self.audit.record(actor, "create", "customer_identity", identity.id, customer_id, {"kind": kind})
        return identity

    def upsert_from_record(
        self,
        *,
        actor: str,
        external_id: str,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        region: str | None = None,
    ) -> Customer:
        """Create or refresh the customer mirrored from the business's system of record.

        Matched by business id, then by email, then by phone, and every identity is linked. A malformed
        email or phone in the business's data is skipped with a warning rather than refusing the
        customer: the record was already verified and the conversation must go on.
        """
        if not external_id:
            raise ValueError("upsert_from_record needs the business's customer id")
        clean_email = self._lenient(normalise_email, email, "email")
        clean_phone = self._lenient(lambda text: normalise_phone(text, region), phone, "phone")

        customer = self.session.scalars(select(Customer).where(Customer.external_id == external_id)).first()
        for kind, value in (("email", clean_email), ("phone", clean_phone)):
            if customer is None and value:
                customer = self._owner(kind, value)
                if customer is not None and customer.external_id not in (None, external_id):
                    customer = None  # that identity belongs to a different business customer
        created = customer is None
        if customer is None:
            customer = Customer(external_id=external_id)
            self.session.add(customer)
        changed = [
            field
            for field, value in (("external_id", external_id), ("name", name), ("email", clean_email),
                                 ("phone", clean_phone))
            if value and getattr(customer, field) != value
        ]
        for field in changed:
            setattr(customer, field, {"external_id": external_id, "name": name, "email": clean_email,
                                      "phone": clean_phone}[field])
        self.session.flush()
        for kind, value in (("external", external_id), ("email", clean_email), ("phone", clean_phone)):
            if value:
                self._link_quietly(customer.id, kind, value)
        self.audit.record(actor, "create" if created else "update", "customer", customer.id, customer.id,
                          {"fields": changed, "source": "record"})
        return customer

    def _owner(self, kind: str, value: str) -> Customer | None:
        return self.session.scalars(
            select(Customer)
            .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
            .where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
        ).first()

    def _link_quietly(self, customer_id: str, kind: str, value: str) -> None:
        owner = self.session.scalars(
            select(CustomerIdentity).where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
        ).first()
        if owner is None:
            self.session.add(CustomerIdentity(customer_id=customer_id, kind=kind, value=value))
            self.session.flush()
        elif owner.customer_id != customer_id:
            # Two business customers sharing a phone or email: the first keeps it, nobody is merged.
            log.warning("%s identity shared by two customers; kept on the first", kind)

    @staticmethod
    def _lenient(normalise: Any, value: str | None, name: str) -> str | None:
        if not value:
            return None
        try:
            result: str = normalise(value)
        except ValueError:
            log.warning("ignoring a malformed %s in the customer record", name)
            return None
        return result

    @staticmethod
    def _normalise_identity(kind: str, value: str, region: str | None) -> str:
        check_choice("identity kind", kind, IDENTITY_KINDS)
        if kind == "email":
            return normalise_email(value)
        if kind == "phone":
            return normalise_phone(value, region)
        value = value.strip()
        if not value:
            raise ValueError(f"invalid {kind} identity: empty")
        return value


# --- conversations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewLine:
    """A line to add to a transcript (``ConversationRepository.append_messages``); its text already redacted."""

    role: str
    text: str
    meta: dict[str, Any] | None = None


class ConversationRepository(_Repository):
    """Conversations, their redacted transcript and the engine's saved state.

    ``append_message`` and ``save_state`` are called by the conversation itself; without an explicit
    actor they are audited as ``ai:conversation:<id>``.
    """

    def create(
        self,
        *,
        channel: str,
        actor: str,
        customer_id: str | None = None,
        language: str = "en",
        now: datetime | None = None,
    ) -> Conversation:
        check_choice("channel", channel, CHANNELS)
        moment = _now(now)
        conversation = Conversation(channel=channel, customer_id=customer_id, status="active", started_at=moment,
                                    last_activity_at=moment, language=language, state={}, sentiment=0.0)
        self.session.add(conversation)
        self.session.flush()
        self.audit.record(actor, "create", "conversation", conversation.id, customer_id, {"channel": channel})
        return conversation

    def get(self, conversation_id: str, *, actor: str) -> Conversation | None:
        conversation = self.session.get(Conversation, conversation_id)
        if conversation is not None:
            self.audit.record(actor, "read", "conversation", conversation.id, conversation.customer_id)
        return conversation

    def _require(self, conversation_id: str) -> Conversation:
        conversation = self.session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return conversation

    def append_message(
        self,
        conversation_id: str,
        role: str,
        text: str,
        meta: dict[str, Any] | None = None,
        *,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Message:
        """Add the next line of the transcript. ``text`` must already be redacted."""
        check_choice("message role", role, MESSAGE_ROLES)
        conversation = self._require(conversation_id)
        moment = _now(now)
        message = Message(conversation_id=conversation_id, seq=self.last_seq(conversation_id) + 1, role=role, text=text,
                          created_at=moment, meta=meta or {})
        self.session.add(message)
        conversation.last_activity_at = moment
        self.session.flush()
        self.audit.record(actor or f"ai:conversation:{conversation_id}", "create", "message",
                          f"{conversation_id}:{message.seq}", conversation.customer_id, {"role": role})
        return message

    def append_messages(self, conversation_id: str, lines: Sequence[NewLine], *, actor: str | None = None,
                        now: datetime | None = None) -> list[Message]:
        """Add the next lines of the transcript at once (a turn's message and replies): the last line's number is
        read once and the lines written in one flush, not a query and a flush a line. Texts must be redacted."""
        if not lines:
            return []
        for line in lines:
            check_choice("message role", line.role, MESSAGE_ROLES)
        conversation = self._require(conversation_id)
        moment = _now(now)
        first = self.last_seq(conversation_id) + 1
        messages = [Message(conversation_id=conversation_id, seq=first + n, role=line.role, text=line.text,
                            created_at=moment, meta=line.meta or {}) for n, line in enumerate(lines)]
        self.session.add_all(messages)
        conversation.last_activity_at = moment
        for message in messages:
            self.audit.record(actor or f"ai:conversation:{conversation_id}", "create", "message",
                              f"{conversation_id}:{message.seq}", conversation.customer_id, {"role": message.role})
        self.session.flush()
        return messages

    def last_seq(self, conversation_id: str) -> int:
        """The number of the transcript's last line (0 before the first)."""
        return int(self.session.scalar(select(func.max(Message.seq)).where(
            Message.conversation_id == conversation_id)) or 0)

    def messages(self, conversation_id: str, *, actor: str | None = None) -> list[Message]:
        """The transcript in order. Audited only with an actor: callers normally audited ``get`` already."""
        found = list(self.session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        ))
        if actor is not None:
            conversation = self.session.get(Conversation, conversation_id)
            self.audit.record(actor, "read", "message", conversation_id,
                              conversation.customer_id if conversation else None, {"count": len(found)})
        return found

    def save_state(
        self,
        conversation_id: str,
        *,
        state: dict[str, Any],
        current_procedure: str | None = None,
        sentiment: float | None = None,
        language: str | None = None,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Conversation:
        conversation = self._require(conversation_id)
        # A fresh dict, so SQLAlchemy sees the JSON column change even if the caller mutated in place.
        conversation.state = dict(state)
        conversation.current_procedure = current_procedure
        if sentiment is not None:
            conversation.sentiment = float(sentiment)
        if language is not None:
            conversation.language = language
        conversation.last_activity_at = _now(now)
        self.session.flush()
        self.audit.record(actor or f"ai:conversation:{conversation_id}", "update", "conversation",
                          conversation_id, conversation.customer_id, {"fields": ["state"]})
        return conversation

    def end(self, conversation_id: str, *, actor: str, now: datetime | None = None) -> Conversation:
        """Mark the conversation ended; ending an ended conversation changes nothing."""
        conversation = self._require(conversation_id)
        if conversation.status == "ended":
            return conversation
        moment = _now(now)
        conversation.status = "ended"
        conversation.ended_at = moment
        conversation.last_activity_at = moment
        self.session.flush()
        self.audit.record(actor, "update", "conversation", conversation_id, conversation.customer_id,
                          {"fields": ["status"], "status": "ended"})
        return conversation

    def list_active(self, *, actor: str, channel: str | None = None, limit: int = 100) -> list[Conversation]:
        query = select(Conversation).where(Conversation.status == "active")
        if channel is not None:
            query = query.where(Conversation.channel == check_choice("channel", channel, CHANNELS))
        found = list(self.session.scalars(query.order_by(Conversation.started_at).limit(_limit(limit))))
        self.audit.record(actor, "read", "conversation", "*", None,
                          {"list": "active", "ids": [c.id for c in found]})
        return found


# --- tickets -----------------------------------------------------------------------------------


TICKET_TEXT_FIELDS = ("category", "summary", "resolution", "next_step", "notes")
TICKET_LIST_FIELDS = ("steps_taken", "tags", "flags")
TICKET_UPDATABLE = frozenset(
    (*TICKET_TEXT_FIELDS, *TICKET_LIST_FIELDS, "status", "priority", "channel", "sentiment",
     "handle_time_seconds", "csat", "customer_id", "conversation_id")
)


class TicketRepository(_Repository):
    """Tickets, numbered 1001, 1002, ... so a customer can quote one on the phone."""

    def create(
        self,
        *,
        actor: str,
        channel: str,
        conversation_id: str | None = None,
        customer_id: str | None = None,
        category: str = "general",
        priority: str = "normal",
        summary: str = "",
        status: str = "open",
        steps_taken: Sequence[str] = (),
        tags: Sequence[str] = (),
        flags: Sequence[str] = (),
        next_step: str = "",
        resolution: str = "",
        notes: str = "",
        sentiment: float = 0.0,
        now: datetime | None = None,
    ) -> Ticket:
        check_choice("channel", channel, CHANNELS)
        check_choice("priority", priority, TICKET_PRIORITIES)
        check_choice("ticket status", status, TICKET_STATUSES)
        moment = _now(now)
        for _attempt in range(_NUMBERING_ATTEMPTS):
            number = self._next_number()
            ticket = Ticket(
                number=number, conversation_id=conversation_id, customer_id=customer_id,
                channel=channel, category=category or "general", priority=priority, summary=summary,
                status=status, steps_taken=_str_list("steps_taken", steps_taken), tags=_str_list("tags", tags),
                flags=_str_list("flags", flags), next_step=next_step, resolution=resolution, notes=notes,
                sentiment=float(sentiment), handle_time_seconds=0, created_at=moment, updated_at=moment,
                closed_at=moment if status == "resolved" else None,
            )
            try:
                # A savepoint, so losing the race for a number to a concurrent writer only retries.
                with self.session.begin_nested():
                    self.session.add(ticket)
            except IntegrityError:
                if self.session.scalar(select(func.count()).where(Ticket.number == number)):
                    continue
                raise  # not a numbering race (e.g. an unknown conversation id)
            self.audit.record(actor, "create", "ticket", ticket.id, customer_id,
                              {"number": ticket.number, "channel": channel})
            return ticket
        raise Conflict("could not allocate a ticket number; try again")

    def _next_number(self) -> int:
        if self.session.get_bind().dialect.name == "postgresql":
            # Serialise numbering across writers until this transaction ends; without it, busy
            # servers burn through the retries. (SQLite already serialises writers: BEGIN IMMEDIATE.)
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _TICKET_NUMBER_LOCK})
        highest = self.session.scalar(select(func.max(Ticket.number)))
        return FIRST_TICKET_NUMBER if highest is None else highest + 1

    def get(self, ticket_id: str, *, actor: str) -> Ticket | None:
        ticket = self.session.get(Ticket, ticket_id)
        if ticket is not None:
            self.audit.record(actor, "read", "ticket", ticket.id, ticket.customer_id)
        return ticket

    def get_by_number(self, number: int, *, actor: str) -> Ticket | None:
        ticket = self.session.scalars(select(Ticket).where(Ticket.number == number)).first()
        if ticket is not None:
            self.audit.record(actor, "read", "ticket", ticket.id, ticket.customer_id)
        return ticket

    def update(self, ticket_id: str, *, actor: str, now: datetime | None = None, **fields: Any) -> Ticket:
        """Change the given fields after validating them; resolving sets ``closed_at``, reopening clears it.

        Raises NotFound for an unknown ticket and ValueError for an unknown field or a bad value.
        """
        ticket = self.session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} not found")
        unknown = sorted(set(fields) - TICKET_UPDATABLE)
        if unknown:
            raise ValueError(f"cannot update ticket field(s): {', '.join(unknown)}")
        clean = {name: self._clean(name, value) for name, value in fields.items()}
        changed = {name: value for name, value in clean.items() if getattr(ticket, name) != value}
        if not changed:
            return ticket
        before = {name: getattr(ticket, name) for name in ("status", "priority") if name in changed}
        for name, value in changed.items():
            setattr(ticket, name, value)
        moment = _now(now)
        ticket.updated_at = moment
        if "status" in changed:
            ticket.closed_at = moment if ticket.status == "resolved" else None
        self.session.flush()
        detail: dict[str, Any] = {"fields": sorted(changed)}
        for name, old in before.items():
            detail[name] = [old, changed[name]]
        self.audit.record(actor, "update", "ticket", ticket.id, ticket.customer_id, detail)
        return ticket

    def rate_once(self, ticket_id: str, score: int, *, actor: str, now: datetime | None = None) -> bool:
        """Record the customer's 1-5 rating if the ticket has none yet (one atomic ``UPDATE ... WHERE csat IS
        NULL``, so two racing ratings cannot both land). Returns False when it was already rated."""
        score = self._clean("csat", score)
        if score is None:
            raise ValueError("a rating is a whole number from 1 to 5")
        moment = _now(now)
        result = self.session.execute(
            update(Ticket).where(Ticket.id == ticket_id, Ticket.csat.is_(None))
            .values(csat=score, updated_at=moment).execution_options(synchronize_session=False))
        if not getattr(result, "rowcount", 0):
            return False
        ticket = self.session.get(Ticket, ticket_id)
        if ticket is not None:
            self.session.refresh(ticket)
        self.audit.record(actor, "update", "ticket", ticket_id, ticket.customer_id if ticket else None,
                          {"fields": ["csat"]})
        return True

    @staticmethod
    def _clean(name: str, value: Any) -> Any:
        if name in TICKET_LIST_FIELDS:
            return _str_list(name, value)
        if name in TICKET_TEXT_FIELDS:
            if not isinstance(value, str):
                raise ValueError(f"invalid {name}: expected text")
            if name == "category" and not value.strip():
                raise ValueError("invalid category: empty")
            return value
        if name == "status":
            return check_choice("ticket status", value, TICKET_STATUSES)
        if name == "priority":
            return check_choice("priority", value, TICKET_PRIORITIES)
        if name == "channel":
            return check_choice("channel", value, CHANNELS)
        if name == "sentiment":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError("invalid sentiment: expected a number")
            return float(value)
        if name == "handle_time_seconds":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("invalid handle_time_seconds: expected a whole number of seconds >= 0")
            return value
        if name == "csat":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5):
                raise ValueError(f"invalid csat {value!r}: expected 1 to 5")
            return value
        # customer_id / conversation_id: ids or None
        if value is not None and not isinstance(value, str):
            raise ValueError(f"invalid {name}: expected an id")
        return value

    def _filtered(
        self,
        *,
        status: str | None = None,
        customer_id: str | None = None,
        conversation_id: str | None = None,
        channel: str | None = None,
        category: str | None = None,
        priority: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        q: str | None = None,
    ) -> Select[Ticket]:
        query = select(Ticket)
        if status is not None:
            query = query.where(Ticket.status == check_choice("ticket status", status, TICKET_STATUSES))
        if priority is not None:
            query = query.where(Ticket.priority == check_choice("priority", priority, TICKET_PRIORITIES))
        if channel is not None:
            query = query.where(Ticket.channel == check_choice("channel", channel, CHANNELS))
        if customer_id is not None:
            query = query.where(Ticket.customer_id == customer_id)
        if conversation_id is not None:
            query = query.where(Ticket.conversation_id == conversation_id)
        if category is not None:
            query = query.where(Ticket.category == category)
        if created_from is not None:
            query = query.where(Ticket.created_at >= created_from)
        if created_to is not None:
            query = query.where(Ticket.created_at < created_to)
        if q:
            query = query.where(Ticket.summary.icontains(q.strip(), autoescape=True))
        return query

    def list(
        self,
        *,
        actor: str,
        status: str | None = None,
        customer_id: str | None = None,
        conversation_id: str | None = None,
        channel: str | None = None,
        category: str | None = None,
        priority: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Ticket]:
        """Newest first. ``created_to`` is exclusive; ``q`` searches the summary, case-insensitively."""
        filters: dict[str, Any] = {
            "status": status, "customer_id": customer_id, "conversation_id": conversation_id, "channel": channel,
            "category": category, "priority": priority, "created_from": created_from, "created_to": created_to,
            "q": q,
        }
        query = self._filtered(**filters).order_by(Ticket.created_at.desc(), Ticket.number.desc())
        found = list(self.session.scalars(query.limit(_limit(limit)).offset(max(offset, 0))))
        customers = {t.customer_id for t in found}
        self.audit.record(
            actor, "read", "ticket", found[0].id if len(found) == 1 else "*",
            customer_id or (next(iter(customers)) if len(customers) == 1 else None),
            {"filters": {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in filters.items()
                         if v is not None},
             "numbers": [t.number for t in found]},
        )
        return found

    def merge(self, duplicate_id: str, into_id: str, *, actor: str, now: datetime | None = None) -> Ticket:
        """Fold a duplicate (the same issue, often on another channel) into the ticket kept; returns it."""
        if duplicate_id == into_id:
            raise ValueError("a ticket cannot be merged into itself")
        duplicate, kept = self.session.get(Ticket, duplicate_id), self.session.get(Ticket, into_id)
        if duplicate is None or kept is None:
            raise NotFound("ticket not found")
        if kept.merged_into_id is not None:
            raise Conflict(f"ticket #{kept.number} was itself merged; merge into the ticket it was merged into")
        if duplicate.merged_into_id is not None:
            raise Conflict(f"ticket #{duplicate.number} is already merged")
        moment = _now(now)
        duplicate.merged_into_id = kept.id
        duplicate.status = "resolved"
        duplicate.closed_at = moment
        duplicate.resolution = f"Merged into #{kept.number}"
        duplicate.updated_at = moment
        line = f"Merged #{duplicate.number} ({duplicate.channel}): {duplicate.summary}"
        kept.notes = f"{kept.notes}\n{line}".strip()
        kept.tags = sorted(set(kept.tags) | set(duplicate.tags))
        kept.customer_id = kept.customer_id or duplicate.customer_id
        kept.updated_at = moment
        self.session.flush()
        self.audit.record(actor, "update", "ticket", duplicate.id, duplicate.customer_id,
                          {"merged_into": kept.number})
        self.audit.record(actor, "update", "ticket", kept.id, kept.customer_id, {"merged": duplicate.number})
        return kept

    def merged_into(self, ticket_id: str) -> builtins.list[Ticket]:
        """Tickets folded into this one (call after an audited ``get``)."""
        return list(self.session.scalars(select(Ticket).where(Ticket.merged_into_id == ticket_id)
                                         .order_by(Ticket.number)))

    def count(self, **filters: Any) -> int:
        """How many tickets match the ``list`` filters (a number, not customer data: not audited)."""
        query = self._filtered(**filters)
        return int(self.session.scalar(select(func.count()).select_from(query.subquery())) or 0)


# --- handoffs ----------------------------------------------------------------------------------


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


# --- callbacks ---------------------------------------------------------------------------------


# Dialling a due callback: one node at a time (claim_due), the claim released after the attempt.
CALLBACK_CLAIMS = Claims(Callback, Callback.id, Callback.claimed_by, Callback.claimed_at)


class CallbackRepository(_Repository):
    """Promised callbacks: scheduled -> done | missed | cancelled (a missed one can still be done)."""

    def schedule(
        self,
        *,
        actor: str,
        due_at: datetime,
        reason: str = "",
        ticket_id: str | None = None,
        customer_id: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        region: str | None = None,
        now: datetime | None = None,
    ) -> Callback:
        callback = Callback(
            ticket_id=ticket_id, customer_id=customer_id,
            phone=normalise_phone(phone, region) if phone else None,
            email=normalise_email(email) if email else None,
            due_at=due_at, reason=reason, status="scheduled", created_at=_now(now), outcome="",
        )
        self.session.add(callback)
        self.session.flush()
        self.audit.record(actor, "create", "callback", callback.id, customer_id,
                          {"due_at": callback.due_at.isoformat(), "ticket_id": ticket_id})
        return callback

    def get(self, callback_id: str, *, actor: str) -> Callback | None:
        callback = self.session.get(Callback, callback_id)
        if callback is not None:
            self.audit.record(actor, "read", "callback", callback.id, callback.customer_id)
        return callback

    def due(self, now: datetime, *, actor: str, limit: int = 100) -> list[Callback]:
        """Scheduled callbacks whose time has come, earliest first."""
        query = (select(Callback).where(Callback.status == "scheduled", Callback.due_at <= now)
                 .order_by(Callback.due_at).limit(_limit(limit)))
        found = list(self.session.scalars(query))
        self.audit.record(actor, "read", "callback", "*", None, {"list": "due", "ids": [c.id for c in found]})
        return found

    def claim_due(self, now: datetime, *, node: str, retry_after: timedelta, claim_timeout: timedelta,
                  actor: str, limit: int = 20) -> builtins.list[Callback]:
        """Claim scheduled callbacks that are due (and not tried within ``retry_after``) for ``node`` to
        dial: each is claimed by one conditional UPDATE, so of several nodes (or threads) racing for it
        exactly one wins. A claim older than ``claim_timeout`` belongs to a node that died and is taken
        over. Commit right after, so the other nodes see the claim; ``finish_attempt`` releases it."""
        free = CALLBACK_CLAIMS.free(now, claim_timeout)
        candidates = (
            select(Callback.id).where(
                Callback.status == "scheduled", Callback.due_at <= now, Callback.phone.is_not(None), free,
                or_(Callback.last_attempt_at.is_(None), Callback.last_attempt_at <= now - retry_after))
            .order_by(Callback.due_at).limit(_limit(limit)))
        claimed = CALLBACK_CLAIMS.claim_rows(self.session, candidates, still=(Callback.status == "scheduled") & free,
                                             node=node, now=now)
        for callback in claimed:
            self.audit.record(actor, "update", "callback", callback.id, callback.customer_id,
                              {"claimed_by": holder(node)}, at=now)
        return claimed

    def finish_attempt(self, callback_id: str, *, node: str, now: datetime) -> Callback:
        """Count one dialling attempt (kept across restarts) and release the claim; returns the callback,
        whose ``attempts`` now includes this one."""
        callback = self.session.get(Callback, callback_id)
        if callback is None:
            raise NotFound(f"callback {callback_id} not found")
        callback.attempts = (callback.attempts or 0) + 1
        callback.last_attempt_at = now
        if CALLBACK_CLAIMS.held_by(callback, node):
            CALLBACK_CLAIMS.release(callback)
        self.session.flush()
        return callback

    def list(
        self,
        *,
        actor: str,
        status: str | None = None,
        due_before: datetime | None = None,
        customer_id: str | None = None,
        ticket_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Callback]:
        """Earliest due first."""
        query = select(Callback)
        if status is not None:
            query = query.where(Callback.status == check_choice("callback status", status, CALLBACK_STATUSES))
        if due_before is not None:
            query = query.where(Callback.due_at < due_before)
        if customer_id is not None:
            query = query.where(Callback.customer_id == customer_id)
        if ticket_id is not None:
            query = query.where(Callback.ticket_id == ticket_id)
        query = query.order_by(Callback.due_at, Callback.id).limit(_limit(limit)).offset(max(offset, 0))
        found = list(self.session.scalars(query))
        self.audit.record(actor, "read", "callback", "*", customer_id, {"ids": [c.id for c in found]})
        return found

    def _transition(self, callback_id: str, status: str, actor: str, outcome: str, now: datetime | None,
                    allowed_from: tuple[str, ...]) -> Callback:
        callback = self.session.get(Callback, callback_id)
        if callback is None:
            raise NotFound(f"callback {callback_id} not found")
        if callback.status not in allowed_from:
            raise Conflict(f"callback is {callback.status}; cannot mark it {status}")
        previous = callback.status
        callback.status = status
        callback.completed_at = _now(now)
        if outcome:
            callback.outcome = outcome
        self.session.flush()
        self.audit.record(actor, "update", "callback", callback.id, callback.customer_id,
                          {"status": [previous, status]})
        return callback

    def complete(self, callback_id: str, *, actor: str, outcome: str = "", now: datetime | None = None) -> Callback:
        """Mark done; a missed callback made late still counts as done."""
        return self._transition(callback_id, "done", actor, outcome, now, ("scheduled", "missed"))

    def miss(self, callback_id: str, *, actor: str, outcome: str = "", now: datetime | None = None) -> Callback:
        """Attempts were made and nobody was reached; a person can still call back (then it is done)."""
        return self._transition(callback_id, "missed", actor, outcome, now, ("scheduled",))

    def cancel(self, callback_id: str, *, actor: str, outcome: str = "", now: datetime | None = None) -> Callback:
        return self._transition(callback_id, "cancelled", actor, outcome, now, ("scheduled", "missed"))

    def mark_missed_overdue(self, now: datetime, *, actor: str = "system",
                            grace: timedelta = timedelta(0)) -> builtins.list[Callback]:
        """Mark scheduled callbacks more than ``grace`` past due as missed; returns them."""
        overdue = list(self.session.scalars(
            select(Callback).where(Callback.status == "scheduled", Callback.due_at < now - grace)
            .order_by(Callback.due_at)
        ))
        for callback in overdue:
            callback.status = "missed"
            self.audit.record(actor, "update", "callback", callback.id, callback.customer_id,
                              {"status": ["scheduled", "missed"]}, at=now)
        self.session.flush()
        return overdue


# --- incidents ---------------------------------------------------------------------------------


_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def _scope(scope: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """{attribute: [values]}: plain attribute names, each with at least one value."""
    if not isinstance(scope, Mapping):
        raise ValueError("invalid scope: expected a mapping of attribute to a list of values")
    cleaned: dict[str, list[str]] = {}
    for key, values in scope.items():
        name = str(key).strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,63}", name):
            raise ValueError(f"invalid scope attribute {key!r}: use a record field name like region or postcode")
        items = [v.strip() for v in _str_list(f"scope.{name}", values) if v.strip()]
        if not items:
            raise ValueError(f"scope.{name} needs at least one value")
        cleaned[name] = items
    return cleaned


def _messages(messages: Mapping[str, str]) -> dict[str, str]:
    """{language: message}, ISO 639-1 codes ("es", "pt-BR"), non-empty messages, in the order given."""
    cleaned: dict[str, str] = {}
    for language, said in messages.items():
        if not isinstance(language, str) or not _LANGUAGE_CODE.match(language):
            raise ValueError(f"invalid message language {language!r}: use a code like en, es or pt-BR")
        if not isinstance(said, str) or not said.strip():
            raise ValueError(f"the {language} message is empty")
        cleaned[language] = said.strip()
    return cleaned


class IncidentRepository(_Repository):
    """Declared outages; ``active(at)`` is what the agent tells affected customers about."""

    def declare(
        self,
        *,
        actor: str,
        title: str,
        message: str = "",
        affected: Sequence[str] = (),
        expected_fix: str | None = None,
        started_at: datetime | None = None,
        scope: Mapping[str, Sequence[str]] | None = None,
        kind: str = "outage",
        window_start: datetime | None = None,
        window_end: datetime | None = None,
        messages: Mapping[str, str] | None = None,
    ) -> Incident:
        """Declare an incident. `scope` limits it to customers with these attribute values (empty: everyone);
        planned maintenance needs its window; `messages` gives the message per language (the first is the
        default, and `message` when that is empty)."""
        if not title.strip():
            raise ValueError("an incident needs a title")
        check_choice("incident kind", kind, INCIDENT_KINDS)
        if kind == "planned_maintenance":
            if window_start is None or window_end is None:
                raise ValueError("planned maintenance needs window_start and window_end")
            if window_end <= window_start:
                raise ValueError("the maintenance window must end after it starts")
        elif window_start is not None or window_end is not None:
            raise ValueError("a window is for planned maintenance; an outage starts when it is declared")
        by_language = _messages(messages or {})
        text = message.strip() or next(iter(by_language.values()), "")
        if not text:
            raise ValueError("an incident needs a message")
        incident = Incident(title=title.strip(), message=text, affected=_str_list("affected", affected),
                            expected_fix=expected_fix or None, started_at=_now(started_at), created_by=actor[:200],
                            scope=_scope(scope or {}), kind=kind, window_start=window_start, window_end=window_end,
                            messages=by_language)
        self.session.add(incident)
        self.session.flush()
        self.audit.record(actor, "create", "incident", incident.id, None, {"title": incident.title})
        return incident

    def get(self, incident_id: str) -> Incident | None:
        return self.session.get(Incident, incident_id)

    def end(self, incident_id: str, *, actor: str, at: datetime | None = None) -> Incident:
        """End the incident now (or at ``at``); ending an ended incident changes nothing."""
        incident = self.session.get(Incident, incident_id)
        if incident is None:
            raise NotFound(f"incident {incident_id} not found")
        if incident.ended_at is None:
            incident.ended_at = _now(at)
            self.session.flush()
            self.audit.record(actor, "update", "incident", incident.id, None, {"fields": ["ended_at"]})
        return incident

    def active(self, at: datetime | None = None) -> list[Incident]:
        """Incidents started (declared) at or before ``at`` and not yet ended by then, oldest first; planned
        maintenance is active from its announcement to the end of its window."""
        moment = _now(at)
        query = select(Incident).where(
            Incident.started_at <= moment, or_(Incident.ended_at.is_(None), Incident.ended_at > moment),
            or_(Incident.window_end.is_(None), Incident.window_end > moment),
        )
        return list(self.session.scalars(query.order_by(Incident.started_at, Incident.id)))

    def list(self, *, active_only: bool = True, at: datetime | None = None, limit: int = 100) -> list[Incident]:
        if active_only:
            return self.active(at)[: _limit(limit)]
        query = select(Incident).order_by(Incident.started_at.desc(), Incident.id).limit(_limit(limit))
        return list(self.session.scalars(query))


# --- API keys ----------------------------------------------------------------------------------


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


class ApiKeyRepository(_Repository):
    """API keys: the plaintext is shown once at creation; only its SHA-256 is kept."""

    def create(self, *, role: str, label: str = "", actor: str = "system") -> tuple[str, ApiKey]:
        check_choice("role", role, API_ROLES)
        plaintext = API_KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(prefix=plaintext[:API_KEY_PREFIX_LENGTH], key_hash=hash_api_key(plaintext), role=role,
                     label=label[:200], created_at=utcnow())
        self.session.add(key)
        self.session.flush()
        self.audit.record(actor, "create", "api_key", key.id, None, {"prefix": key.prefix, "role": role})
        return plaintext, key

    def verify(self, plaintext: str) -> ApiKey | None:
        """The live key matching ``plaintext``, or None. Hashes are compared in constant time."""
        if not plaintext.startswith(API_KEY_PREFIX) or len(plaintext) < API_KEY_PREFIX_LENGTH \
                or not plaintext.isascii() or not plaintext.isprintable():
            return None  # (a NUL would make PostgreSQL fail the query)
        wanted = hash_api_key(plaintext)
        candidates = self.session.scalars(
            select(ApiKey).where(ApiKey.prefix == plaintext[:API_KEY_PREFIX_LENGTH], ApiKey.revoked_at.is_(None))
        )
        match = None
        for key in candidates:
            if hmac.compare_digest(key.key_hash, wanted):
                match = key
        return match

    def get(self, key_id: str) -> ApiKey | None:
        return self.session.get(ApiKey, key_id)

    def list(self, *, include_revoked: bool = False) -> list[ApiKey]:
        query = select(ApiKey)
        if not include_revoked:
            query = query.where(ApiKey.revoked_at.is_(None))
        return list(self.session.scalars(query.order_by(ApiKey.created_at, ApiKey.id)))

    def revoke(self, key_id_or_prefix: str, *, actor: str, now: datetime | None = None) -> ApiKey:
        """Revoke by id or by the prefix shown in lists (which must then be unambiguous)."""
        key = self.session.get(ApiKey, key_id_or_prefix)
        if key is None:
            matches = list(self.session.scalars(select(ApiKey).where(ApiKey.prefix == key_id_or_prefix)))
            if len(matches) > 1:
                raise Conflict(f"prefix {key_id_or_prefix} matches several keys; revoke by id")
            key = matches[0] if matches else None
        if key is None:
            raise NotFound(f"API key {key_id_or_prefix} not found")
        if key.revoked_at is None:
            key.revoked_at = _now(now)
            self.session.flush()
            self.audit.record(actor, "update", "api_key", key.id, None, {"revoked": True, "prefix": key.prefix})
        return key


# --- console users and sessions ----------------------------------------------------------------

LOCKOUT_AFTER_FAILURES = 5
LOCKOUT_FOR = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# sip:/sips: name@host[:port][;params] with no spaces or angle brackets, or an extension the PBX routes (digits).
SOFTPHONE = re.compile(r"sips?:[^\s<>@]+@[A-Za-z0-9.\-\[\]:]+(;[^\s<>]*)?|\+?[0-9*#]{2,20}")


class ConsoleUserRepository(_Repository):
    """People who sign in to the console. Hashing is the caller's (helpline.console.security)."""

    def create(self, *, email: str, role: str, password_hash: str, name: str = "",
               actor: str = "system") -> ConsoleUser:
        check_choice("console role", role, CONSOLE_ROLES)
        email = normalise_email(email)
        if self.by_email(email) is not None:
            raise Conflict(f"a console user {email} already exists")
        user = ConsoleUser(email=email, role=role, password_hash=password_hash, name=name[:200] or email,
                           failed_logins=0, created_at=utcnow())
        self.session.add(user)
        self.session.flush()
        self.audit.record(actor, "create", "console_user", user.id, None, {"email": email, "role": role})
        return user

    def set_softphone(self, user: ConsoleUser, address: str | None, actor: str) -> None:
        """The person's own SIP phone (an address or an extension), rung to take calls over; None forgets it."""
        address = (address or "").strip() or None
        if address is not None and not SOFTPHONE.fullmatch(address):
            raise ValueError("a softphone is a SIP address (sip:name@host[:port]) or an extension (digits)")
        before, user.softphone = user.softphone, address
        self.session.flush()
        self.audit.record(actor, "update", "console_user", user.id, None, {"softphone": [before, address]})

    def by_email(self, email: str) -> ConsoleUser | None:
        try:
            email = normalise_email(email)
        except ValueError:
            return None
        return self.session.scalars(select(ConsoleUser).where(ConsoleUser.email == email)).first()

    def get(self, user_id: str) -> ConsoleUser | None:
        return self.session.get(ConsoleUser, user_id)

    def list(self) -> builtins.list[ConsoleUser]:
        return list(self.session.scalars(select(ConsoleUser).order_by(ConsoleUser.email)))

    def is_locked(self, user: ConsoleUser, now: datetime) -> bool:
        return user.locked_until is not None and user.locked_until > now

    def reserve_attempt(self, user_id: str, now: datetime) -> int | None:
        """Count a sign-in attempt *before* its password is checked, in one atomic UPDATE ... RETURNING.

        Concurrent guesses each get their own number, so no more than ``LOCKOUT_AFTER_FAILURES`` of them
        are ever checked before the lock (a read-then-write counter lets dozens through on PostgreSQL).
        Returns the attempt's number since the last success or lock, or None while the account is
        locked. Commit right after, so other requests see the count while this password is verified.
        """
        not_locked = or_(ConsoleUser.locked_until.is_(None), ConsoleUser.locked_until <= now)
        row = self.session.execute(
            update(ConsoleUser).where(ConsoleUser.id == user_id, not_locked)
            .values(failed_logins=ConsoleUser.failed_logins + 1).returning(ConsoleUser.failed_logins)
            .execution_options(synchronize_session=False)
        ).first()
        return None if row is None else int(row[0])

    def attempt_failed(self, user: ConsoleUser, attempt: int | None, now: datetime) -> bool:
        """A reserved attempt had the wrong password (or was refused): lock the account once the attempts
        reach the limit. Returns whether the account is locked now."""
        locked = attempt is None
        if attempt is not None and attempt >= LOCKOUT_AFTER_FAILURES:
            not_locked = or_(ConsoleUser.locked_until.is_(None), ConsoleUser.locked_until <= now)
            self.session.execute(
                update(ConsoleUser).where(ConsoleUser.id == user.id, not_locked)
                .values(locked_until=now + LOCKOUT_FOR, failed_logins=0)
                .execution_options(synchronize_session=False))
            locked = True
        self.audit.record(f"console:{user.email}", "read", "console_login", user.id, None,
                          {"ok": False, "locked": locked})
        return locked

    def login_failed(self, user: ConsoleUser, now: datetime) -> None:
        """Count a failed password; the account locks for a while after too many in a row."""
        self.attempt_failed(user, self.reserve_attempt(user.id, now), now)
        self.session.refresh(user)

    def login_succeeded(self, user: ConsoleUser, *, rehash: str | None = None) -> None:
        self.session.execute(update(ConsoleUser).where(ConsoleUser.id == user.id)
                             .values(failed_logins=0, locked_until=None)
                             .execution_options(synchronize_session=False))
        if rehash:
            user.password_hash = rehash
        self.session.flush()
        self.session.refresh(user)
        self.audit.record(f"console:{user.email}", "read", "console_login", user.id, None, {"ok": True})

    def set_password(self, user: ConsoleUser, password_hash: str, *, actor: str) -> None:
        user.password_hash = password_hash
        user.failed_logins = 0
        user.locked_until = None
        self.session.flush()
        self.audit.record(actor, "update", "console_user", user.id, None, {"fields": ["password"]})

    def disable(self, user: ConsoleUser, *, actor: str, now: datetime | None = None) -> None:
        user.disabled_at = _now(now)
        self.session.execute(text("DELETE FROM console_sessions WHERE user_id = :uid"), {"uid": user.id})
        self.session.flush()
        self.audit.record(actor, "update", "console_user", user.id, None, {"disabled": True})


class ConsoleSessionRepository(_Repository):
    """Server-side console sessions: revocable, expiring, each with its own CSRF token."""

    def create(self, user: ConsoleUser, *, now: datetime | None = None,
               ttl: timedelta = SESSION_TTL) -> tuple[str, ConsoleSession]:
        token = secrets.token_urlsafe(32)
        moment = _now(now)
        record = ConsoleSession(token_hash=_sha256(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                                created_at=moment, expires_at=moment + ttl)
        self.session.add(record)
        self.session.flush()
        return token, record

    def lookup(self, token: str, *, now: datetime | None = None) -> tuple[ConsoleSession, ConsoleUser] | None:
        """The live session and its (enabled) user for a cookie value, or None."""
        if not token:
            return None
        record = self.session.get(ConsoleSession, _sha256(token))
        if record is None or record.expires_at <= _now(now):
            return None
        user = self.session.get(ConsoleUser, record.user_id)
        if user is None or user.disabled_at is not None:
            return None
        return record, user

    def delete(self, token: str) -> None:
        record = self.session.get(ConsoleSession, _sha256(token))
        if record is not None:
            self.session.delete(record)
            self.session.flush()

    def purge_expired(self, now: datetime | None = None) -> None:
        self.session.execute(text("DELETE FROM console_sessions WHERE expires_at <= :now"), {"now": _now(now)})


# --- chat widget -------------------------------------------------------------------------------


WIDGET_KEY_PREFIX = "hlw_"


class WidgetKeyRepository(_Repository):
    """Public per-site widget keys (they sit in the page's HTML, so they grant almost nothing)."""

    def create(self, *, label: str = "", allowed_origins: Sequence[str] = (), actor: str = "system") -> WidgetKey:
        origins = [o.strip().rstrip("/") for o in _str_list("allowed_origins", allowed_origins) if o.strip()]
        key = WidgetKey(public_key=WIDGET_KEY_PREFIX + secrets.token_urlsafe(18), label=label[:200],
                        allowed_origins=origins, created_at=utcnow())
        self.session.add(key)
        self.session.flush()
        self.audit.record(actor, "create", "widget_key", key.id, None, {"label": label, "origins": origins})
        return key

    def verify(self, public_key: str, origin: str | None) -> WidgetKey | None:
        """The live key, if the page's Origin is one it allows (an empty list allows any)."""
        key = self.session.scalars(
            select(WidgetKey).where(WidgetKey.public_key == public_key, WidgetKey.revoked_at.is_(None))
        ).first()
        if key is None:
            return None
        if key.allowed_origins and (origin or "").rstrip("/") not in key.allowed_origins:
            return None
        return key

    def list(self) -> builtins.list[WidgetKey]:
        return list(self.session.scalars(select(WidgetKey).order_by(WidgetKey.created_at)))


class WidgetChatRepository(_Repository):
    """Which browser owns which widget conversation: a random resume token, stored as its SHA-256."""

    def create(self, conversation_id: str, widget_key_id: str) -> str:
        token = secrets.token_urlsafe(24)
        self.session.add(WidgetChat(conversation_id=conversation_id, widget_key_id=widget_key_id,
                                    token_hash=_sha256(token), created_at=utcnow()))
        self.session.flush()
        return token

    def owns(self, conversation_id: str, token: str, widget_key_id: str) -> bool:
        chat = self.session.get(WidgetChat, conversation_id)
        return (chat is not None and chat.widget_key_id == widget_key_id
                and hmac.compare_digest(chat.token_hash, _sha256(token)))
