"""Task completion on the tau-retail store, driven through Helpline's HTTP API.

Run: .venv/bin/python -m bench.tau_retail [--split dev|train|both] [--limit N] [--no-doc] [--verbose]

Starts the store backend on a free port, generates the pack for it, serves it with `helpline serve`
(fresh SQLite in a temporary directory), and for each task: computes the ground-truth final state
(reset, replay the task's actions through the same HTTP operations, read /state, reset), creates an
API key, lets the scripted customer talk to the agent, and compares GET /state with the ground truth.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.report import write_section
from bench.tau_retail.compare import failure_causes
from bench.tau_retail.customer import Customer, Data
from bench.tau_retail.servers import DATASET, Agent, Store, create_api_key, start_helpline, start_store
from helpline.packs.tau_retail import generate

MAX_TURNS = 40


@dataclass
class Outcome:
    index: int
    passed: bool
    causes: list[str]
    turns: int
    transcript: list[str] = field(default_factory=list)


def load_data(dataset: Path) -> Data:
    return Data(users=json.loads((dataset / "users.json").read_text()),
                orders=json.loads((dataset / "orders.json").read_text()),
                products=json.loads((dataset / "products.json").read_text()))


def expected_state(store: Store, task: dict[str, Any]) -> dict[str, Any]:
    store.reset()
    for action in task["actions"]:
        store.call(action["name"], action["kwargs"])
    state = store.state()
    store.reset()
    return state


def run_task(index: int, task: dict[str, Any], data: Data, store: Store, helpline_url: str, db_url: str,
             initial: dict[str, Any]) -> Outcome:
    expected = expected_state(store, task)
    key = create_api_key(db_url)
    agent = Agent(helpline_url, key)
    customer = Customer(task, data, seed=index)
    transcript: list[str] = []
    said: list[str] = []
    replies, ended = agent.start()
    said += replies
    transcript += [f"agent: {r}" for r in replies]
    message: str | None = customer.first_message()
    turns = 0
    while message is not None and not ended and turns < MAX_TURNS:
        transcript.append(f"customer: {message}")
        replies, ended = agent.say(message)
        said += replies
        transcript += [f"agent: {r}" for r in replies]
        turns += 1
        if customer.finished:
            break
        message = customer.reply(replies)
    if not ended:
        agent.end()
    actual = store.state()
    causes = failure_causes(task, initial, expected, actual)
    spoken = " ".join(said).lower().replace(",", "")
    for output in task.get("outputs", []):
        if str(output).lower().replace(",", "") not in spoken:
            causes.append(f"output not said: {output}")
    if turns >= MAX_TURNS:
        causes.append("conversation too long")
    return Outcome(index, not causes, causes, turns, transcript)


def run_split(split: str, limit: int | None, store: Store, helpline_url: str, db_url: str, data: Data,
              verbose: bool, only: list[int] | None) -> list[Outcome]:
    tasks = json.loads((DATASET / f"tasks_{split}.json").read_text())
    indices = only if only else list(range(len(tasks)))[: limit or None]
    store.reset()
    initial = store.state()
    outcomes: list[Outcome] = []
    for index in indices:
        outcome = run_task(index, tasks[index], data, store, helpline_url, db_url, initial)
        outcomes.append(outcome)
        mark = "PASS" if outcome.passed else "FAIL " + "; ".join(outcome.causes)
        print(f"{split} #{index}: {mark} ({outcome.turns} turns)", flush=True)
        if verbose and not outcome.passed:
            print("\n".join("    " + line for line in outcome.transcript), flush=True)
    return outcomes


def summary(split: str, outcomes: list[Outcome]) -> tuple[str, Counter[str]]:
    passed = sum(o.passed for o in outcomes)
    causes: Counter[str] = Counter(c for o in outcomes for c in o.causes)
    rate = 100 * passed / len(outcomes) if outcomes else 0.0
    return f"{split}: {passed}/{len(outcomes)} tasks passed ({rate:.1f} %)", causes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tau_retail")
    parser.add_argument("--split", choices=["dev", "train", "both"], default="dev")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--only", type=int, nargs="*", help="task indices to run")
    parser.add_argument("--verbose", action="store_true", help="print the transcript of failures")
    parser.add_argument("--no-doc", action="store_true", help="don't write docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not DATASET.exists():
        print(f"{DATASET} not found: the tau-retail dataset is needed", file=sys.stderr)
        return 2

    data = load_data(DATASET)
    splits = ["dev", "train"] if args.split == "both" else [args.split]
    lines: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tau-retail-") as tmp:
        work = Path(tmp)
        store_proc, store_url = start_store(work)
        helpline_proc = None
        try:
            pack = generate(DATASET, work / "pack", store_url)
            db_url = f"sqlite:///{work / 'helpline.db'}"
            helpline_proc, helpline_url = start_helpline(pack, db_url, work)
            store = Store(store_url)
            for split in splits:
                outcomes = run_split(split, args.limit, store, helpline_url, db_url, data, args.verbose, args.only)
                line, causes = summary(split, outcomes)
                print(line)
                for cause, count in causes.most_common(10):
                    print(f"  {count:4d}  {cause}")
                lines.append(f"- **{line}**" + "".join(
                    f"\n  - {count} × {cause}" for cause, count in causes.most_common(6)))
        finally:
            if helpline_proc is not None:
                helpline_proc.stop()
            store_proc.stop()
    elapsed = time.monotonic() - started
    if not args.no_doc and not args.only:
        limit = f" (first {args.limit} tasks)" if args.limit else ""
        body = ("## tau-retail task completion\n\n"
                "`.venv/bin/python -m bench.tau_retail --split both`: the generated pack served by `helpline serve`, "
                "the store backend on loopback, a scripted customer per task (seeded phrasings) talking through "
                "the HTTP API; a task passes when GET /state equals the state reached by replaying its "
                f"ground-truth operations and every required output was said{limit}. Embedded models only, no LLM.\n\n"
                + "\n".join(lines) + f"\n\nRun time {elapsed / 60:.1f} min.")
        write_section("tau-retail", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
