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
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from helpline.analytics import kpis
from helpline.analytics.headline import minutes, pct
from helpline.application import audit
from helpline.application import console_exports as exports
from helpline.application.allowed_values import CHANNELS, TICKET_PRIORITIES, TICKET_STATUSES
from helpline.application.audit import AuditEntryView
from helpline.application.business_days import BusinessDays
from helpline.console.auth import Admin, Agent, ConsoleDenied, StaffUser, Supervisor
from helpline.console.dashboard import contacts_of, period_of
from helpline.console.web import day_span, runtime_of
from helpline.outbound.queue import OutboundStatus
from helpline.pack.expressions import mask
from helpline.runtime import Runtime

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


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise ConsoleDenied(400, f"Unknown {what} {value!r}; one of: {', '.join(allowed)}.")
    return value


Rows = Callable[[Viewer], Iterable[Sequence[Any]]]


def _stream(request: Request, user: StaffUser, table: str, filters: dict[str, Any], header: Sequence[str],
            rows: Rows) -> StreamingResponse:
    runtime: Runtime = runtime_of(request)
    viewer = Viewer(user, ZoneInfo(runtime.pack.business.timezone))
    # audited before the first byte, in its own transaction
    audit.record(runtime.db, user.actor, "read", table, "*", None,
                 {"export": "csv", **{k: v for k, v in filters.items() if v}})
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return StreamingResponse(csv_lines(header, rows(viewer)), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{table}-{stamp}.csv"', "Cache-Control": "no-store"})


TICKET_HEADER = ("number", "created", "channel", "category", "priority", "status", "summary", "resolution",
                 "next_step", "handle_time_seconds", "csat", "nps", "qa_score", "customer", "customer_email",
                 "customer_phone", "merged_into")


def _ticket_rows(found: Iterable[exports.TicketRow]) -> Rows:
    def rows(viewer: Viewer) -> Iterator[Sequence[Any]]:
        for t in found:
            yield (t.number, viewer.time(t.created_at), t.channel, t.category, t.priority, t.status, t.summary,
                   t.resolution, t.next_step, t.handle_time_seconds, t.csat, t.nps, t.qa_score,
                   viewer.name(t.customer.name), viewer.contact(t.customer.email, "email"),
                   viewer.contact(t.customer.phone, "phone"), t.merged_into)
    return rows


def _conversation_rows(found: Iterable[exports.ConversationRow]) -> Rows:
    def rows(viewer: Viewer) -> Iterator[Sequence[Any]]:
        for c in found:
            yield (c.id, viewer.time(c.started_at), viewer.time(c.ended_at), c.channel, c.status, c.ticket_number,
                   c.handled_by, c.messages, viewer.name(c.customer.name), viewer.contact(c.customer.email, "email"),
                   viewer.contact(c.customer.phone, "phone"))
    return rows


def _callback_rows(found: Iterable[exports.CallbackRow]) -> Rows:
    def rows(viewer: Viewer) -> Iterator[Sequence[Any]]:
        for c in found:
            # the callbacks page shows agents the number and address to call back: so does its download
            yield (viewer.time(c.due_at), c.status, c.ticket_number, c.reason,
                   viewer.contact(c.phone, "phone", "agent"), viewer.contact(c.email, "email", "agent"), c.attempts,
                   viewer.time(c.completed_at), c.outcome)
    return rows


def _finding_rows(found: Iterable[exports.FindingRow]) -> Rows:
    def rows(viewer: Viewer) -> Iterator[Sequence[Any]]:
        for f in found:
            yield (f.ticket_number, viewer.time(f.reviewed_at), f.score, f.criterion, f.result, f.flag, f.seq, f.note,
                   f.disputed_by, f.dispute_reason)
    return rows


def _outbound_rows(found: Iterable[exports.OutboundRow]) -> Rows:
    def rows(viewer: Viewer) -> Iterator[Sequence[Any]]:
        for m in found:
            yield (viewer.time(m.created_at), m.channel, m.purpose, viewer.contact(m.to, "auto"), m.status,
                   m.attempts, viewer.time(m.sent_at), m.ticket_number, m.subject, m.last_error)
    return rows


def _audit_rows(found: Iterable[AuditEntryView]) -> Rows:
    def rows(viewer: Viewer) -> Iterator[Sequence[Any]]:
        for entry in found:
            yield (entry.id, viewer.time(entry.at), entry.actor, entry.action, entry.entity, entry.entity_id,
                   entry.customer_id or "", entry.detail)
    return rows


def _kpi_rows(contacts: list[kpis.Contact], *, by: str, start: date, end: date, zone: ZoneInfo,
              target: int) -> tuple[Sequence[str], list[Sequence[Any]]]:
    if by == "channel":
        return (("channel", "contacts", "aht", "fcr", "containment", "abandonment", "service_level"),
                [(r.channel, r.contacts, minutes(r.aht_seconds), pct(r.fcr), pct(r.containment), pct(r.abandonment),
                  pct(r.service_level)) for r in kpis.by_channel(contacts, target)])
    days = kpis.by_day(contacts, start, end, target, day_of=BusinessDays(zone).day_of)
    return (("day", "contacts", "fcr", "csat", "service_level", "aht_chat_and_calls", "qa_score"),
            [(d.day, d.contacts, pct(d.fcr), "" if d.csat is None else round(d.csat, 2), pct(d.service_level),
              minutes(d.aht_seconds), "" if d.qa_score is None else round(d.qa_score, 1)) for d in days])


def export_router() -> APIRouter:
    router = APIRouter(prefix="/console/export", include_in_schema=False)

    @router.get("/tickets.csv")
    def tickets(request: Request, user: Agent, status: str = "", priority: str = "", channel: str = "",
                q: str = "", date_from: str = "", date_to: str = "") -> StreamingResponse:
        filters = {"status": _choice(status, TICKET_STATUSES, "status"),
                   "priority": _choice(priority, TICKET_PRIORITIES, "priority"),
                   "channel": _choice(channel, CHANNELS, "channel")}
        since, until = day_span(runtime_of(request), date_from, date_to)
        found = exports.ticket_rows(runtime_of(request).db, **filters, since=since, until=until,
                                    text=q.strip()[:200])
        return _stream(request, user, "ticket", {**filters, "q": q.strip()[:200], "from": date_from, "to": date_to},
                       TICKET_HEADER, _ticket_rows(found))

    @router.get("/conversations.csv")
    def conversations(request: Request, user: Agent, channel: str = "", date_from: str = "",
                      date_to: str = "") -> StreamingResponse:
        chosen = _choice(channel, CHANNELS, "channel")
        since, until = day_span(runtime_of(request), date_from, date_to)
        return _stream(request, user, "conversation", {"channel": chosen, "from": date_from, "to": date_to},
                       ("id", "started", "ended", "channel", "status", "ticket", "handled_by", "messages", "customer",
                        "customer_email", "customer_phone"),
                       _conversation_rows(exports.conversation_rows(
                           runtime_of(request).db, since=since, until=until, channel=chosen)))

    @router.get("/callbacks.csv")
    def callbacks(request: Request, user: Agent, show: str = "open") -> StreamingResponse:
        shown = _choice(show, ("open", "all"), "view") or "open"
        return _stream(request, user, "callback", {"show": shown},
                       ("due", "status", "ticket", "reason", "phone", "email", "attempts", "completed", "outcome"),
                       _callback_rows(exports.callback_rows(runtime_of(request).db, open_only=shown != "all")))

    @router.get("/qa-findings.csv")
    def qa_findings(request: Request, user: Supervisor, date_from: str = "", date_to: str = "") -> StreamingResponse:
        since, until = day_span(runtime_of(request), date_from, date_to)
        return _stream(request, user, "ticket", {"report": "qa-findings", "from": date_from, "to": date_to},
                       ("ticket", "reviewed", "score", "criterion", "result", "flag", "line", "note", "disputed_by",
                        "dispute_reason"),
                       _finding_rows(exports.finding_rows(runtime_of(request).db, since=since, until=until)))

    @router.get("/outbound.csv")
    def outbound(request: Request, user: Supervisor, status: str = "") -> StreamingResponse:
        chosen = _choice(status, tuple(s.value for s in OutboundStatus), "status")
        return _stream(request, user, "outbound_message", {"status": chosen},
                       ("created", "channel", "purpose", "to", "status", "attempts", "sent", "ticket", "subject",
                        "last_error"), _outbound_rows(exports.outbound_rows(runtime_of(request).db, status=chosen)))

    @router.get("/audit.csv")
    def audit(request: Request, user: Admin, date_from: str = "", date_to: str = "") -> StreamingResponse:
        since, until = day_span(runtime_of(request), date_from, date_to)
        return _stream(request, user, "audit_log", {"from": date_from, "to": date_to},
                       ("id", "at", "actor", "action", "entity", "entity_id", "customer_id", "detail"),
                       _audit_rows(exports.audit_rows(runtime_of(request).db, since=since, until=until)))

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
