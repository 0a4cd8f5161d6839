"""The rows of the console's CSV downloads: tickets, conversations, callbacks, QA findings, the outbound queue and
the audit log, read in batches and handed out one at a time so a year of tickets never sits in memory.

Rows are plain values with contact details in clear: masking them for the reader's role, and auditing the
download, are the console's (``console/export.py``). Each generator opens its own plain session when it is first
iterated: a streamed response pulls each chunk on a worker thread in a context of its own, where
``Database.read_session``'s context variable could not be reset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from helpline.application.audit import AuditEntryView
from helpline.qa.score import DISPUTE
from helpline.store.db import Database
from helpline.store.models import AuditEntry, Callback, Conversation, Customer, Message, OutboundMessageRecord, Ticket

BATCH = 500


def _batches(session: Session, query: Executable) -> Iterator[Any]:
    yield from session.execute(query.execution_options(yield_per=BATCH))


def _between(query: Select[Any], column: Any, since: datetime | None, until: datetime | None) -> Select[Any]:
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column < until)
    return query


@dataclass(frozen=True)
class CustomerContact:
    name: str | None
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class TicketRow:
    number: int
    created_at: datetime
    channel: str
    category: str
    priority: str
    status: str
    summary: str
    resolution: str
    next_step: str
    handle_time_seconds: int
    csat: int | None
    nps: int | None
    qa_score: float | None
    customer: CustomerContact
    merged_into: int | None  # the number of the ticket it was merged into


def ticket_rows(db: Database, *, status: str | None = None, priority: str | None = None, channel: str | None = None,
                since: datetime | None = None, until: datetime | None = None, text: str = "") -> Iterator[TicketRow]:
    """Newest first; ``since``/``until`` bound the creation time (``until`` exclusive); ``text`` is searched in
    the summary."""
    query = select(Ticket).order_by(Ticket.number.desc())
    for name, value in (("status", status), ("priority", priority), ("channel", channel)):
        if value is not None:
            query = query.where(getattr(Ticket, name) == value)
    query = _between(query, Ticket.created_at, since, until)
    if text:
        query = query.where(Ticket.summary.icontains(text, autoescape=True))
    merged = Ticket.__table__.alias("merged")
    joined = query.add_columns(Customer.name, Customer.email, Customer.phone, merged.c.number) \
        .outerjoin(Customer, Customer.id == Ticket.customer_id) \
        .outerjoin(merged, merged.c.id == Ticket.merged_into_id)
    with Session(db.engine) as session:
        for t, name, email, phone, merged_number in _batches(session, joined):
            yield TicketRow(t.number, t.created_at, t.channel, t.category, t.priority, t.status, t.summary,
                            t.resolution, t.next_step, t.handle_time_seconds, t.csat, t.nps, t.qa_score,
                            CustomerContact(name, email, phone), merged_number)


@dataclass(frozen=True)
class ConversationRow:
    id: str
    started_at: datetime
    ended_at: datetime | None
    channel: str
    status: str
    ticket_number: int | None
    handled_by: str
    messages: int
    customer: CustomerContact


def conversation_rows(db: Database, *, since: datetime | None = None, until: datetime | None = None,
                      channel: str | None = None) -> Iterator[ConversationRow]:
    """Newest first, bounded by the start time."""
    lines = select(Message.conversation_id, func.count().label("n")).group_by(Message.conversation_id).subquery()
    query = select(Conversation, Ticket.number, Customer.name, Customer.email, Customer.phone, lines.c.n) \
        .outerjoin(Ticket, Ticket.conversation_id == Conversation.id) \
        .outerjoin(Customer, Customer.id == Conversation.customer_id) \
        .outerjoin(lines, lines.c.conversation_id == Conversation.id).order_by(Conversation.started_at.desc())
    query = _between(query, Conversation.started_at, since, until)
    if channel is not None:
        query = query.where(Conversation.channel == channel)
    with Session(db.engine) as session:
        for c, number, name, email, phone, count in _batches(session, query):
            yield ConversationRow(c.id, c.started_at, c.ended_at, c.channel, c.status, number, c.handled_by or "",
                                  count or 0, CustomerContact(name, email, phone))


@dataclass(frozen=True)
class CallbackRow:
    due_at: datetime
    status: str
    ticket_number: int | None
    reason: str
    phone: str | None
    email: str | None
    attempts: int
    completed_at: datetime | None
    outcome: str


def callback_rows(db: Database, *, open_only: bool) -> Iterator[CallbackRow]:
    """Earliest due first; ``open_only``: those still owed (scheduled or missed)."""
    query = select(Callback, Ticket.number).outerjoin(Ticket, Ticket.id == Callback.ticket_id).order_by(Callback.due_at)
    if open_only:
        query = query.where(Callback.status.in_(("scheduled", "missed")))
    with Session(db.engine) as session:
        for c, number in _batches(session, query):
            yield CallbackRow(c.due_at, c.status, number, c.reason, c.phone, c.email, c.attempts, c.completed_at,
                              c.outcome)


@dataclass(frozen=True)
class FindingRow:
    ticket_number: int
    reviewed_at: datetime | None
    score: float | None
    criterion: str
    result: str
    flag: str
    seq: int | None  # the transcript line it cites
    note: str
    disputed_by: str
    dispute_reason: str


def finding_rows(db: Database, *, since: datetime | None = None,
                 until: datetime | None = None) -> Iterator[FindingRow]:
    """Every QA finding of the reviewed tickets created in the period, by ticket number."""
    query = select(Ticket.number, Ticket.qa_reviewed_at, Ticket.qa_score, Ticket.qa_findings) \
        .where(Ticket.qa_findings.is_not(None)).order_by(Ticket.number)
    query = _between(query, Ticket.created_at, since, until)
    with Session(db.engine) as session:
        for number, reviewed_at, score, findings in _batches(session, query):
            for f in findings or []:
                disputed = f.get(DISPUTE) or {}
                yield FindingRow(number, reviewed_at, score, f.get("criterion", ""), f.get("result", ""),
                                 f.get("flag") or "", f.get("seq"), f.get("note", ""), disputed.get("by", ""),
                                 disputed.get("why", ""))


@dataclass(frozen=True)
class OutboundRow:
    created_at: datetime
    channel: str
    purpose: str
    to: str
    status: str
    attempts: int
    sent_at: datetime | None
    ticket_number: int | None
    subject: str
    last_error: str


def outbound_rows(db: Database, *, status: str | None = None) -> Iterator[OutboundRow]:
    """Newest first."""
    query = select(OutboundMessageRecord, Ticket.number).outerjoin(
        Ticket, Ticket.id == OutboundMessageRecord.ticket_id).order_by(OutboundMessageRecord.created_at.desc())
    if status is not None:
        query = query.where(OutboundMessageRecord.status == status)
    with Session(db.engine) as session:
        for m, number in _batches(session, query):
            yield OutboundRow(m.created_at, m.channel, m.purpose, m.to, m.status, m.attempts, m.sent_at, number,
                              m.subject or "", m.last_error)


def audit_rows(db: Database, *, since: datetime | None = None,
               until: datetime | None = None) -> Iterator[AuditEntryView]:
    """Oldest first."""
    query = _between(select(AuditEntry).order_by(AuditEntry.id), AuditEntry.at, since, until)
    with Session(db.engine) as session:
        for (entry,) in _batches(session, query):
            yield AuditEntryView.of(entry)
