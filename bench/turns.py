"""Turn latency and throughput on the demo pack: p50/p95 per turn and turns per second.

Runs scripted conversations (verification, order lookups, cancellations with confirmation,
knowledge questions, small talk) through the real ConversationService on SQLite.
Process CPU time per turn (``time.process_time``: this process's CPU seconds, all threads) is reported beside
the wall-clock figures: it is what a turn costs, and is far less moved by other work on a shared machine.
``--profile FILE`` runs the turns under cProfile and writes its stats there (read with ``python -m pstats``);
``--no-write`` leaves docs/benchmarks.md alone (for before/after comparisons).
Run: .venv/bin/python -m bench.turns [--conversations N] [--profile FILE] [--no-write]
"""

from __future__ import annotations

import argparse
import cProfile
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.report import write_section
from helpline.runtime import build_runtime

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo"
NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)

SCRIPTS = [
    ["hi there", "where is my order BB-10133?", "ana.cook@example.com", "thanks", "no that's all"],
    ["How long do I have to return something?", "and how long does standard shipping take?", "bye"],
    ["I'd like to cancel order BB-10163 please", "caleb.perez@example.com", "ordered by mistake", "no", "bye"],
    ["my app shows error E202", "yes", "thanks"],
    ["what does BRIGHTBEAN*AUTH on my statement mean?", "ok thanks", "bye"],
    ["I want to speak to a human"],
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=60)
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile stats of the turns here")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    # CPU time, not wall time: what a turn costs, whatever else the machine is doing
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        runtime = build_runtime(
            DEMO, db_url=f"sqlite:///{tmp}/helpline.db", records_url=f"sqlite:///{tmp}/records.db", clock=lambda: NOW
        )
        service = runtime.conversations
        latencies: list[float] = []
        cpu_ms: list[float] = []
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        for index in range(args.conversations):
            conversation = service.start(channel="chat", actor="bench")
            for text in SCRIPTS[index % len(SCRIPTS)]:
                t0, c0 = time.perf_counter(), time.process_time()
                view = service.post(conversation.id, text, actor="bench")
                latencies.append((time.perf_counter() - t0) * 1000)
                cpu_ms.append((time.process_time() - c0) * 1000)
                if view.ended:
                    break
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(args.profile))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    tps = len(latencies) / elapsed
    cpu_mean = statistics.fmean(cpu_ms)
    print(
        f"turns: {len(latencies)}  p50 {p50:.1f} ms  p95 {p95:.1f} ms  max {latencies[-1]:.1f} ms  "
        f"throughput {tps:.1f} turns/s (one process, one thread)  CPU per turn: mean {cpu_mean:.1f} ms, "
        f"median {statistics.median(cpu_ms):.1f} ms"
    )
    if args.no_write or profiler is not None:
        return
    write_section(
        "turns",
        "\n".join(
            [
                "## Turn latency (demo pack, SQLite, one process)",
                "",
                "`python -m bench.turns`: scripted conversations (verification, order lookups, cancellation with",
                "confirmation, knowledge questions, troubleshooting, escalation) through ConversationService,",
                "including the database writes of every turn (transcript, state, ticket, audit).",
                "",
                "| turns | p50 | p95 | max | turns/s | CPU per turn (mean) | target |",
                "|---|---|---|---|---|---|---|",
                f"| {len(latencies)} | {p50:.1f} ms | {p95:.1f} ms | {latencies[-1]:.1f} ms | {tps:.1f} "
                f"| {cpu_mean:.1f} ms | p95 < 50 ms |",
            ]
        ),
    )


if __name__ == "__main__":
    main()
