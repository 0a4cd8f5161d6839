"""KPI dashboard: cards, KPIs by channel, trends by day, contacts by hour, QA distribution; SVG charts, a date
range in the business's days, and a CSV link for each table (console/export.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpline.analytics import kpis
from helpline.analytics.headline import headline, minutes, pct
from helpline.application.allowed_values import CHANNELS
from helpline.application.business_days import BusinessDays
from helpline.application.kpi_reports import period_contacts
from helpline.console.auth import Supervisor
from helpline.console.charts import data_table, horizontal_bars, stacked_bars, stacked_days, trend_line
from helpline.console.web import business_days, parse_day, render, runtime_of
from helpline.runtime import Runtime

DEFAULT_DAYS = 14
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    zone: ZoneInfo

    @property
    def days(self) -> BusinessDays:
        return BusinessDays(self.zone)


def period_of(runtime: Runtime, date_from: str, date_to: str) -> Period:
    """The days asked for (default: the last 14 in the business's time zone), at most a year, in order."""
    days = business_days(runtime)
    today = days.today()
    end = parse_day(date_to) or today
    start = parse_day(date_from) or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    if (end - start).days > MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS)
    return Period(start, end, days.zone)


def load_contacts(runtime: Runtime, start: date, end: date, actor: str) -> list[kpis.Contact]:
    """The contacts of the business's days ``start`` to ``end`` (its pack's time zone, as the page and the
    downloads count them), audited as read."""
    return contacts_of(runtime, Period(start, end, business_days(runtime).zone), actor, "dashboard")


def contacts_of(runtime: Runtime, period: Period, actor: str, report: str) -> list[kpis.Contact]:
    """The period's contacts, the read audited as ``actor``'s under the ``report``'s name."""
    return period_contacts(runtime.db, period.start, period.end, period.zone, actor=actor, report=report)


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
                           day_of=period.days.day_of)
        qa_bands = kpis.qa_distribution(contacts)
        reasons = kpis.top_reasons(contacts)
        query = f"date_from={period.start.isoformat()}&date_to={period.end.isoformat()}"
        return render(
            request, "dashboard.html", user, start=period.start, end=period.end,
            cards=headline(contacts, answer_seconds=target, goal=goal,
                           survey_asks=runtime.pack.business.outbound.survey_asks),
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
