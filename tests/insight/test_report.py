"""The weekly report over a seeded database: top reasons with their trend and channels, a burst flagged as a spike,
KPIs headline; `helpline insight report --week` prints it as Markdown and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from helpline.cli.main import app
from helpline.insight.export import to_csv, to_markdown
from helpline.insight.report import build_insight
from helpline.store.db import Database
from tests.conftest import DEMO, DemoModels
from tests.insight.seeding import add_contact

PARCEL = ["my parcel hasn't turned up yet", "still no sign of my delivery", "where's my package? it's late"]
CHECKOUT = ["the payment page errors when I try to buy", "can't finish paying on your site, it throws an error",
            "checkout is broken, card page fails"]


def seed(db: Database, now: datetime) -> None:
    with db.session() as session:
        for day in range(21):  # one late parcel a day for three weeks, by chat and email
            add_contact(session, ["hello", PARCEL[day % 3]], now - timedelta(days=day, hours=7),
                        channel="email" if day % 2 else "chat")
        for i in range(8):  # then the checkout breaks: eight contacts in the last four hours
            add_contact(session, [CHECKOUT[i % 3] + ("" if i < 3 else f" (try {i})")],
                        now - timedelta(minutes=30 * i + 5), channel="chat")
        add_contact(session, ["do you roast the beans yourselves"], now - timedelta(days=2),
                    kb_gap=["do you roast the beans yourselves"])


def test_weekly_insight_reasons_trend_and_spike(demo_models: DemoModels, tmp_path: Path) -> None:
    assert demo_models.models.embedder is not None
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    db.migrate()
    now = datetime.now(UTC)
    seed(db, now)
    insight = build_insight(db, demo_models.pack, demo_models.models.embedder, now)
    db.dispose()

    checkout, parcel = insight.reasons[:2]
    assert checkout.count == 8 and checkout.previous == 0 and checkout.trend == "new"
    assert checkout.channels == {"chat": 8}
    assert checkout.spike is not None and checkout.spike.count == 8
    assert parcel.count == 7 and parcel.previous == 7 and parcel.spike is None
    assert set(parcel.channels) == {"chat", "email"}
    assert sum(parcel.per_day) == 7
    assert [r.label for r in insight.spiking] == [checkout.label]
    assert insight.spiked == []  # spiking now, not earlier in the week
    assert insight.kpis[0].value == str(insight.contacts)
    assert [g.title for g in insight.gaps] == ["do you roast the beans yourselves"]

    markdown = to_markdown(insight)
    assert "## Top contact reasons" in markdown and checkout.label in markdown and "p = " in markdown
    rows = list(csv.DictReader(io.StringIO(to_csv(insight))))
    assert {"kpi", "reason", "spike", "knowledge_gap"} <= {r["section"] for r in rows}


def test_cli_report_prints_markdown_and_csv(demo_models: DemoModels, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    db = Database(url)
    db.migrate()
    seed(db, datetime.now(UTC))
    db.dispose()
    runner = CliRunner()
    result = runner.invoke(app, ["insight", "report", "--week", "--pack", str(DEMO), "--db", url])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Weekly insight") and "## Knowledge gaps" in result.output
    as_csv = runner.invoke(app, ["insight", "report", "--week", "--format", "csv", "--pack", str(DEMO), "--db", url])
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.output.splitlines()[0] == "section,label,value,previous,detail"
    bad = runner.invoke(app, ["insight", "report", "--ending", "last tuesday", "--pack", str(DEMO), "--db", url])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
