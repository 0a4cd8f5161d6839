"""KPI dashboard with SVG charts and a date-range filter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from helpline.analytics import kpis
from helpline.console.auth import ConsoleDenied, Supervisor
from helpline.console.charts import horizontal_bars, stacked_days
from helpline.console.web import render, runtime_of
from helpline.runtime import Runtime
from helpline.store.models import Handoff, Ticket
from helpline.store.repositories import AuditLog
from helpline.store.validation import CHANNELS

DEFAULT_DAYS = 14


def load_contacts(runtime: Runtime, start: date, end: date, actor: str) -> list[kpis.Contact]:
    since = datetime.combine(start, datetime.min.time(), UTC)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
    with runtime.db.session() as session:
        escalated = set(session.scalars(select(Handoff.ticket_id).where(Handoff.ticket_id.is_not(None))))
        tickets = session.scalars(select(Ticket).where(Ticket.created_at >= since, Ticket.created_at < until,
                                                       Ticket.merged_into_id.is_(None)))
        contacts = [kpis.Contact(created_at=t.created_at, channel=t.channel, category=t.category, status=t.status,
                                 escalated=t.id in escalated or t.status == "escalated",
                                 handle_time_seconds=t.handle_time_seconds, csat=t.csat, customer_id=t.customer_id)
                    for t in tickets]
        # Aggregates only, but computed from tickets: say who looked.
        AuditLog(session).record(actor, "read", "ticket", "*", None,
                                 {"report": "dashboard", "from": start.isoformat(), "to": end.isoformat()})
    return contacts


def average_qa_score(runtime: Runtime, start: date, end: date) -> tuple[float | None, int]:
    """The mean QA score of the contacts created in the period (disputed findings already left out), and how many
    were scored."""
    since = datetime.combine(start, datetime.min.time(), UTC)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
    with runtime.db.session() as session:
        mean, count = session.execute(select(func.avg(Ticket.qa_score), func.count(Ticket.qa_score)).where(
            Ticket.created_at >= since, Ticket.created_at < until, Ticket.merged_into_id.is_(None),
            Ticket.qa_score.is_not(None))).one()
    return (None if mean is None else float(mean)), int(count)


def _day(text: str, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ConsoleDenied(400, f"Not a date: {text!r} (use YYYY-MM-DD).") from exc


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def dashboard_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/dashboard")
    def dashboard(request: Request, user: Supervisor, date_from: str = "", date_to: str = "") -> Response:
        today = datetime.now(UTC).date()
        end = _day(date_to, today)
        start = _day(date_from, end - timedelta(days=DEFAULT_DAYS - 1))
        if start > end:
            start, end = end, start
        if (end - start).days > 366:
            start = end - timedelta(days=366)
        contacts = load_contacts(runtime_of(request), start, end, user.actor)
        per_day = kpis.contacts_per_day(contacts, start, end)
        used = [c for c in CHANNELS if any(c in v for v in per_day.values())]
        score = kpis.csat(contacts)
        aht = kpis.average_handle_time(contacts)
        qa_mean, qa_scored = average_qa_score(runtime_of(request), start, end)
        cards = [
            ("Contacts", str(len(contacts)), ""),
            ("Containment", _pct(kpis.containment_rate(contacts)), "finished by the AI without a person"),
            ("Escalation", _pct(kpis.escalation_rate(contacts)), "handed to a person"),
            ("First-contact resolution", _pct(kpis.first_contact_resolution(contacts)),
             "resolved, no repeat contact within 7 days"),
            ("Average handle time", "–" if aht is None else f"{aht / 60:.1f} min", ""),
            ("CSAT", "–" if score.mean is None else f"{score.mean:.1f} / 5",
             f"{_pct(score.satisfied_share)} satisfied · {score.responses} ratings"),
            ("QA score", "–" if qa_mean is None else f"{qa_mean:.0f} / 100",
             f"average of {qa_scored} reviewed contacts"),
        ]
        return render(request, "dashboard.html", user, cards=cards, start=start, end=end,
                      per_day=stacked_days(per_day, used, "Contacts per day by channel"),
                      reasons=horizontal_bars(kpis.top_reasons(contacts), "Top contact reasons"))

    return router
