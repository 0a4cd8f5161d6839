"""Right answers to spoken-style questions, typed: the engine's half of the phone benchmark, without audio.

Each question of a set in bench/voice/questions.py, or of round three (questions3.yaml, split into dev3 and
heldout3 here), is the caller's first line in a fresh phone conversation of the demo business (through
`ConversationService`, as the call agent posts it, the business clock pinned inside opening hours like the
harness). It is answered *right* when the turn answered from one of the
expected articles or started one of the expected procedures, as the engine recorded it on the conversation's
requests; an out-of-scope question ("none") is right when the engine answered from nothing. The wording of
the reply is not scored; `--show` prints it for the misses of a tuning set (never for a held-out set).

Recognition is not simulated here: `python -m bench.voice.harness --set dev2` plays the same questions with
natural voices through the real pipeline.

Run: .venv/bin/python -m bench.voice.answers --set dev2 [--set dev3 ...] [--show]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bench.report import machine
from bench.voice.questions import SETS as EARLIER_SETS
from bench.voice.questions import Question
from helpline.runtime import Runtime, build_runtime

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
OPEN = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Chicago, as the harness pins it
HELD_OUT_SETS = {"held-out", "heldout2", "heldout3"}  # their misses are counted, never printed
ROUND_THREE = Path(__file__).with_name("questions3.yaml")
ROUND_THREE_SEED = 2611  # fixed before any run; changing it would mix dev3 and heldout3 questions


def split_in_halves(path: Path, seed: int) -> tuple[list[Question], list[Question]]:
    """A question file split in two halves by a seeded shuffle, each half kept in the file's order."""
    questions = [Question(item["text"], frozenset(item["expected"])) for item in yaml.safe_load(path.read_text())]
    order = list(range(len(questions)))
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    return ([questions[i] for i in sorted(order[:half])], [questions[i] for i in sorted(order[half:])])


DEV3, HELDOUT3 = split_in_halves(ROUND_THREE, ROUND_THREE_SEED)
SETS = {**EARLIER_SETS, "dev3": DEV3, "heldout3": HELDOUT3}


@dataclass(frozen=True)
class Answer:
    question: Question
    answered_from: frozenset[str]  # article ids answered from and procedures started in the turn
    reply: str

    @property
    def right(self) -> bool:
        return self.question.answered_right(self.answered_from)


class AnswerRecorder:
    """Wraps the engine's `handle` to read, per turn, which articles answered and which procedures started
    (the requests the turn added, plus the procedure left running), as bench/voice/harness.py does."""

    def __init__(self, runtime: Runtime) -> None:
        self.last: frozenset[str] = frozenset()
        engine = runtime.conversations.engine
        handle = engine.handle

        def recorded(state: Any, text: str, context: Any, interpretation: Any = None) -> Any:
            before = len(state.requests)
            result = handle(state, text, context, interpretation=interpretation)
            found = {tag for request in state.requests[before:] for tag in [request.procedure_id, *request.tags]}
            if state.active is not None:
                found.add(state.active.procedure_id)
            self.last = self.last | frozenset(found)
            return result

        engine.handle = recorded  # type: ignore[method-assign]


def ask(runtime: Runtime, recorder: AnswerRecorder, question: Question) -> Answer:
    conversations = runtime.conversations
    view = conversations.start("phone", "phone:caller", {"phone": "+15550100001"})
    recorder.last = frozenset()
    view = conversations.post(view.id, question.text, "phone:caller")
    return Answer(question, recorder.last, " ".join(view.replies))


def evaluate(runtime: Runtime, recorder: AnswerRecorder, questions: Sequence[Question]) -> list[Answer]:
    return [ask(runtime, recorder, q) for q in questions]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--set", action="append", choices=sorted(SETS), dest="sets")
    parser.add_argument("--show", action="store_true", help="print the misses of tuning sets with the reply")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        runtime = build_runtime(DEMO, db_url=f"sqlite:///{Path(tmp) / 'helpline.db'}",
                                records_url=f"sqlite:///{Path(tmp) / 'records.db'}",
                                clock=lambda: OPEN + timedelta(seconds=time.monotonic() - started))
        recorder = AnswerRecorder(runtime)
        for name in args.sets or ["dev2"]:
            answers = evaluate(runtime, recorder, SETS[name])
            right = sum(a.right for a in answers)
            print(f"{name}: {right}/{len(answers)} right ({100 * right / max(len(answers), 1):.0f} %), "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
            if args.show and name not in HELD_OUT_SETS:
                for a in answers:
                    if not a.right:
                        print(f"  wrong: {a.question.text!r} expected {sorted(a.question.expected)} "
                              f"got {sorted(a.answered_from)}\n    reply: {a.reply[:300]!r}")
        runtime.db.engine.dispose()
    print(machine())


if __name__ == "__main__":
    main()
