"""Paraphrase suite on the demo pack: does understanding turn fresh wordings into the right commands?

Run: .venv/bin/python -m bench.paraphrases --part dev|heldout|both [--no-doc] [--limit N]

Builds the demo runtime as the tests do (temporary SQLite database and business records), builds a
ConversationState for each case's context, calls ``runtime.engine.interpret(state, text)`` and scores the
Interpretation's commands (bench/paraphrases/suite.py says how). Prints accuracy per part, per expected
command kind and per context, and the dev failures; held-out failures are counted, never shown. Writes
the figures into docs/benchmarks.md, section "Paraphrase suite (demo pack)", unless --no-doc.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.paraphrases.split import Part, part_of, select
from bench.paraphrases.suite import SUITE, Case, Context, Produced, Scorer, Verdict, load_cases, produced, validate
from bench.report import write_section
from helpline.conversation.state import ConversationState, ProcedureRun
from helpline.pack.loader import BusinessPack, load_pack

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # the demo data is dated relative to Friday 2026-11-20
SECTION = "paraphrases"
CUSTOMER_ID = "C-1030"  # Julia Campbell: the verified customer in mid-conversation contexts

# Values of the slots a procedure already holds when the agent asks for a later one or for confirmation.
DEFAULT_SLOTS: dict[str, dict[str, Any]] = {
    "cancel_order": {"order_id": "BB-10166", "reason": "no longer needed"},
    "order_status": {"order_id": "BB-10154"},
    "return_item": {"order_id": "BB-10130", "product": "Single Origin beans", "reason": "changed my mind"},
    "exchange_item": {"order_id": "BB-10130", "product": "Travel Mug", "new_option": "black"},
    "change_order_address": {"order_id": "BB-10171", "new_address": "1200 Commerce St, Dallas, TX 75207"},
    "change_default_address": {"address_line": "410 W 6th St", "city": "Austin", "state": "TX", "zip": "78701"},
    "update_contact_details": {"detail": "phone number", "new_phone": "+15125550198"},
    "request_callback": {"topic": "my kettle won't turn on", "phone": "+12145550136"},
    "machine_wont_power_on": {"machine": "Espresso One"},
    "explain_charge": {"descriptor": "BRIGHTBEAN*SUBSCR", "amount": "24.00"},
    "app_error_code": {"code": "E201"},
    "login_troubleshooting": {"symptom": "it says wrong password"},
}
ANYTHING_ELSE = "Is there anything else I can help with?"
VERIFY = "Before I look into that, could you tell me the email address on your account, or your full name and ZIP code?"
CONFIRM = "Just to confirm, shall I go ahead with that?"


@dataclass(frozen=True)
class Result:
    case: Case
    part: str
    verdict: Verdict
    commands: tuple[Produced, ...]
    seconds: float
    intent_ok: bool  # passes when only the intent is scored (Scorer(lenient=True))


# --- states ------------------------------------------------------------------------------------------------


def demo_customer(customer_id: str = CUSTOMER_ID) -> dict[str, Any]:
    with (DEMO / "data" / "customers.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["id"] == customer_id:
                return dict(row)
    raise KeyError(customer_id)


def filled_slots(pack: BusinessPack, context: Context, given: dict[str, Any]) -> dict[str, Any]:
    """The slots the active run holds: every slot declared before the one asked (all of them when confirming)."""
    assert context.procedure is not None
    proc = pack.procedures[context.procedure]
    defaults = dict(DEFAULT_SLOTS.get(proc.id, {}))
    code = re.match(r"e(\d{3})_", context.slot or "")
    if proc.id == "app_error_code" and code:
        defaults["code"] = f"E{code.group(1)}"
    slots: dict[str, Any] = {}
    for name, spec in proc.slots.items():
        if name == context.slot:
            break
        if spec.type == "yes_no":
            # earlier troubleshooting steps did not fix it; a callback asked before the phone was accepted
            slots[name] = name == "wants_callback" or (proc.id, name) == ("report_outage", "still_broken")
        elif name in defaults:
            slots[name] = defaults[name]
    slots.update(given)
    return slots


def build_state(pack: BusinessPack, case: Case, customer: dict[str, Any]) -> ConversationState:
    context = case.context
    state = ConversationState(turn=1)
    if context.kind == "fresh":
        state.last_reply = pack.business.persona.greeting or ""
        return state
    state.turn = 4
    if context.kind == "verify":
        state.verification.in_progress = True
        state.active = ProcedureRun(context.procedure or "order_status", started_turn=3)
        state.last_reply = VERIFY
        return state
    state.customer = dict(customer)
    state.verification.attempts = 1
    if context.kind == "anything_else":
        state.pending_offer = "anything_else"
        state.last_reply = ANYTHING_ELSE
        return state
    assert context.procedure is not None
    run = ProcedureRun(context.procedure, started_turn=2, slots=filled_slots(pack, context, dict(case.filled)))
    if context.kind == "confirm":
        run.awaiting = "confirm"
        state.last_reply = CONFIRM
    else:
        run.awaiting = f"slot:{context.slot}"
        spec = pack.procedures[context.procedure].slots[str(context.slot)]
        prompt = spec.prompt or ""
        state.last_reply = prompt if "{" not in prompt else f"Which {str(context.slot).replace('_', ' ')}?"
    state.active = run
    return state


# --- running ---------------------------------------------------------------------------------------------------

Interpret = Callable[[ConversationState, str], Any]


def run_cases(cases: Sequence[Case], pack: BusinessPack, interpret: Interpret) -> list[Result]:
    scorer, intent = Scorer(pack), Scorer(pack, lenient=True)
    customer = demo_customer()
    results = []
    for case in cases:
        state = build_state(pack, case, customer)
        started = time.perf_counter()
        interpretation = interpret(state, case.text)
        seconds = time.perf_counter() - started
        commands = tuple(produced(c) for c in interpretation.commands)
        verdict = scorer.score(case, commands)
        results.append(Result(case, part_of(case.id), verdict, commands, seconds,
                              verdict.passed or intent.score(case, commands).passed))
    return results


def engine_interpret(tmp: str) -> tuple[Interpret, Callable[[], None]]:
    from helpline.conversation.engine import Engine
    from helpline.runtime import build_runtime

    if not callable(getattr(Engine, "interpret", None)):
        raise SystemExit("bench.paraphrases: helpline.conversation.engine.Engine has no interpret(state, text) "
                         "method yet; the suite scores the commands it returns, so it cannot run until it exists.")
    runtime = build_runtime(DEMO, db_url=f"sqlite:///{tmp}/helpline.db", records_url=f"sqlite:///{tmp}/records.db",
                            clock=lambda: NOW)

    def close() -> None:
        runtime.db.engine.dispose()
        if runtime.operations.sql:
            runtime.operations.sql.engine.dispose()

    return runtime.engine.interpret, close


# --- reporting ---------------------------------------------------------------------------------------------------


def _rate(results: Iterable[Result]) -> tuple[int, int]:
    items = list(results)
    return sum(r.verdict.passed for r in items), len(items)


def _cell(passed: int, total: int) -> str:
    return f"{passed / total:.3f} ({passed}/{total})" if total else "-"


def table(results: Sequence[Result], parts: Sequence[str], key: Callable[[Result], Iterable[str]], title: str) -> str:
    groups: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        for k in set(key(r)):
            groups[k].append(r)
    lines = [f"| {title} | " + " | ".join(parts) + " |", "|---|" + "---|" * len(parts)]
    for name in sorted(groups):
        cells = [_cell(*_rate(r for r in groups[name] if r.part == p)) for p in parts]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def expected_kinds(r: Result) -> list[str]:
    return [e.command for e in r.case.expect]


def context_kind(r: Result) -> list[str]:
    return [r.case.context.kind]


def procedure_of(r: Result) -> list[str]:
    procs = [str(e.fields["procedure"]) for e in r.case.expect if e.command == "start_procedure"]
    if r.case.context.procedure and r.case.context.kind != "verify":
        procs.append(r.case.context.procedure)
    return procs


def report(results: Sequence[Result], parts: Sequence[str]) -> str:
    lines = ["| part | cases | passed | accuracy | intent only |", "|---|---|---|---|---|"]
    for part in parts:
        mine = [r for r in results if r.part == part]
        passed, total = _rate(mine)
        intent = sum(r.intent_ok for r in mine)
        lines.append(f"| {part} | {total} | {passed} | {passed / total:.3f} | {intent / total:.3f} |" if total
                     else f"| {part} | 0 | - | - | - |")
    latencies = sorted(r.seconds * 1000 for r in results)
    p95 = latencies[max(0, round(0.95 * (len(latencies) - 1)))] if latencies else 0.0
    blocks = [
        "\n".join(lines),
        "*intent only*: StartProcedure slot values not compared, and a knowledge question whose fallback "
        "(`AskKnowledge.otherwise`) is the expected procedure counted as that procedure.",
        "By expected command kind (a case counts under every kind it expects):\n\n"
        + table(results, parts, expected_kinds, "command"),
        "By context:\n\n" + table(results, parts, context_kind, "context"),
        "By procedure (started, or active in the context):\n\n" + table(results, parts, procedure_of, "procedure"),
        f"`engine.interpret` latency per message: p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms."
        if latencies else "",
    ]
    return "\n\n".join(b for b in blocks if b)


def failures(results: Sequence[Result]) -> str:
    lines = []
    for r in results:
        if r.verdict.passed or r.part != "dev":
            continue
        got = ", ".join(str(c) for c in r.commands) or "nothing"
        why = "; ".join([*(f"missing {m}" for m in r.verdict.missing),
                         *(f"contradicting {c}" for c in r.verdict.contradicting)])
        note = " (intent right)" if r.intent_ok else ""
        lines.append(f"- {r.case.id} [{r.case.context}] {r.case.text!r}{note}\n    got: {got}\n    {why}")
    return "\n".join(lines)


def heldout_failure_counts(results: Sequence[Result]) -> str:
    failed = [r for r in results if r.part == "heldout" and not r.verdict.passed]
    if not failed:
        return ""
    by_context = Counter(r.case.context.kind for r in failed)
    by_kind = Counter(k for r in failed for k in set(expected_kinds(r)))
    return (f"held-out failures: {len(failed)} (texts not shown); by context: "
            + ", ".join(f"{k} {n}" for k, n in by_context.most_common())
            + "; by expected command: " + ", ".join(f"{k} {n}" for k, n in by_kind.most_common()))


def code_version() -> str:
    """The commit measured, and whether helpline/ had uncommitted changes on top of it."""
    root = DEMO.parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "helpline"], cwd=root, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit"
    return f"commit {head}" + (" with uncommitted changes to helpline/" if dirty else "")


def doc_body(results: Sequence[Result], parts: Sequence[str], total_cases: int) -> str:
    return "\n\n".join([
        "## Paraphrase suite (demo pack)",
        f"`python -m bench.paraphrases --part {'both' if len(parts) == 2 else parts[0]}`: {total_cases} customer "
        "messages in bench/paraphrases/demo.yaml, written for the Brightbean demo pack by someone who had not "
        "read the procedures' triggers, the tests or the built-in intents, each with the conversation context it "
        "is said in (first message, after \"anything else?\", confirming a change, answering a slot, answering "
        "\"is it fixed now?\", verifying) and the commands it must yield. A case passes when every expected "
        "command comes out of `engine.interpret` with matching fields and nothing produced contradicts it. "
        "The dev/held-out split is by hash of the case id (bench/paraphrases/split.py), fixed before any tuning; "
        f"tune on dev only. Measured on {code_version()}.",
        report(results, parts),
    ])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.paraphrases")
    parser.add_argument("--part", choices=("dev", "heldout", "both"), default="dev")
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases of the part (a smoke run)")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    part: Part = args.part

    pack = load_pack(DEMO)
    all_cases = load_cases(SUITE)
    problems = validate(all_cases, pack)
    if problems:
        print("bench/paraphrases/demo.yaml has problems:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    cases = select(all_cases, part)
    if args.limit:
        cases = cases[: args.limit]
    parts = ["dev", "heldout"] if part == "both" else [part]

    with tempfile.TemporaryDirectory() as tmp:
        interpret, close = engine_interpret(tmp)
        try:
            results = run_cases(cases, pack, interpret)
        finally:
            close()

    print(report(results, parts))
    dev_failures = failures(results)
    if dev_failures:
        print("\nDev failures:\n" + dev_failures)
    counts = heldout_failure_counts(results)
    if counts:
        print("\n" + counts)
    if not args.no_doc and not args.limit:
        write_section(SECTION, doc_body(results, parts, len(all_cases)))
        print("\nwrote docs/benchmarks.md section 'Paraphrase suite (demo pack)'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
