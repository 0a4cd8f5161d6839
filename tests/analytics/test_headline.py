"""The KPI headline the dashboard and the weekly insight report both show: one computation, AHT of the live
channels only (an email answered over two days is not two days of handling)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpline.analytics.headline import Kpi, headline
from helpline.analytics.kpis import Contact
from helpline.insight.report import period_headline
from helpline.pack.loader import load_pack
from helpline.store.db import Database
from tests.conftest import DEMO
from tests.insight.seeding import add_contact

T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)


def _card(cards: list[Kpi], label: str) -> str:
    return next(k.value for k in cards if k.label == label)


def test_handle_time_counts_chat_and_calls_not_email_or_sms() -> None:
    contacts = [Contact(T0, "chat", "orders", "resolved", False, 120),
                Contact(T0, "phone", "orders", "resolved", False, 240),
                Contact(T0, "email", "orders", "resolved", False, 2 * 86400),
                Contact(T0, "sms", "orders", "resolved", False, 3600)]
    cards = headline(contacts, answer_seconds=20, goal=0.8)
    assert _card(cards, "Average handle time") == "3.0 min"
    assert _card(cards, "Contacts") == "4"


def test_empty_period_shows_dashes_and_says_why_nps_is_empty() -> None:
    cards = headline([], answer_seconds=20, goal=0.8, survey_asks="nps")
    assert _card(cards, "Contacts") == "0"
    assert {k.value for k in cards if k.label != "Contacts"} == {"–"}
    assert "surveys ask NPS" in next(k.note for k in cards if k.label == "NPS")


def test_insight_report_headline_is_the_dashboards(tmp_path: Path) -> None:
    pack = load_pack(DEMO)
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    db.migrate()
    now = datetime.now(UTC)
    with db.session() as session:
        add_contact(session, ["where is my order"], now - timedelta(days=1), channel="chat").handle_time_seconds = 300
        add_contact(session, ["refund please"], now - timedelta(days=2), channel="email").handle_time_seconds = 90000
    with db.session() as session:
        cards, count = period_headline(session, now - timedelta(days=7), now, pack)
    db.dispose()
    assert count == 2
    assert _card(cards, "Average handle time") == "5.0 min"  # the email's day is left out, as on the dashboard
    assert [k.label for k in cards][:3] == ["Contacts", "Containment", "Escalation"]
    assert "Service level" in [k.label for k in cards] and "NPS" in [k.label for k in cards]
