"""Helpline's own records: customers, conversations, tickets, handoffs, callbacks, incidents, audit, keys.

Portable across SQLite (the offline default) and PostgreSQL: string UUID keys, ``sqlalchemy.JSON``
columns and timestamps that always come back timezone-aware UTC. Enum-like columns are plain strings
checked by ``@validates`` so a bad value fails where it is set, with the field named.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from helpline.store.validation import (
    API_ROLES,
    AUDIT_ACTIONS,
    CALLBACK_STATUSES,
    CHANNELS,
    CONSOLE_ROLES,
    CONVERSATION_STATUSES,
    IDENTITY_KINDS,
    MESSAGE_ROLES,
    OUTBOUND_STATUSES,
    TEAM_QUESTION_STATUSES,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    check_choice,
    normalise_email,
    normalise_phone,
)

# Deterministic constraint names keep migrations and models comparable on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite keeps no offset, so values are converted to UTC on the way in and tagged UTC on the way
    out; a naive value from a caller is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _id_column() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_id)


def _created_column() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = _id_column()
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = _created_column()

    @validates("email")
    def _check_email(self, _key: str, value: str | None) -> str | None:
        return normalise_email(value) if value else None

    @validates("phone")
    def _check_phone(self, _key: str, value: str | None) -> str | None:
        # No region here: by the time a number reaches the model it must already be international.
        return normalise_phone(value) if value else None


class CustomerIdentity(Base):
    """One way of recognising a customer (email, phone, chat handle, business id) on any channel."""

    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[str] = _id_column()
    customer_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    value: Mapped[str] = mapped_column(String(320), nullable=False)

    @validates("kind")
    def _check_kind(self, _key: str, value: str) -> str:
        return check_choice("identity kind", value, IDENTITY_KINDS)


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = _id_column()
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    customer_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="active", index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    language: Mapped[str] = mapped_column(String(16), nullable=False, default="en")
    state: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    current_procedure: Mapped[str | None] = mapped_column(String(200))
    sentiment: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    # The console user talking in place of the AI (take over / accepted handoff); None = the AI answers.
    handled_by: Mapped[str | None] = mapped_column(String(200))

    @validates("channel")
    def _check_channel(self, _key: str, value: str) -> str:
        return check_choice("channel", value, CHANNELS)

    @validates("status")
    def _check_status(self, _key: str, value: str) -> str:
        return check_choice("conversation status", value, CONVERSATION_STATUSES)


class Message(Base):
    """One line of the transcript; ``text`` is already redacted by the caller."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created_column()
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)

    @validates("role")
    def _check_role(self, _key: str, value: str) -> str:
        return check_choice("message role", value, MESSAGE_ROLES)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_created_at", "status", "created_at"),
                      Index("ix_tickets_qa_reviewed_at", "qa_reviewed_at"))

    id: Mapped[str] = _id_column()
    number: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    conversation_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    category: Mapped[str] = mapped_column(String(100), nullable=False, default="general")
    priority: Mapped[str] = mapped_column(String(20), nullable=False, default="normal")
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    steps_taken: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    resolution: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    next_step: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    sentiment: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    handle_time_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    flags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    csat: Mapped[int | None] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)  # a survey's 0-10 "would you recommend us" answer
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = _created_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A duplicate merged into another ticket (same customer, another channel) points at the one kept.
    merged_into_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    # Automatic QA (helpline/qa/): the score (0-100), the findings with any supervisor's dispute, when scored;
    # a worker claims a ticket (conditional UPDATE) while scoring it so several workers never score one twice.
    qa_score: Mapped[float | None] = mapped_column(Float)
    qa_findings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    qa_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    qa_claimed_by: Mapped[str | None] = mapped_column(String(100))
    qa_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @validates("channel")
    def _check_channel(self, _key: str, value: str) -> str:
        return check_choice("channel", value, CHANNELS)

    @validates("priority")
    def _check_priority(self, _key: str, value: str) -> str:
        return check_choice("priority", value, TICKET_PRIORITIES)

    @validates("status")
    def _check_status(self, _key: str, value: str) -> str:
        return check_choice("ticket status", value, TICKET_STATUSES)

    @validates("csat")
    def _check_csat(self, _key: str, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 5:
            raise ValueError(f"invalid csat {value!r}: expected 1 to 5")
        return value


class Handoff(Base):
    """The summary a human receives on escalation, so the customer never repeats themselves."""

    __tablename__ = "handoffs"

    id: Mapped[str] = _id_column()
    ticket_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    tier: Mapped[str] = mapped_column(String(100), nullable=False)
    customer_summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    issue: Mapped[str] = mapped_column(Text, nullable=False, default="")
    steps_tried: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    customer_wants: Mapped[str] = mapped_column(Text, nullable=False, default="")
    mood: Mapped[str] = mapped_column(Text, nullable=False, default="")
    urgency: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = _created_column()
    accepted_by: Mapped[str | None] = mapped_column(String(200))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Callback(Base):
    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_status_due_at", "status", "due_at"),)

    id: Mapped[str] = _id_column()
    ticket_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="scheduled")
    created_at: Mapped[datetime] = _created_column()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Dialling: one node at a time claims a due callback (CallbackRepository.claim_due); the attempts
    # survive a restart. A claim older than the claim timeout is a node that died: it is taken again.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @validates("status")
    def _check_status(self, _key: str, value: str) -> str:
        return check_choice("callback status", value, CALLBACK_STATUSES)

    @validates("email")
    def _check_email(self, _key: str, value: str | None) -> str | None:
        return normalise_email(value) if value else None

    @validates("phone")
    def _check_phone(self, _key: str, value: str | None) -> str | None:
        return normalise_phone(value) if value else None


class ContactOptOut(Base):
    """Whether an address may be sent to, per channel: SMS STOP / START, an email unsubscribe. Every sender asks
    (``outbound.ports.ContactPreferences``); the row is kept when a customer opts back in, with the word used."""

    __tablename__ = "contact_opt_outs"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)  # email | sms
    address: Mapped[str] = mapped_column(String(320), nullable=False)  # E.164 phone or lower-case email
    status: Mapped[str] = mapped_column(String(12), nullable=False)  # opted_out | opted_in
    keyword: Mapped[str] = mapped_column(String(40), nullable=False, default="")  # "STOP", "unsubscribe link"
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    @validates("status")
    def _check_status(self, _key: str, value: str) -> str:
        return check_choice("opt-out status", value, ("opted_out", "opted_in"))


class SmsThread(Base):
    """The conversation a phone number's texts continue while it is open (one per number)."""

    __tablename__ = "sms_threads"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class SmsDelivery(Base):
    """One text Helpline sent or refused to send, and what the provider's status callbacks said of it."""

    __tablename__ = "sms_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # the provider's message sid
    to: Mapped[str] = mapped_column(String(32), nullable=False)
    purpose: Mapped[str] = mapped_column(String(40), nullable=False)
    conversation_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    ticket_number: Mapped[int | None] = mapped_column(Integer)
    # accepted (by the provider), queued, sent, delivered, undelivered, failed, blocked (opted out), rejected
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    error_code: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    segments: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    encoding: Mapped[str] = mapped_column(String(8), nullable=False, default="GSM-7")
    created_at: Mapped[datetime] = _created_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


INCIDENT_KINDS = ("outage", "planned_maintenance")  # conversation/incidents.py IncidentKind


class Incident(Base):
    """A known outage or problem the agent mentions on every affected contact."""

    __tablename__ = "incidents"

    id: Mapped[str] = _id_column()
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    affected: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)  # empty = everyone
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    expected_fix: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200), nullable=False, default="system")
    # who it concerns: customer/record attribute -> allowed values ({"region": ["Millbrook"]}); empty = everyone
    scope: Mapped[dict[str, list[str]]] = mapped_column(JSON, nullable=False, default=dict)
    kind: Mapped[str] = mapped_column(String(30), nullable=False, default="outage")  # outage | planned_maintenance
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime())  # planned maintenance: when it happens
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    messages: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)  # language -> message

    @validates("kind")
    def _check_kind(self, _key: str, value: str) -> str:
        return check_choice("incident kind", value, INCIDENT_KINDS)


class OutboundMessageRecord(Base):
    """One message Helpline sends on its own (recap, apology, survey, outage notice, reminder): the durable
    send queue of ``outbound/queue.py``. Claimed by one node at a time like callbacks; ``dedupe_key`` makes
    enqueueing the same message twice (two nodes planning at once, a retried plan) a no-op."""

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[str] = _id_column()
    channel: Mapped[str] = mapped_column(String(10), nullable=False)  # email | sms (outbound/ports.py)
    to: Mapped[str] = mapped_column(String(320), nullable=False, default="")  # "" = no address (cancelled)
    purpose: Mapped[str] = mapped_column(String(40), nullable=False)
    subject: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    provider_id: Mapped[str | None] = mapped_column(String(300))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    conversation_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    ticket_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("tickets.id", ondelete="SET NULL"),
                                                  index=True)
    customer_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = _created_column()
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @validates("status")
    def _check_status(self, _key: str, value: str) -> str:
        return check_choice("outbound message status", value, OUTBOUND_STATUSES)


class TeamQuestion(Base):
    """A question the agent asked the team instead of handing off (helpline/team/): the customer keeps being
    served; a colleague's answer is relayed into the conversation, or a callback is offered after the pack's wait."""

    __tablename__ = "team_questions"
    __table_args__ = (Index("ix_team_questions_status_asked_at", "status", "asked_at"),)

    id: Mapped[str] = _id_column()
    conversation_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("conversations.id", ondelete="SET NULL"), index=True)
    ticket_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("tickets.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text, nullable=False)  # redacted, as the customer asked it
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(320))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @validates("status")
    def _check_status(self, _key: str, value: str) -> str:
        return check_choice("team question status", value, TEAM_QUESTION_STATUSES)


class TeamNotice(Base):
    """One message for the team chats (a question, a hand-off), kept until the webhooks took it: posting is a
    durable job claimed by one node at a time, like callbacks."""

    __tablename__ = "team_notices"
    __table_args__ = (Index("ix_team_notices_pending", "posted_at", "next_attempt_at"),)

    id: Mapped[str] = _id_column()
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # question | handoff
    # the team question or handoff it is about: the text is written when posting, masked per the pack's rules
    ref_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[datetime] = _created_column()
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")


class AuditEntry(Base):
    """Who read or changed which customer data, when. No foreign keys: the log outlives erasure."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(10), nullable=False)
    entity: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    entity_id: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    customer_id: Mapped[str | None] = mapped_column(String(36), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)

    @validates("action")
    def _check_action(self, _key: str, value: str) -> str:
        return check_choice("audit action", value, AUDIT_ACTIONS)


class ApiKey(Base):
    """An API key; only its SHA-256 is stored, the prefix lets people tell keys apart in lists."""

    __tablename__ = "api_keys"

    id: Mapped[str] = _id_column()
    prefix: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[datetime] = _created_column()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @validates("role")
    def _check_role(self, _key: str, value: str) -> str:
        return check_choice("role", value, API_ROLES)


class ConsoleUser(Base):
    """A person who signs in to the web console; only an argon2 hash of the password is kept."""

    __tablename__ = "console_users"

    id: Mapped[str] = _id_column()
    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    softphone: Mapped[str | None] = mapped_column(String(300))  # their own SIP phone: rung to take calls over
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created_column()
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @validates("role")
    def _check_role(self, _key: str, value: str) -> str:
        return check_choice("console role", value, CONSOLE_ROLES)

    @validates("email")
    def _check_email(self, _key: str, value: str) -> str:
        return normalise_email(value)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored (the key)."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = _created_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)


class WidgetKey(Base):
    """A public per-site key for the chat widget: it may only start and continue its own chats."""

    __tablename__ = "widget_keys"

    id: Mapped[str] = _id_column()
    public_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    label: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)  # empty = any
    created_at: Mapped[datetime] = _created_column()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WidgetChat(Base):
    """Binds a widget conversation to the browser that started it (SHA-256 of its resume token)."""

    __tablename__ = "widget_chats"

    conversation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    widget_key_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("widget_keys.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = _created_column()


class VerificationAttempt(Base):
    """Identity-verification attempts counted against one key (a customer record or a client) across
    conversations and server processes. Only a SHA-256 of the key is kept, never the details or the
    factor guessed. Rows idle for longer than the longest lockout are pruned."""

    __tablename__ = "verification_attempts"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # "record" or a client kind ("ip", ...)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # in the window, running ones too
    lockouts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # so far: each next one doubles
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)


class VerificationFailure(Base):
    """One failed verification attempt, by record and client (SHA-256 of each), kept for the alert window:
    "one client failing on many records" and "one record failed on by many clients"."""

    __tablename__ = "verification_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    record_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    client_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)


class EmailRecord(Base):
    """One email in a conversation's thread, inbound or outbound (channels/email). Threading reads the
    Message-IDs here (References / In-Reply-To), then the sender and subject; a bounce finds the reply it
    reports on. ``source_seq`` is the transcript line a person's console reply was sent for: unique per
    conversation, so with several nodes on one bus a reply is emailed once."""

    __tablename__ = "email_messages"
    __table_args__ = (
        UniqueConstraint("direction", "message_id"),
        UniqueConstraint("conversation_id", "source_seq"),
        Index("ix_email_messages_address_created_at", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    direction: Mapped[str] = mapped_column(String(3), nullable=False)  # "in" | "out"
    message_id: Mapped[str] = mapped_column(String(500), nullable=False, index=True)
    address: Mapped[str] = mapped_column(String(320), nullable=False)  # the customer's (sender or recipient)
    subject: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="received")
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    source_seq: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created_column()

    @validates("direction")
    def _check_direction(self, _key: str, value: str) -> str:
        return check_choice("email direction", value, ("in", "out"))

    @validates("status")
    def _check_status(self, _key: str, value: str) -> str:
        return check_choice("email status", value, ("received", "sending", "sent", "failed", "bounced"))


class IdempotencyRecord(Base):
    """An ``Idempotency-Key`` an API caller sent with a request that changes something, and the answer it got
    (IETF draft-ietf-httpapi-idempotency-key-header): a retry with the same key and request is given the stored
    answer instead of running again. Scoped to the API key that sent it; kept until ``expires_at``."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(36), primary_key=True)  # the sending API key's id
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)  # SHA-256 of method, path and body
    state: Mapped[str] = mapped_column(String(10), nullable=False)  # "running" | "done"
    # running: the node answering it holds it until then; past it, that node is taken to have died
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[list[list[str]] | None] = mapped_column(JSON)
    response_body: Mapped[str | None] = mapped_column(Text)  # UTF-8 JSON: searchable when a customer is erased
    created_at: Mapped[datetime] = _created_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)

    @validates("state")
    def _check_state(self, _key: str, value: str) -> str:
        return check_choice("idempotency key state", value, ("running", "done"))
