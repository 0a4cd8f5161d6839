"""KPI dashboard: cards, KPIs by channel, trends by day, contacts by hour, QA distribution; SVG charts, a date
range in the business's days, and a CSV link for each table (console/export.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpline.analytics import kpis
from helpline.analytics.contacts import load_contacts as load_period
from helpline.console.auth import ConsoleDenied, Supervisor
from helpline.console.charts import data_table, horizontal_bars, stacked_bars, stacked_days, trend_line
from helpline.console.web import render, runtime_of
from helpline.runtime import Runtime
from helpline.store.repositories import AuditLog
from helpline.store.validation import CHANNELS

DEFAULT_DAYS = 14
MAX_DAYS = 366
EARLIEST, LATEST = date(1970, 1, 1), date(9000, 12, 31)


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    zone: ZoneInfo


def business_zone(runtime: Runtime) -> ZoneInfo:
    return ZoneInfo(runtime.pack.business.timezone)


def _day(text: str, default: date) -> date:
    if not text:
        return default
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ConsoleDenied(400, f"Not a date: {text!r} (use YYYY-MM-DD).") from exc
    if not EARLIEST <= day <= LATEST:  # repeats are looked for a week either side: keep clear of date.min/max
        raise ConsoleDenied(400, f"{text} is out of range ({EARLIEST.year}–{LATEST.year}).")
    return day


def period_of(runtime: Runtime, date_from: str, date_to: str) -> Period:
    """The days asked for (default: the last 14 in the business's time zone), at most a year, in order."""
    zone = business_zone(runtime)
    today = datetime.now(UTC).astimezone(zone).date()
    end = _day(date_to, today)
    start = _day(date_from, end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        start, end = end, start
    if (end - start).days > MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS)
    return Period(start, end, zone)


def load_contacts(runtime: Runtime, start: date, end: date, actor: str) -> list[kpis.Contact]:
    """The contacts of the UTC days ``start`` to ``end``, as the dashboard counts them (audited as read)."""
    return contacts_of(runtime, Period(start, end, ZoneInfo("UTC")), actor, "dashboard")


def contacts_of(runtime: Runtime, period: Period, actor: str, report: str) -> list[kpis.Contact]:
    with runtime.db.session() as session:
        contacts = load_period(session, period.start, period.end, period.zone)
        # Aggregates only, but computed from tickets and transcripts: say who looked.
        AuditLog(session).record(actor, "read", "ticket", "*", None,
                                 {"report": report, "from": period.start.isoformat(), "to": period.end.isoformat()})
    return contacts


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f} min"


NO_NPS_ANSWERS = {
    "csat": "no 0–10 answers: the surveys ask CSAT 1–5 (outbound.survey_asks in business.yaml)",
    "nps": "no 0–10 answers yet: the surveys ask NPS 0–10",
    "both": "no 0–10 answers yet: the surveys ask CSAT 1–5, then NPS 0–10",
}


def _cards(contacts: list[kpis.Contact], target: int, goal: float, survey_asks: str = "csat") -> list[
        tuple[str, str, str]]:
    score = kpis.csat(contacts)
    nps, nps_answers = kpis.net_promoter_score(contacts)
    qa = [c.qa_score for c in contacts if c.qa_score is not None]
    calls = sum(1 for c in contacts if c.channel in kpis.CALL_CHANNELS)
    return [
        ("Contacts", str(len(contacts)), ""),
        ("Containment", pct(kpis.containment_rate(contacts)), "finished by the AI without a person, and solved"),
        ("Escalation", pct(kpis.escalation_rate(contacts)), "handed to a person"),
        ("First-contact resolution", pct(kpis.first_contact_resolution(contacts)),
         "resolved and solved: no repeat within 7 days, no 'still broken', no negative survey"),
        ("Service level", pct(kpis.service_level(contacts, target)),
         f"of {calls} calls answered within {target} s (goal {goal * 100:.0f}%)"),
        ("Abandonment", pct(kpis.abandonment_rate(contacts)), "left before an answer or while waiting for a person"),
        ("Average handle time", minutes(kpis.average_handle_time(contacts, kpis.LIVE_CHANNELS)),
         "chat and calls; email and SMS by channel below"),
        ("CSAT", "–" if score.mean is None else f"{score.mean:.1f} / 5",
         f"{pct(score.satisfied_share)} satisfied · {score.responses} ratings"),
        ("NPS", "–" if nps is None else f"{nps:+.0f}", f"{nps_answers} answer{'' if nps_answers == 1 else 's'}"
         if nps_answers else NO_NPS_ANSWERS.get(survey_asks, NO_NPS_ANSWERS["csat"])),
        ("QA score", "–" if not qa else f"{sum(qa) / len(qa):.0f} / 100", f"average of {len(qa)} reviewed contacts"),
    ]


def _trend_charts(days: list[kpis.DayRow], goal: float) -> list[str]:
    def share(v: float) -> str:
        return f"{v * 100:.0f}%"

    charts = [
        trend_line([(d.day, d.fcr) for d in days], "First-contact resolution by day", share, y_max=1.0),
        trend_line([(d.day, d.csat) for d in days], "CSAT by day (1–5)", lambda v: f"{v:.1f}", y_max=5.0),
        trend_line([(d.day, d.service_level) for d in days], "Service level by day (calls)", share, y_max=1.0,
                   goal=goal),
        trend_line([(d.day, d.aht_seconds) for d in days], "Average handle time by day (chat, calls)",
                   lambda v: f"{v / 60:.1f}m"),
        trend_line([(d.day, d.qa_score) for d in days], "QA score by day", lambda v: f"{v:.0f}", y_max=100.0),
    ]
    table = data_table("KPIs by day", ["Day", "Contacts", "FCR", "CSAT", "Service level", "AHT (chat, calls)", "QA"],
                       [(d.day.isoformat(), d.contacts, pct(d.fcr), "–" if d.csat is None else f"{d.csat:.1f}",
                         pct(d.service_level), minutes(d.aht_seconds),
                         "–" if d.qa_score is None else f"{d.qa_score:.0f}") for d in days])
    return [*charts, table]


def dashboard_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/dashboard")
    def dashboard(request: Request, user: Supervisor, date_from: str = "", date_to: str = "") -> Response:
        runtime = runtime_of(request)
        period = period_of(runtime, date_from, date_to)
        contacts = contacts_of(runtime, period, user.actor, "dashboard")
        level = runtime.pack.business.service_level
        target, goal = level.answer_seconds, level.goal
        per_day = kpis.contacts_per_day([_local(c, period.zone) for c in contacts], period.start, period.end)
        used = [c for c in CHANNELS if any(c in v for v in per_day.values())]
        hours = kpis.contacts_per_hour(contacts, lambda moment: moment.astimezone(period.zone).hour)
        days = kpis.by_day(contacts, period.start, period.end, target,
                           day_of=lambda moment: moment.astimezone(period.zone).date())
        qa_bands = kpis.qa_distribution(contacts)
        reasons = kpis.top_reasons(contacts)
        query = f"date_from={period.start.isoformat()}&date_to={period.end.isoformat()}"
        return render(
            request, "dashboard.html", user, start=period.start, end=period.end,
            cards=_cards(contacts, target, goal, runtime.pack.business.outbound.survey_asks),
            query=query, channel_rows=kpis.by_channel(contacts, target), pct=pct, minutes=minutes,
            rules=kpis.RULES, zone=period.zone.key,
            per_day=stacked_days(per_day, used, "Contacts per day by channel") + data_table(
                "Contacts per day", ["Day", *used], [(d.isoformat(), *(v.get(c, 0) for c in used))
                                                     for d, v in per_day.items()]),
            per_hour=stacked_bars({f"{h:02d}": v for h, v in hours.items()}, used,
                                  f"Contacts by hour of day ({period.zone.key}) and channel",
                                  f"{len(contacts)} contacts by the hour they started, stacked by channel.",
                                  every=3) + data_table(
                "Contacts by hour", ["Hour", *used], [(f"{h:02d}:00", *(v.get(c, 0) for c in used))
                                                      for h, v in hours.items()]),
            trends=_trend_charts(days, goal),
            qa=horizontal_bars(qa_bands, "QA score distribution (contacts per 10-point band)")
            + data_table("QA scores", ["Score", "Contacts"], qa_bands),
            reasons=horizontal_bars(reasons, "Top contact reasons")
            + data_table("Contact reasons", ["Reason", "Contacts"], reasons))

    return router


def _local(contact: kpis.Contact, zone: ZoneInfo) -> kpis.Contact:
    """The contact with its start in the business's time zone (per-day counts use the local day)."""
    return replace(contact, created_at=contact.created_at.astimezone(zone))
