"""`helpline qa run`: score the ended contacts not yet scored (the worker does the same every minute)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

qa_app = typer.Typer(help="Automatic quality assurance of contacts.", no_args_is_help=True)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError as exc:
        raise typer.BadParameter(f"not a date: {text!r} (use YYYY-MM-DD)", param_hint="--since") from exc


@qa_app.command("run")
def qa_run(
    pack: Annotated[Path, typer.Option("--pack", help="Business pack folder.")] = Path("examples/demo"),
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: SQLite in ./var).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only contacts ended on or after this day "
                                                               "(YYYY-MM-DD).")] = None,
) -> None:
    """Score every ended contact not yet scored; print how many and their average score."""
    from helpline.application.storage import Database, default_url
    from helpline.application.ticket_desk import average_qa_score
    from helpline.pack.loader import PackInvalid, load_pack
    from helpline.qa.review import QaReviewer
    from helpline.qa.rubric import RubricError

    start = _since(since)
    try:
        business_pack = load_pack(pack)
        database = Database(db or default_url())
    except (PackInvalid, FileNotFoundError) as exc:
        err_console.print(f"[red]Cannot load the pack {pack}: {exc}[/red]")
        raise typer.Exit(2) from exc
    try:
        database.migrate()
        reviewer = QaReviewer.for_pack(database, business_pack, node="cli")
        scored = skipped = 0
        while True:  # batch by batch until nothing is left
            report = reviewer.run_once(since=start)
            scored, skipped = scored + report.scored, skipped + report.skipped
            if not report.scored and not report.skipped:
                break
        average = average_qa_score(database)
    except RubricError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        database.dispose()
    console.print(f"QA: {scored} contacts scored, {skipped} without a transcript; "
                  f"average score {'–' if average is None else f'{average:.1f}'}.")
