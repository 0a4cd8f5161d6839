from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from helpline.analytics import kpis
from helpline.analytics.kpis import Contact
from helpline.console.charts import horizontal_bars, stacked_days

T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)


def _c(days: int = 0, channel: str = "chat", category: str = "orders", status: str = "resolved",
       escalated: bool = False, aht: int = 0, csat: int | None = None, customer: str | None = None) -> Contact:
    return Contact(T0 + timedelta(days=days), channel, category, status, escalated, aht, csat, customer)


def test_rates_and_empty_input() -> None:
    contacts = [_c(), _c(escalated=True), _c(), _c(status="awaiting_callback")]
    assert kpis.escalation_rate(contacts) == 0.25
    assert kpis.containment_rate(contacts) == 0.5  # resolved by the AI: the open callback is not contained
    assert kpis.escalation_rate([]) is None and kpis.average_handle_time([]) is None
    assert kpis.csat([]) == kpis.Csat(None, None, 0)


def test_first_contact_resolution_counts_repeat_contacts_within_the_window() -> None:
    contacts = [_c(0, customer="a"), _c(3, customer="a", status="open"),  # a came back: not FCR
                _c(0, customer="b"), _c(10, customer="b"),                 # b came back after 10 days: both FCR
                _c(0)]                                                     # anonymous: counts as resolved first time
    assert kpis.first_contact_resolution(contacts) == 3 / 4  # of the 4 resolved, only a0 had a repeat


def test_aht_csat_reasons_and_days() -> None:
    contacts = [_c(aht=60, csat=5), _c(aht=180, csat=2, category="returns"), _c(channel="voice", csat=4),
                _c(days=2, category="returns")]
    assert kpis.average_handle_time(contacts) == 120
    assert kpis.csat(contacts) == kpis.Csat(11 / 3, 2 / 3, 3)
    assert kpis.top_reasons(contacts) == [("orders", 2), ("returns", 2)]
    days = kpis.contacts_per_day(contacts, date(2026, 11, 1), date(2026, 11, 4))
    assert list(days) == [date(2026, 11, d) for d in (1, 2, 3, 4)]
    assert days[date(2026, 11, 2)] == {"chat": 2, "voice": 1} and days[date(2026, 11, 1)] == {}


def test_charts_escape_labels() -> None:
    svg = horizontal_bars([("<b>x</b>", 3)], "Reasons")
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    chart = stacked_days({date(2026, 11, 2): {"chat": 2}}, ["chat"], "Per day")
    assert chart.startswith("<svg") and 'role="img"' in chart
