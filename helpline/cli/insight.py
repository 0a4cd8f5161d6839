"""`helpline insight report --week`: the weekly insight report (top reasons and trend, spikes, knowledge gaps,
KPIs) as Markdown or CSV on standard output."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

insight_app = typer.Typer(help="Insight: recurring contact reasons, spikes, knowledge gaps.", no_args_is_help=True)
err_console = Console(stderr=True, soft_wrap=True)


class ReportFormat(StrEnum):
    markdown = "markdown"
    csv = "csv"


def _period_end(ending: str | None, timezone: str) -> datetime:
    """The end of the report: now, or the end of the given day in the business's time zone."""
    if not ending:
        return datetime.now(UTC)
    try:
        day = date.fromisoformat(ending)
    except ValueError as exc:
        raise typer.BadParameter(f"not a date: {ending!r} (use YYYY-MM-DD)", param_hint="--ending") from exc
    return datetime.combine(day + timedelta(days=1), time.min, ZoneInfo(timezone)).astimezone(UTC)


@insight_app.command("report")
def report(
    pack: Annotated[Path, typer.Option("--pack", help="Business pack folder.")] = Path("examples/demo"),
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: SQLite in ./var).")] = None,
    week: Annotated[bool, typer.Option("--week", help="The 7 days up to the end (the default period).")] = True,
    days: Annotated[int | None, typer.Option("--days", min=1, max=92, help="Another period length in days.")] = None,
    ending: Annotated[str | None, typer.Option("--ending", help="Last day of the period (YYYY-MM-DD, business "
                                                                "time zone; default: up to now).")] = None,
    output: Annotated[ReportFormat, typer.Option("--format", help="markdown or csv.")] = ReportFormat.markdown,
) -> None:
    """Print the report: KPIs headline, top contact reasons with their trend, spikes and knowledge gaps."""
    from helpline.application.storage import Database, default_url
    from helpline.insight.export import to_csv, to_markdown
    from helpline.insight.gaps import Scorer, knowledge_scorer
    from helpline.insight.report import build_insight
    from helpline.knowledge.articles import load_articles
    from helpline.knowledge.index import KnowledgeIndex
    from helpline.pack.loader import PackInvalid, load_pack
    from helpline.runtime import default_embedder

    try:
        business_pack = load_pack(pack)
    except (PackInvalid, FileNotFoundError) as exc:
        err_console.print(f"[red]Cannot load the pack {pack}: {exc}[/red]")
        raise typer.Exit(2) from exc
    end = _period_end(ending, business_pack.business.timezone)
    embedder = default_embedder()  # as `serve` makes it: the pack's passages come from the disk cache
    scorers: list[Scorer] = []

    def scorer(question: str) -> float:
        """The knowledge base as the agent searches it, built at the first answered question to score again."""
        if not scorers:
            knowledge = KnowledgeIndex(embedder)
            knowledge.build(load_articles(business_pack.knowledge_dir))
            scorers.append(knowledge_scorer(knowledge))
        return scorers[0](question)

    database = Database(db or default_url())
    try:
        database.migrate()
        insight = build_insight(database, business_pack, embedder, end, days=days or 7, actor="cli:insight-report",
                                scorer=scorer)
    finally:
        database.dispose()
    sys.stdout.write(to_csv(insight) if output == ReportFormat.csv else to_markdown(insight))
