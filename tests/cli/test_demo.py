"""`helpline demo seed`: real conversations on several channels, spread over the days and hours asked for."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from helpline.cli.demo import Clock, seed_demo
from helpline.cli.main import app
from helpline.runtime import build_runtime
from helpline.store.db import SQLITE_SYNCHRONOUS_ENV
from helpline.store.models import Conversation, Message, Ticket
from tests.conftest import DEMO, DemoModels


def test_a_few_days_of_contacts_on_three_channels(demo_models: DemoModels, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SQLITE_SYNCHRONOUS_ENV, "normal")  # as the command does: no fsync per turn
    clock = Clock()
    runtime = build_runtime(DEMO, db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                            records_url=f"sqlite:///{tmp_path / 'records.db'}", models=demo_models.models,
                            clock=clock)
    try:
        report = seed_demo(runtime, clock, days=3, per_day=6, seed=3, end=date(2026, 11, 19))
        zone = ZoneInfo("America/Chicago")
        with runtime.db.session() as session:
            conversations = session.scalars(select(Conversation)).all()
            tickets = session.scalars(select(Ticket)).all()
            customer_lines = session.scalar(select(func.count()).where(Message.role == "customer"))
    finally:
        runtime.db.dispose()
    assert report.contacts == len(conversations) >= 10
    assert len({c.channel for c in conversations}) >= 3
    days = {c.started_at.replace(tzinfo=UTC).astimezone(zone).date() for c in conversations}
    assert days <= {date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 19)} and len(days) >= 2
    assert len({c.started_at.replace(tzinfo=UTC).astimezone(zone).hour for c in conversations}) >= 4
    assert all(c.status == "ended" for c in conversations)  # every scripted customer left
    assert customer_lines and customer_lines >= 2 * len(conversations) - report.escalated
    # handle times are the simulated ones (seconds on the phone, hours by email), not the test's few milliseconds
    assert max(t.handle_time_seconds for t in tickets) > 600
    assert all(t.created_at.replace(tzinfo=UTC) < datetime(2026, 11, 21, tzinfo=UTC) for t in tickets)
    # the survey answers are what the demo pack's survey asks (CSAT 1-5, then NPS 0-10)
    assert runtime.pack.business.outbound.survey_asks == "both"
    assert sum(t.csat is not None for t in tickets) == report.surveys > 0
    assert sum(t.nps is not None for t in tickets) == report.nps_answers > 0
    assert all(0 <= t.nps <= 10 for t in tickets if t.nps is not None)


def test_the_command_is_registered() -> None:
    result = CliRunner().invoke(app, ["demo", "seed", "--help"])
    assert result.exit_code == 0 and "--days" in result.output
    bad = CliRunner().invoke(app, ["demo", "seed", "--end", "yesterday"])
    assert bad.exit_code != 0
