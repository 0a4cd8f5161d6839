"""`helpline pack ...`: validate, schema, docs, test, new, from-tau-retail."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

pack_app = typer.Typer(help="Business packs: validate, test, scaffold, schema and reference.", no_args_is_help=True)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DOCS_FILE = Path("docs/business-pack.md")
EXIT_FAILED = 1
EXIT_UNUSABLE = 2  # the pack (or its tests) did not validate, or there are no tests


def _print_errors(errors: list[object]) -> None:
    for error in errors:
        err_console.print(f"[red]{error}[/red]", highlight=False)
    err_console.print(f"{len(errors)} error(s)")


@pack_app.command("validate")
def pack_validate(directory: Path) -> None:
    """Check a pack; print every error as FILE:LINE: message."""
    from helpline.pack.loader import PackInvalid, load_pack

    try:
        pack = load_pack(directory)
    except PackInvalid as exc:
        _print_errors(list(exc.errors))
        raise typer.Exit(EXIT_FAILED) from exc
    console.print(
        f"[green]{pack.business.name}: valid[/green] ({len(pack.procedures)} procedures, "
        f"{len(pack.operations.operations)} operations, "
        f"{len(list(pack.knowledge_dir.glob('*.md')))} articles)"
    )


@pack_app.command("schema")
def pack_schema_command() -> None:
    """Print the JSON Schema of the pack files."""
    from helpline.pack.schema import pack_schema

    typer.echo(json.dumps(pack_schema(), indent=2))


@pack_app.command("docs")
def pack_docs(
    file: Annotated[Path, typer.Option("--file", help="The document holding the reference.")] = DOCS_FILE,
    check: Annotated[bool, typer.Option("--check", help="Only say whether it is up to date (exit 1 if not).")] = False,
) -> None:
    """Regenerate the reference part of docs/business-pack.md from the pack models and expression language."""
    from helpline.pack.reference import generate_reference, with_reference

    current = file.read_text(encoding="utf-8") if file.exists() else ""
    updated = with_reference(current, generate_reference())
    if check:
        if updated != current:
            err_console.print(f"[red]{file}: the reference is out of date (helpline pack docs)[/red]")
            raise typer.Exit(EXIT_FAILED)
        console.print(f"{file}: the reference is up to date")
        return
    file.write_text(updated, encoding="utf-8")
    console.print(f"Wrote the reference into {file}")


@pack_app.command("test")
def pack_test(
    directory: Path,
    only: Annotated[str | None, typer.Option("--only", help="Run the conversations whose file name contains this.")]
    = None,
) -> None:
    """Run the pack's example conversations (DIR/tests/*.yaml) against a throwaway database."""
    from helpline.cli.pack_runner import PackTestRunner
    from helpline.pack.conversation_tests import TESTS_FOLDER, load_conversation_tests
    from helpline.pack.loader import PackInvalid, load_pack

    try:
        pack = load_pack(directory)
        tests = load_conversation_tests(pack)
    except PackInvalid as exc:
        _print_errors(list(exc.errors))
        raise typer.Exit(EXIT_UNUSABLE) from exc
    tests = [(file, test) for file, test in tests if only is None or only in file]
    if not tests:
        err_console.print(f"[red]No conversations in {directory / TESTS_FOLDER}/*.yaml[/red]")
        raise typer.Exit(EXIT_UNUSABLE)
    with tempfile.TemporaryDirectory(prefix="helpline-pack-test-") as workdir:
        runner = PackTestRunner(pack, Path(workdir))
        with console.status("Training the pack's models…"):
            runner.prepare()
        outcomes = []
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("Conversations", total=len(tests))
            for outcome in runner.run_all(tests):
                outcomes.append(outcome)
                progress.advance(task)
    table = Table(title=f"{pack.business.name}: example conversations", title_justify="left")
    table.add_column("conversation")
    table.add_column("file")
    table.add_column("result")
    table.add_column("turns", justify="right")
    table.add_column("time", justify="right")
    for outcome in outcomes:
        table.add_row(outcome.name, outcome.file, "[green]pass[/green]" if outcome.passed else "[red]FAIL[/red]",
                      str(outcome.turns), f"{outcome.seconds:.1f}s")
    console.print(table)
    failed = [outcome for outcome in outcomes if not outcome.passed]
    for outcome in failed:
        console.print(f"\n[bold red]{outcome.name}[/bold red] ({outcome.file})", highlight=False)
        for problem in outcome.problems:
            console.print(f"  {problem}", highlight=False)
    console.print(f"\n{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(EXIT_FAILED)


@pack_app.command("new")
def pack_new(
    directory: Path,
    defaults: Annotated[bool, typer.Option("--defaults", help="Ask nothing: a small working pack to edit.")] = False,
) -> None:
    """Scaffold a new pack: name, timezone, hours, teams, verification and a first procedure."""
    from helpline.cli.pack_new import ask_answers, default_answers, write_pack

    if directory.exists() and any(directory.iterdir()):
        err_console.print(f"[red]{directory} is not empty: choose a new folder[/red]")
        raise typer.Exit(EXIT_UNUSABLE)
    answers = default_answers() if defaults else ask_answers(console)
    written = write_pack(directory, answers)
    console.print(f"[green]Wrote {len(written)} files to {directory}[/green]")
    console.print(f"  Check it:      helpline pack validate {directory}")
    console.print(f"  Try it:        helpline pack test {directory}")
    console.print(f"  Talk to it:    helpline chat --pack {directory}")


@pack_app.command("from-tau-retail")
def pack_from_tau_retail(
    dataset_dir: Path,
    out_dir: Path,
    backend_url: Annotated[str, typer.Option("--backend-url", help="The store backend, e.g. http://127.0.0.1:8765")],
) -> None:
    """Copy examples/tau-retail for one store backend: knowledge from the dataset's policy.md, .env with the URL."""
    from helpline.packs.tau_retail import generate

    try:
        generate(dataset_dir, out_dir, backend_url)
    except (OSError, ValueError) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_FAILED) from exc
    console.print(f"Wrote the tau-retail pack to {out_dir}; check it with: helpline pack validate {out_dir}")
