"""Task completion on the tau-retail store, driven through Helpline's HTTP API.

Run: .venv/bin/python -m bench.tau_retail [--customer old|stranger|both|llm] [--split dev|tune|heldout|train|both ...]
     [--limit N] [--no-doc] [--verbose] [--llm-url URL --llm-model NAME]

Starts the store backend on a free port, generates the pack for it, serves it with `helpline serve`
(fresh SQLite in a temporary directory), and for each task: computes the ground-truth final state
(reset, replay the task's actions through the same HTTP operations, read /state, reset), creates an
API key, lets the scripted customer talk to the agent, and compares GET /state with the ground truth.

Two customers: `old` (customer.py, goals read from the ground-truth actions, written beside the engine) and
`stranger` (stranger.py, goals read from the instruction only); and `llm` (llm_customer.py), a language model
at any OpenAI-compatible endpoint playing the customer from the instruction, as tau-bench's user simulator does.
The store state is the pass criterion;
for tasks with expected outputs (answers the agent must give) whether each was said is reported apart.
`tune` and `heldout` are the fixed parts of train (splits.py); held-out results are printed only in
aggregate, so nobody tunes on them by reading a transcript.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import write_section
from bench.tau_retail.compare import failure_causes
from bench.tau_retail.customer import Customer, Data
from bench.tau_retail.llm_customer import LlmCustomer
from bench.tau_retail.model_usage import (
    LoggedChoice,
    ModelTurns,
    choices_line,
    conversation_model_turns,
    logged_choices,
)
from bench.tau_retail.servers import DATASET, Agent, Store, create_api_key, start_helpline, start_store
from bench.tau_retail.splits import train_indices
from bench.tau_retail.stranger import Stranger
from helpline.llm.openai_compatible import OpenAICompatibleModel
from helpline.llm.port import LanguageModel
from helpline.llm.settings import ENV_API_KEY, LlmSettings
from helpline.packs.tau_retail import generate
from helpline.store.db import Database

MAX_TURNS = 40
TURN_MODEL_CALLS = 3  # a turn's model calls at most: understanding, a knowledge answer, a record's wording
SPLITS = ("dev", "tune", "heldout", "train", "both")


@dataclass
class Outcome:
    index: int
    passed: bool
    causes: list[str]
    turns: int
    transcript: list[str] = field(default_factory=list)
    needs_answer: bool = False  # the task has expected outputs
    answered: bool = False  # every expected output appears in the agent's replies
    seconds: float = 0.0  # wall time of the conversation, ground truth replay included
    model: ModelTurns = field(default_factory=ModelTurns)  # the agent's language model use (hybrid, llm modes)

    def record(self, hidden: bool) -> dict[str, Any]:
        """One line of `--record`: no transcript, and for held-out tasks no failure causes either."""
        line: dict[str, Any] = {"index": self.index, "passed": self.passed, "turns": self.turns,
                                "seconds": round(self.seconds, 1), "model": self.model.as_dict()}
        if not hidden:
            line["causes"] = self.causes
        return line


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
             initial: dict[str, Any], customer_kind: str = "old", key: str | None = None,
             customer_model: LanguageModel | None = None, database: Database | None = None,
             turn_timeout: float = 60.0) -> Outcome:
    started = time.monotonic()
    expected = expected_state(store, task)
    # one key serves a whole run: creating one is a CLI start-up per task, most of a task's time on a busy box
    key = key or create_api_key(db_url)
    agent = Agent(helpline_url, key, turn_timeout)
    customer: Customer | Stranger | LlmCustomer
    if customer_kind == "llm":
        if customer_model is None:
            raise ValueError("the llm customer needs a model (--llm-url and --llm-model)")
        customer = LlmCustomer(task, customer_model)
    else:
        customer = Customer(task, data, seed=index) if customer_kind == "old" else Stranger(task, data, seed=index)
    transcript: list[str] = []
    said: list[str] = []
    replies, ended = agent.start()
    said += replies
    transcript += [f"agent: {r}" for r in replies]
    if isinstance(customer, LlmCustomer):
        customer.heard(replies)
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
    if turns >= MAX_TURNS:
        causes.append("conversation too long")
    # expected outputs are read here, in the scoring, never by the customers
    outputs = [str(o) for o in task.get("outputs", [])]
    spoken = " ".join(said).lower().replace(",", "")
    missing = [o for o in outputs if o.lower().replace(",", "") not in spoken]
    transcript += [f"[output not said: {o}]" for o in missing]
    if isinstance(customer, Stranger):
        transcript.insert(0, f"[style: {customer.style}]")
        transcript += [f"[asked: {a.question!r} answered: {'yes' if a.answered else 'no'}]" for a in customer.asked]
        if customer.gave_up:
            transcript.append(f"[customer gave up: {customer.gave_up}]")
    if isinstance(customer, LlmCustomer):
        usage = customer.usage
        transcript.append(f"[customer model: {usage.calls} calls, {usage.prompt_tokens} prompt + "
                          f"{usage.completion_tokens} completion tokens, {usage.seconds:.1f} s]")
        if customer.gave_up:
            transcript.append(f"[customer gave up: {customer.gave_up}]")
    model = conversation_model_turns(database, agent.id) if database is not None and agent.id else ModelTurns()
    return Outcome(index, not causes, causes, turns, transcript, needs_answer=bool(outputs),
                   answered=bool(outputs) and not missing, seconds=time.monotonic() - started, model=model)


def split_tasks(split: str) -> tuple[str, list[dict[str, Any]], list[int]]:
    """(file part, tasks, indices) of a split: dev, or train's tune / heldout part, or all of train."""
    source = "dev" if split == "dev" else "train"
    tasks: list[dict[str, Any]] = json.loads((DATASET / f"tasks_{source}.json").read_text())
    if split in ("tune", "heldout"):
        return source, tasks, train_indices(split, len(tasks))
    return source, tasks, list(range(len(tasks)))


def run_split(split: str, limit: int | None, store: Store, helpline_url: str, db_url: str, data: Data,
              verbose: bool, only: list[int] | None, customer: str = "old",
              customer_model: LanguageModel | None = None, turn_timeout: float = 60.0) -> list[Outcome]:
    _, tasks, indices = split_tasks(split)
    indices = [i for i in indices if i in only] if only else indices[: limit or None]
    hidden = split in ("heldout", "train")  # held-out tasks are reported only in aggregate
    store.reset()
    initial = store.state()
    key = create_api_key(db_url)
    database = Database(db_url)
    outcomes: list[Outcome] = []
    for count, index in enumerate(indices, 1):
        outcome = run_task(index, tasks[index], data, store, helpline_url, db_url, initial, customer, key,
                           customer_model, database, turn_timeout)
        outcomes.append(outcome)
        if hidden:
            if count % 25 == 0:
                print(f"{split} [{customer}]: {count}/{len(indices)} run, {sum(o.passed for o in outcomes)} passed",
                      flush=True)
            continue
        mark = "PASS" if outcome.passed else "FAIL " + "; ".join(outcome.causes)
        print(f"{split} [{customer}] #{index}: {mark} ({outcome.turns} turns)", flush=True)
        if verbose and (not outcome.passed or customer in ("stranger", "llm")):
            print("\n".join("    " + line for line in outcome.transcript), flush=True)
    return outcomes


@dataclass
class Figures:
    customer: str
    split: str
    tasks: int
    passed: int
    actions_only: tuple[int, int]  # (passed, total) of tasks that need only actions
    with_answer: tuple[int, int]  # (passed, total) of tasks that also need an answer
    answered: int  # tasks with outputs whose every output was said
    causes: Counter[str]

    @staticmethod
    def of(customer: str, split: str, outcomes: list[Outcome]) -> Figures:
        plain = [o for o in outcomes if not o.needs_answer]
        answer = [o for o in outcomes if o.needs_answer]
        return Figures(customer, split, len(outcomes), sum(o.passed for o in outcomes),
                       (sum(o.passed for o in plain), len(plain)), (sum(o.passed for o in answer), len(answer)),
                       sum(o.answered for o in answer), Counter(c for o in outcomes for c in o.causes))


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "n/a"


def summary(split: str, outcomes: list[Outcome], customer: str = "old") -> tuple[str, Counter[str]]:
    f = Figures.of(customer, split, outcomes)
    line = (f"{split} [{customer}]: {f.passed}/{f.tasks} tasks completed ({pct(f.passed, f.tasks)}); "
            f"actions only {f.actions_only[0]}/{f.actions_only[1]} ({pct(*f.actions_only)}), "
            f"needing an answer {f.with_answer[0]}/{f.with_answer[1]} ({pct(*f.with_answer)}), "
            f"answer said {f.answered}/{f.with_answer[1]} ({pct(f.answered, f.with_answer[1])})")
    return line, f.causes


def table(figures: list[Figures]) -> str:
    rows = ["| customer | split | tasks | completed | actions only | needing an answer | answer said |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for f in figures:
        rows.append(f"| {f.customer} | {f.split} | {f.tasks} | {f.passed} ({pct(f.passed, f.tasks)}) | "
                    f"{f.actions_only[0]}/{f.actions_only[1]} ({pct(*f.actions_only)}) | "
                    f"{f.with_answer[0]}/{f.with_answer[1]} ({pct(*f.with_answer)}) | "
                    f"{f.answered}/{f.with_answer[1]} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tau_retail")
    parser.add_argument("--split", choices=SPLITS, nargs="+", default=["dev"],
                        help="dev, train's tune or heldout part, all of train, or both (dev and train)")
    parser.add_argument("--customer", choices=["old", "stranger", "both", "llm"], default="old",
                        help="old: goals from the ground-truth actions; stranger: goals from the instruction; "
                             "llm: a language model plays the customer from the instruction (--llm-url)")
    parser.add_argument("--llm-url", help="OpenAI-compatible endpoint of the customer's model, e.g. the URL "
                                          "`helpline llm serve` prints (key, if any, in HELPLINE_LLM_API_KEY)")
    parser.add_argument("--llm-model", default="qwen2.5-coder-0.5b", help="model name sent to that endpoint")
    parser.add_argument("--agent-llm-mode", choices=["embedded", "hybrid", "llm"], default="embedded",
                        help="how Helpline itself uses a language model (docs/llm.md)")
    parser.add_argument("--agent-llm-url", help="the agent's OpenAI-compatible endpoint (hybrid and llm modes)")
    parser.add_argument("--agent-llm-model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--agent-llm-timeout", type=float, default=60.0,
                        help="seconds per model call (a small model on 2 CPU cores needs ~7-20 s)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--only", type=int, nargs="*", help="task indices to run")
    parser.add_argument("--verbose", action="store_true",
                        help="print transcripts (failures; every task for the stranger), never held-out ones")
    parser.add_argument("--no-doc", action="store_true", help="don't write docs/benchmarks.md")
    parser.add_argument("--note", default="", help="a sentence for docs/benchmarks.md, e.g. the engine's state")
    parser.add_argument("--record", type=Path,
                        help="append one JSON line per task (pass, turns, seconds, model use; failure causes "
                             "only outside held-out) and one per split (load averages, wall time) to this file")
    args = parser.parse_args(argv)
    if not DATASET.exists():
        print(f"{DATASET} not found: the tau-retail dataset is needed", file=sys.stderr)
        return 2

    data = load_data(DATASET)
    splits: list[str] = []
    for split in args.split:
        for part in (["dev", "train"] if split == "both" else [split]):
            if part not in splits:
                splits.append(part)
    customers = ["old", "stranger"] if args.customer == "both" else [args.customer]
    customer_model: OpenAICompatibleModel | None = None
    if args.customer == "llm":
        if not args.llm_url:
            print("--customer llm needs --llm-url (e.g. the URL `helpline llm serve` prints)", file=sys.stderr)
            return 2
        # a CPU-served model needs seconds per line: a long deadline, one retry, no breaker trips on slowness
        customer_model = OpenAICompatibleModel(LlmSettings(url=args.llm_url, model=args.llm_model, timeout_s=120,
                                                           max_retries=1, api_key=os.environ.get(ENV_API_KEY)))
    figures: list[Figures] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tau-retail-") as tmp:
        work = Path(tmp)
        store_proc, store_url = start_store(work)
        helpline_proc = None
        try:
            pack = generate(DATASET, work / "pack", store_url)
            if args.agent_llm_mode != "embedded":
                if not args.agent_llm_url:
                    print("--agent-llm-mode hybrid|llm needs --agent-llm-url", file=sys.stderr)
                    return 2
                with (pack / "business.yaml").open("a") as business:
                    business.write(f"\nllm:\n  url: {args.agent_llm_url}\n  model: {args.agent_llm_model}\n"
                                   f"  mode: {args.agent_llm_mode}\n  timeout_s: {args.agent_llm_timeout}\n"
                                   "  max_retries: 0\n")
            db_url = f"sqlite:///{work / 'helpline.db'}"
            # in hybrid mode the server logs each choice's probabilities (info level): counted per split below
            hybrid = args.agent_llm_mode == "hybrid"
            helpline_proc, helpline_url = start_helpline(pack, db_url, work, "info" if hybrid else "warning")
            choices_seen = 0
            store = Store(store_url)
            for customer in customers:
                for split in splits:
                    load_before, split_started = os.getloadavg(), time.monotonic()
                    outcomes = run_split(split, args.limit, store, helpline_url, db_url, data, args.verbose,
                                         args.only, customer, customer_model, turn_timeout(args))
                    load_after, split_seconds = os.getloadavg(), time.monotonic() - split_started
                    line, causes = summary(split, outcomes, customer)
                    print(line)
                    for cause, count in causes.most_common(10):
                        print(f"  {count:4d}  {cause}")
                    model = sum((o.model for o in outcomes), ModelTurns())
                    if args.agent_llm_mode != "embedded":
                        print(f"{split} [{customer}, {args.agent_llm_mode}]: {model.line()}")
                    choices = logged_choices((work / "helpline.log").read_text(errors="replace"))[choices_seen:] \
                        if hybrid else []
                    choices_seen += len(choices)
                    if hybrid:
                        print(f"{split} [{customer}, hybrid]: {choices_line(choices)}")
                    print(f"{split} [{customer}]: {split_seconds / 60:.1f} min; load average "
                          f"{load_before[0]:.2f} -> {load_after[0]:.2f}", flush=True)
                    if args.record:
                        write_record(args.record, split, customer, args.agent_llm_mode, outcomes, model,
                                     split_seconds, (load_before[0], load_after[0]), choices)
                    figures.append(Figures.of(customer, split, outcomes))
        finally:
            if helpline_proc is not None:
                helpline_proc.stop()
            store_proc.stop()
    elapsed = time.monotonic() - started
    # the LLM customer's figures go into docs/benchmarks.md by hand (with the model and machine they came from):
    # writing the section here would replace the scripted customers' table
    if not args.no_doc and not args.only and args.customer != "llm" and args.agent_llm_mode == "embedded":
        write_section("tau-retail", doc_body(figures, args.limit, elapsed, args.note))
    return 0


def turn_timeout(args: argparse.Namespace) -> float:
    """How long the customer waits for the agent's reply: with a model, a turn may ask it to choose (or write
    commands) and then to word an answer, each up to the model's own timeout (no retries are configured)."""
    if args.agent_llm_mode == "embedded":
        return 60.0
    return 60.0 + TURN_MODEL_CALLS * args.agent_llm_timeout


def write_record(path: Path, split: str, customer: str, mode: str, outcomes: list[Outcome], model: ModelTurns,
                 seconds: float, load: tuple[float, float], choices: list[LoggedChoice]) -> None:
    hidden = split in ("heldout", "train")
    head = {"split": split, "customer": customer, "agent_llm_mode": mode}
    with path.open("a") as out:
        for outcome in outcomes:
            out.write(json.dumps({**head, **outcome.record(hidden)}) + "\n")
        out.write(json.dumps({**head, "tasks": len(outcomes), "passed": sum(o.passed for o in outcomes),
                              "seconds": round(seconds, 1), "load_average": [round(x, 2) for x in load],
                              "model": model.as_dict(), "choices": [asdict(c) for c in choices],
                              "at": datetime.now(UTC).isoformat(timespec="seconds")})
                  + "\n")


def doc_body(figures: list[Figures], limit: int | None, elapsed: float, note: str) -> str:
    first = f" (first {limit} tasks of each split)" if limit else ""
    causes = "\n".join(
        f"- {f.customer} / {f.split}: " + "; ".join(f"{n} × {c}" for c, n in f.causes.most_common(5))
        for f in figures if f.causes)
    return ("## tau-retail task completion\n\n"
            "`.venv/bin/python -m bench.tau_retail --customer both --split dev tune heldout`: the generated pack "
            "served by `helpline serve`, the store backend on loopback, a scripted customer per task talking "
            "through the HTTP API; a task is completed when GET /state equals the state reached by replaying its "
            f"ground-truth operations{first}. Embedded models only, no LLM.\n\n"
            "Two customers: **old** (`bench/tau_retail/customer.py`) derives its goals from the ground-truth "
            "actions and was written beside the engine, so it speaks the engine's language; **stranger** "
            "(`bench/tau_retail/stranger.py`) reads only the task's instruction and the customer's own orders "
            "and cards, and talks in one of five seeded styles (terse, chatty, typos, details out of order, "
            "answers only what is asked). `tune` and `heldout` are the fixed parts of train (`splits.py`); "
            "held-out tasks are never read while developing. \"needing an answer\" are tasks with expected "
            "outputs (none in this dataset's dev and train); \"answer said\" counts those whose every output "
            "appears in the agent's replies.\n\n"
            + f"Figures of {datetime.now(UTC):%Y-%m-%d}:\n\n" + table(figures) + "\n\n"
            + (f"{note}\n\n" if note else "")
            + ("Most frequent failure causes:\n\n" + causes + "\n\n" if causes else "")
            + f"Run time {elapsed / 60:.1f} min.")


if __name__ == "__main__":
    raise SystemExit(main())
