"""CSV downloads of the console's tables: ``/console/export/<table>.csv``.

Each table asks the role its page asks (tickets, conversations and callbacks: agent; KPIs, QA findings and the
outbound queue: supervisor; the audit log: admin). Contact details are shown in clear only to the roles that see
them in clear on the page (the callbacks page shows agents the number to ring; the ticket and conversation lists
mask the customer's details for agents), masked otherwise (``j•••@example.com``, ``•••• 1234``). Rows are read
in batches and streamed, so a year of tickets never sits in memory. A cell that a spreadsheet would read as a
formula (starting with = + - @, a tab or a carriage return) is prefixed with a quote (OWASP's CSV injection
advice). Every download is written to the audit log with who, which table and which filters.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from helpline.analytics import kpis
from helpline.analytics.headline import minutes, pct
from helpline.console.auth import Admin, Agent, ConsoleDenied, StaffUser, Supervisor
from helpline.console.dashboard import contacts_of, period_of
from helpline.console.web import parse_day, runtime_of
from helpline.outbound.queue import OutboundStatus
from helpline.pack.expressions import mask
from helpline.qa.score import DISPUTE
from helpline.runtime import Runtime
from helpline.store.models import (
    AuditEntry,
    Callback,
    Conversation,
    Customer,
    Message,
    OutboundMessageRecord,
    Ticket,
)
from helpline.store.repositories import AuditLog
from helpline.store.validation import CHANNELS, TICKET_PRIORITIES, TICKET_STATUSES

BATCH = 500
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CLEAR_CONTACT_ROLE = "supervisor"  # ticket and conversation lists: agents see a customer's details masked


def safe_cell(value: Any) -> str | int | float:
    """A cell as written: numbers as numbers, text guarded against being run as a spreadsheet formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = value.isoformat() if isinstance(value, datetime | date) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header, then one CSV line a row (RFC 4180 quoting, CRLF), as they are produced."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        if buffer.tell() > 16_384:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@dataclass(frozen=True)
class Viewer:
    """Who downloads, and what that lets them see in clear."""

    user: StaffUser
    zone: ZoneInfo

    def contact(self, value: str | None, kind: str, clear_for: str = CLEAR_CONTACT_ROLE) -> str:
        if not value:
            return ""
        return value if self.user.can(clear_for) else mask(value, kind)

    def name(self, value: str | None, clear_for: str = CLEAR_CONTACT_ROLE) -> str:
        """A name masked to its initials ('S. R.') for a role that does not see it in clear."""
        if not value:
            return ""
        return value if self.user.can(clear_for) else " ".join(f"{part[:1]}." for part in value.split())

    def time(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone).isoformat(timespec="seconds")


def _batches(session: Session, query: Executable) -> Iterator[Any]:
    yield from session.execute(query.execution_options(yield_per=BATCH))


def _day_bounds(text: str, *, end: bool = False) -> datetime | None:
    """The UTC midnight starting the day named (``end``: the one after it, so the day is included)."""
    day = parse_day(text)
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1) if end else day, datetime.min.time(), UTC)


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise ConsoleDenied(400, f"Unknown {what} {value!r}; one of: {', '.join(allowed)}.")
    return value


Rows = Callable[[Session, Viewer], Iterable[Sequence[Any]]]


def _stream(request: Request, user: StaffUser, table: str, filters: dict[str, Any], header: Sequence[str],
            rows: Rows) -> StreamingResponse:
    runtime: Runtime = runtime_of(request)
    viewer = Viewer(user, ZoneInfo(runtime.pack.business.timezone))
    with runtime.db.session() as session:  # audited before the first byte, in its own transaction
        AuditLog(session).record(user.actor, "read", table, "*", None,
                                 {"export": "csv", **{k: v for k, v in filters.items() if v}})

    def body() -> Iterator[str]:
        # A plain session, not Database.read_session: the response pulls each chunk on a worker thread in a
        # context of its own, and read_session's context variable must be reset in the context that set it.
        with Session(runtime.db.engine) as session:
            yield from csv_lines(header, rows(session, viewer))

    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{table}-{stamp}.csv"', "Cache-Control": "no-store"})


TICKET_HEADER = ("number", "created", "channel", "category", "priority", "status", "summary", "resolution",
                 "next_step", "handle_time_seconds", "csat", "nps", "qa_score", "customer", "customer_email",
                 "customer_phone", "merged_into")


def _ticket_rows(query: Select[Any]) -> Rows:
    def rows(session: Session, viewer: Viewer) -> Iterator[Sequence[Any]]:
        merged = Ticket.__table__.alias("merged")
        joined = query.add_columns(Customer.name, Customer.email, Customer.phone, merged.c.number) \
            .outerjoin(Customer, Customer.id == Ticket.customer_id) \
            .outerjoin(merged, merged.c.id == Ticket.merged_into_id)
        for t, name, email, phone, merged_number in _batches(session, joined):
            yield (t.number, viewer.time(t.created_at), t.channel, t.category, t.priority, t.status, t.summary,
                   t.resolution, t.next_step, t.handle_time_seconds, t.csat, t.nps, t.qa_score, viewer.name(name),
                   viewer.contact(email, "email"), viewer.contact(phone, "phone"), merged_number)
    return rows


def _conversation_rows(since: datetime | None, until: datetime | None, channel: str | None) -> Rows:
    def rows(session: Session, viewer: Viewer) -> Iterator[Sequence[Any]]:
        lines = select(Message.conversation_id, func.count().label("n")).group_by(Message.conversation_id).subquery()
        query = select(Conversation, Ticket.number, Customer.name, Customer.email, Customer.phone, lines.c.n) \
            .outerjoin(Ticket, Ticket.conversation_id == Conversation.id) \
            .outerjoin(Customer, Customer.id == Conversation.customer_id) \
            .outerjoin(lines, lines.c.conversation_id == Conversation.id).order_by(Conversation.started_at.desc())
        if since is not None:
            query = query.where(Conversation.started_at >= since)
        if until is not None:
            query = query.where(Conversation.started_at < until)
        if channel is not None:
            query = query.where(Conversation.channel == channel)
        for c, number, name, email, phone, count in _batches(session, query):
            yield (c.id, viewer.time(c.started_at), viewer.time(c.ended_at), c.channel, c.status, number,
                   c.handled_by or "", count or 0, viewer.name(name), viewer.contact(email, "email"),
                   viewer.contact(phone, "phone"))
    return rows


def _callback_rows(show: str) -> Rows:
    def rows(session: Session, viewer: Viewer) -> Iterator[Sequence[Any]]:
        query = select(Callback, Ticket.number).outerjoin(Ticket, Ticket.id == Callback.ticket_id) \
            .order_by(Callback.due_at)
        if show != "all":
            query = query.where(Callback.status.in_(("scheduled", "missed")))
        for c, number in _batches(session, query):
            # the callbacks page shows agents the number and address to call back: so does its download
            yield (viewer.time(c.due_at), c.status, number, c.reason, viewer.contact(c.phone, "phone", "agent"),
                   viewer.contact(c.email, "email", "agent"), c.attempts, viewer.time(c.completed_at), c.outcome)
    return rows


def _finding_rows(since: datetime | None, until: datetime | None) -> Rows:
    def rows(session: Session, viewer: Viewer) -> Iterator[Sequence[Any]]:
        query = select(Ticket.number, Ticket.qa_reviewed_at, Ticket.qa_score, Ticket.qa_findings) \
            .where(Ticket.qa_findings.is_not(None)).order_by(Ticket.number)
        if since is not None:
            query = query.where(Ticket.created_at >= since)
        if until is not None:
            query = query.where(Ticket.created_at < until)
        for number, reviewed_at, score, findings in _batches(session, query):
            for f in findings or []:
                disputed = f.get(DISPUTE) or {}
                yield (number, viewer.time(reviewed_at), score, f.get("criterion", ""), f.get("result", ""),
                       f.get("flag") or "", f.get("seq"), f.get("note", ""), disputed.get("by", ""),
                       disputed.get("why", ""))
    return rows


def _outbound_rows(status: str | None) -> Rows:
    def rows(session: Session, viewer: Viewer) -> Iterator[Sequence[Any]]:
        query = select(OutboundMessageRecord, Ticket.number).outerjoin(
            Ticket, Ticket.id == OutboundMessageRecord.ticket_id).order_by(OutboundMessageRecord.created_at.desc())
        if status is not None:
            query = query.where(OutboundMessageRecord.status == status)
        for m, number in _batches(session, query):
            yield (viewer.time(m.created_at), m.channel, m.purpose, viewer.contact(m.to, "auto"), m.status,
                   m.attempts, viewer.time(m.sent_at), number, m.subject or "", m.last_error)
    return rows


def _audit_rows(since: datetime | None, until: datetime | None) -> Rows:
    def rows(session: Session, viewer: Viewer) -> Iterator[Sequence[Any]]:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at < until)
        for (entry,) in _batches(session, query):
            yield (entry.id, viewer.time(entry.at), entry.actor, entry.action, entry.entity, entry.entity_id,
                   entry.customer_id or "", entry.detail)
    return rows


def _kpi_rows(contacts: list[kpis.Contact], *, by: str, start: date, end: date, zone: ZoneInfo,
              target: int) -> tuple[Sequence[str], list[Sequence[Any]]]:
    if by == "channel":
        return (("channel", "contacts", "aht", "fcr", "containment", "abandonment", "service_level"),
                [(r.channel, r.contacts, minutes(r.aht_seconds), pct(r.fcr), pct(r.containment), pct(r.abandonment),
                  pct(r.service_level)) for r in kpis.by_channel(contacts, target)])
    days = kpis.by_day(contacts, start, end, target, day_of=lambda moment: moment.astimezone(zone).date())
    return (("day", "contacts", "fcr", "csat", "service_level", "aht_chat_and_calls", "qa_score"),
            [(d.day, d.contacts, pct(d.fcr), "" if d.csat is None else round(d.csat, 2), pct(d.service_level),
              minutes(d.aht_seconds), "" if d.qa_score is None else round(d.qa_score, 1)) for d in days])


def export_router() -> APIRouter:
    router = APIRouter(prefix="/console/export", include_in_schema=False)

    @router.get("/tickets.csv")
    def tickets(request: Request, user: Agent, status: str = "", priority: str = "", channel: str = "",
                q: str = "", date_from: str = "", date_to: str = "") -> StreamingResponse:
        query = select(Ticket).order_by(Ticket.number.desc())
        filters = {"status": _choice(status, TICKET_STATUSES, "status"),
                   "priority": _choice(priority, TICKET_PRIORITIES, "priority"),
                   "channel": _choice(channel, CHANNELS, "channel")}
        for name, value in filters.items():
            if value is not None:
                query = query.where(getattr(Ticket, name) == value)
        since, until = _day_bounds(date_from), _day_bounds(date_to, end=True)
        if since is not None:
            query = query.where(Ticket.created_at >= since)
        if until is not None:
            query = query.where(Ticket.created_at < until)
        if q.strip():
            query = query.where(Ticket.summary.icontains(q.strip()[:200], autoescape=True))
        return _stream(request, user, "ticket", {**filters, "q": q.strip()[:200], "from": date_from, "to": date_to},
                       TICKET_HEADER, _ticket_rows(query))

    @router.get("/conversations.csv")
    def conversations(request: Request, user: Agent, channel: str = "", date_from: str = "",
                      date_to: str = "") -> StreamingResponse:
        chosen = _choice(channel, CHANNELS, "channel")
        return _stream(request, user, "conversation", {"channel": chosen, "from": date_from, "to": date_to},
                       ("id", "started", "ended", "channel", "status", "ticket", "handled_by", "messages", "customer",
                        "customer_email", "customer_phone"),
                       _conversation_rows(_day_bounds(date_from), _day_bounds(date_to, end=True), chosen))

    @router.get("/callbacks.csv")
    def callbacks(request: Request, user: Agent, show: str = "open") -> StreamingResponse:
        shown = _choice(show, ("open", "all"), "view") or "open"
        return _stream(request, user, "callback", {"show": shown},
                       ("due", "status", "ticket", "reason", "phone", "email", "attempts", "completed", "outcome"),
                       _callback_rows(shown))

    @router.get("/qa-findings.csv")
    def qa_findings(request: Request, user: Supervisor, date_from: str = "", date_to: str = "") -> StreamingResponse:
        return _stream(request, user, "ticket", {"report": "qa-findings", "from": date_from, "to": date_to},
                       ("ticket", "reviewed", "score", "criterion", "result", "flag", "line", "note", "disputed_by",
                        "dispute_reason"),
                       _finding_rows(_day_bounds(date_from), _day_bounds(date_to, end=True)))

    @router.get("/outbound.csv")
    def outbound(request: Request, user: Supervisor, status: str = "") -> StreamingResponse:
        chosen = _choice(status, tuple(s.value for s in OutboundStatus), "status")
        return _stream(request, user, "outbound_message", {"status": chosen},
                       ("created", "channel", "purpose", "to", "status", "attempts", "sent", "ticket", "subject",
                        "last_error"), _outbound_rows(chosen))

    @router.get("/audit.csv")
    def audit(request: Request, user: Admin, date_from: str = "", date_to: str = "") -> StreamingResponse:
        return _stream(request, user, "audit_log", {"from": date_from, "to": date_to},
                       ("id", "at", "actor", "action", "entity", "entity_id", "customer_id", "detail"),
                       _audit_rows(_day_bounds(date_from), _day_bounds(date_to, end=True)))

    @router.get("/kpis-by-{by}.csv")
    def kpi_table(request: Request, user: Supervisor, by: str, date_from: str = "",
                  date_to: str = "") -> StreamingResponse:
        if by not in ("day", "channel"):
            raise ConsoleDenied(404, f"No KPI table by {by!r}: by day or by channel.")
        runtime = runtime_of(request)
        period = period_of(runtime, date_from, date_to)
        contacts = contacts_of(runtime, period, user.actor, f"kpis-by-{by}-csv")
        header, table = _kpi_rows(contacts, by=by, start=period.start, end=period.end, zone=period.zone,
                                  target=runtime.pack.business.service_level.answer_seconds)
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        return StreamingResponse(csv_lines(header, table), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="kpis-by-{by}-{stamp}.csv"', "Cache-Control": "no-store"})

    return router
