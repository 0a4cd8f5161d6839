"""The paraphrase suite in each understanding mode: embedded, hybrid and llm, with any OpenAI-compatible model.

Run: .venv/bin/python -m bench.llm_modes [--part dev|heldout|both] [--modes embedded,hybrid,llm]
     [--llm-url URL --llm-model NAME | --local] [--limit N] [--no-doc]

`--local` starts the packaged model behind its llama.cpp server (the `llm` extra). Each mode reads the same
messages in the same conversation contexts as `bench.paraphrases` (same scorer, same dev/held-out split);
per mode it reports accuracy, per-message latency (p50/p95, the model's share included) and tokens. Held-out
figures are aggregate only. Writes docs/benchmarks.md section "Language model modes" unless --no-doc.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.paraphrases.__main__ import DEMO, NOW, build_state, demo_customer
from bench.paraphrases.split import Part, part_of, select
from bench.paraphrases.suite import SUITE, Case, Scorer, load_cases, produced
from bench.report import write_section
from helpline.llm.openai_compatible import OpenAICompatibleModel
from helpline.llm.settings import LlmMode, LlmSettings
from helpline.pack.loader import load_pack
from helpline.runtime import ModelAssistance, PackModels, build_models, build_runtime

SECTION = "llm-modes"


@dataclass
class ModeFigures:
    mode: str
    passed: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    asked: int = 0  # messages on which the model was asked
    used: int = 0  # messages understood by the model's commands (not the embedded fallback)
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def rate(self, part: str) -> str:
        total = self.total.get(part, 0)
        return f"{self.passed.get(part, 0) / total:.3f} ({self.passed.get(part, 0)}/{total})" if total else "–"

    def ms(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def run_mode(mode: LlmMode, settings: LlmSettings | None, cases: Sequence[Case], models: PackModels) -> ModeFigures:
    pack = load_pack(DEMO)
    scorer = Scorer(pack)
    customer = demo_customer()
    assistance = None
    if mode != LlmMode.EMBEDDED:
        assert settings is not None
        assistance = ModelAssistance(OpenAICompatibleModel(settings.model_copy(update={"mode": mode})), mode)
    figures = ModeFigures(mode.value)
    with tempfile.TemporaryDirectory() as tmp:
        runtime = build_runtime(DEMO, db_url=f"sqlite:///{tmp}/helpline.db", records_url=f"sqlite:///{tmp}/rec.db",
                                models=models, clock=lambda: NOW, assistance=assistance)
        for case in cases:
            state = build_state(pack, case, customer)
            started = time.perf_counter()
            it = runtime.engine.interpret(state, case.text)
            figures.seconds.append(time.perf_counter() - started)
            part = part_of(case.id)
            figures.total[part] = figures.total.get(part, 0) + 1
            if scorer.score(case, tuple(produced(c) for c in it.commands)).passed:
                figures.passed[part] = figures.passed.get(part, 0) + 1
            if it.model_usage is not None:
                figures.asked += 1
                figures.failures += it.model_usage.failures
                figures.prompt_tokens += it.model_usage.usage.prompt_tokens
                figures.completion_tokens += it.model_usage.usage.completion_tokens
            figures.used += it.source == "llm"
        runtime.db.engine.dispose()
    return figures


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def table(rows: Sequence[ModeFigures], parts: Sequence[str]) -> str:
    head = ["mode", *[f"{p} accuracy" for p in parts], "p50 ms", "p95 ms", "model asked", "model's commands used",
            "model failures", "tokens / message asked (prompt + completion)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        per = (f"{r.prompt_tokens // r.asked} + {r.completion_tokens // r.asked}" if r.asked else "–")
        lines.append("| " + " | ".join([r.mode, *[r.rate(p) for p in parts], f"{r.ms(0.5):.0f}", f"{r.ms(0.95):.0f}",
                                         str(r.asked), str(r.used), str(r.failures), per]) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.llm_modes")
    parser.add_argument("--part", choices=("dev", "heldout", "both"), default="both")
    parser.add_argument("--modes", default="embedded,hybrid,llm")
    parser.add_argument("--llm-url")
    parser.add_argument("--llm-model")
    parser.add_argument("--local", action="store_true", help="start the packaged model (the `llm` extra)")
    parser.add_argument("--timeout", type=float, default=60.0, help="per model call, seconds")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--every", type=int, default=1,
                        help="every Nth message of the whole suite (in file order, fixed: no choice by result), then "
                             "the part's: --part dev and --part heldout read the same messages as --part both")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    part: Part = args.part
    modes = [LlmMode(m) for m in args.modes.split(",")]
    cases = select(load_cases(SUITE)[:: args.every], part)
    if args.limit:
        cases = cases[: args.limit]
    parts = ["dev", "heldout"] if part == "both" else [part]

    process = None
    url, model_name = args.llm_url, args.llm_model
    if args.local:
        from helpline.llm.local_model import DEFAULT_MODEL
        from helpline.llm.server import start_local_server

        url, process = start_local_server(log_path=Path(tempfile.gettempdir()) / "helpline-llm-bench.log")
        model_name = DEFAULT_MODEL.name
    settings = None
    if any(m != LlmMode.EMBEDDED for m in modes):
        if not url or not model_name:
            parser.error("hybrid and llm modes need --llm-url and --llm-model, or --local")
        settings = LlmSettings(url=url, model=model_name, mode=LlmMode.LLM, timeout_s=args.timeout, max_retries=0)
    try:
        pack = load_pack(DEMO)
        with tempfile.TemporaryDirectory() as tmp:
            from helpline.connectors.gateway import PackOperations
            from helpline.connectors.sql import SqlOperations

            operations = PackOperations(pack.operations, SqlOperations.open(f"sqlite:///{tmp}/catalogue.db", pack.root,
                                                                            pack.operations.tables))
            models = build_models(pack, operations)
        rows = []
        for mode in modes:
            started = time.monotonic()
            before = load_average()
            rows.append(run_mode(mode, settings, cases, models))
            print(f"{mode.value}: {len(cases)} messages in {time.monotonic() - started:.0f} s, load average "
                  f"{before} -> {load_average()}", file=sys.stderr)
    finally:
        if process is not None:
            from helpline.llm.server import stop_local_server

            stop_local_server(process)
    result = table(rows, parts)
    print(result)
    if not args.no_doc and not args.limit:
        body = "\n\n".join([
            "## Language model modes (paraphrase suite)",
            f"`python -m bench.llm_modes --part {part}{' --local' if args.local else ''} --modes {args.modes}"
            f"{f' --every {args.every}' if args.every > 1 else ''}`: {len(cases)} of the paraphrase suite's "
            f"messages (bench/paraphrases/demo.yaml, same contexts, scorer and dev/held-out split) read in each "
            f"mode; model: `{model_name or 'none'}`. Latency is per message, understanding only (no database, no "
            "reply), the model's time included. Nothing was tuned on these figures.",
            result,
        ])
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
