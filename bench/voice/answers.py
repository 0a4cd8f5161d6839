"""Right answers to spoken-style questions, typed: the engine's half of the phone benchmark, without audio.

Each question of a set in bench/voice/questions.py, or of round three (questions3.yaml, split into dev3 and
heldout3 here), round four (questions4.yaml, 56 questions written blind, split into dev4 and heldout4) or round
five (questions5.yaml, 64 questions written blind in a wider mix of styles, split into dev5 and heldout5), six
(questions6.yaml, 64 more written blind, split into dev6 and heldout6), seven or eight (questions7.yaml,
questions8.yaml, the same way), is
the caller's first line in a fresh phone conversation of the demo business (through `ConversationService`, as
the call agent posts it, the business clock pinned inside opening hours like the harness). It is answered
*right* when the turn answered from one of the expected articles or started one of the expected procedures,
as the engine recorded it on the conversation's requests; an out-of-scope question ("none") is right when the
engine answered from nothing. The wording of the reply is not scored; `--show` prints it for the misses of a
tuning set (never for a held-out set).

Recognition is not simulated here: `python -m bench.voice.harness --set dev2` plays the same questions with
natural voices through the real pipeline.

Run: .venv/bin/python -m bench.voice.answers --set dev2 [--set dev3 --set dev4 ...] [--show]
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
from bench.voice.questions import HANDED_TO_PERSON, Question
from bench.voice.questions import SETS as EARLIER_SETS
from helpline.conversation.knowledge_answers import ARTICLE_OFFER
from helpline.runtime import Runtime, build_runtime

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
OPEN = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Chicago, as the harness pins it
# their misses are counted, never printed
HELD_OUT_SETS = {"held-out", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7",
                 "heldout8"}
ROUND_THREE = Path(__file__).with_name("questions3.yaml")
ROUND_THREE_SEED = 2611  # fixed before any run; changing it would mix dev3 and heldout3 questions
ROUND_FOUR = Path(__file__).with_name("questions4.yaml")
ROUND_FOUR_SEED = 565536170  # fixed (from `date +%N`) before any run; changing it would mix dev4 and heldout4
ROUND_FIVE = Path(__file__).with_name("questions5.yaml")
ROUND_FIVE_SEED = 664995496  # fixed (from `date +%N`) before the texts were written
ROUND_SIX = Path(__file__).with_name("questions6.yaml")
ROUND_SIX_SEED = 228614171  # fixed (from `date +%N`) before any run; the integrator had read the file's first 8 lines
ROUND_SEVEN = Path(__file__).with_name("questions7.yaml")
ROUND_SEVEN_SEED = 484211968  # fixed (from `date +%N`, 12:49 UTC 2026-12-02) before the texts were written
ROUND_EIGHT = Path(__file__).with_name("questions8.yaml")
ROUND_EIGHT_SEED = 200320338  # fixed (from `date +%N`, 16:09 UTC 2026-12-02) before the texts were written


def split_in_halves(path: Path, seed: int) -> tuple[list[Question], list[Question]]:
    """A question file split in two halves by a seeded shuffle, each half kept in the file's order."""
    questions = [Question(item["text"], frozenset(item["expected"])) for item in yaml.safe_load(path.read_text())]
    order = list(range(len(questions)))
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    return ([questions[i] for i in sorted(order[:half])], [questions[i] for i in sorted(order[half:])])


DEV3, HELDOUT3 = split_in_halves(ROUND_THREE, ROUND_THREE_SEED)
DEV4, HELDOUT4 = split_in_halves(ROUND_FOUR, ROUND_FOUR_SEED)
DEV5, HELDOUT5 = split_in_halves(ROUND_FIVE, ROUND_FIVE_SEED)
DEV6, HELDOUT6 = split_in_halves(ROUND_SIX, ROUND_SIX_SEED)
DEV7, HELDOUT7 = split_in_halves(ROUND_SEVEN, ROUND_SEVEN_SEED)
DEV8, HELDOUT8 = split_in_halves(ROUND_EIGHT, ROUND_EIGHT_SEED)
SETS = {**EARLIER_SETS, "dev3": DEV3, "heldout3": HELDOUT3, "dev4": DEV4, "heldout4": HELDOUT4,
        "dev5": DEV5, "heldout5": HELDOUT5, "dev6": DEV6, "heldout6": HELDOUT6,
        "dev7": DEV7, "heldout7": HELDOUT7, "dev8": DEV8, "heldout8": HELDOUT8}


@dataclass(frozen=True)
class Answer:
    question: Question
    first_turn: frozenset[str]  # article ids answered from and procedures started in the caller's first turn
    reply: str
    offered: str | None = None  # what the engine's confirming question offered ("is this about …?"), if it asked
    after_reply: frozenset[str] = frozenset()  # … and what the caller's yes or no to it brought

    @property
    def right(self) -> bool:
        """Right on the first turn, with no confirming question."""
        return self.question.answered_right(self.first_turn)

    @property
    def right_after_confirming(self) -> bool:
        """Right once the caller answered the confirming question (yes when it offered an expected article or
        procedure, no otherwise), as a caller who knows what they asked would."""
        if self.offered is None:
            return self.right
        return self.question.answered_right(self.first_turn | self.after_reply)


def offered_id(state: Any) -> str | None:
    """The article or procedure a confirming question left waiting for a yes or no, if any."""
    offer = state.pending_offer or ""
    for prefix in (ARTICLE_OFFER, "start:"):
        if offer.startswith(prefix):
            return str(offer.removeprefix(prefix))
    return None


def turn_found(state: Any, requests_before: int) -> set[str]:
    """What a turn did: the articles and procedures of the requests it added, the procedure left running, and
    `HANDED_TO_PERSON` when it handed the caller to a person."""
    found = {tag for request in state.requests[requests_before:] for tag in [request.procedure_id, *request.tags]}
    if state.active is not None:
        found.add(state.active.procedure_id)
    if state.escalated:
        found.add(HANDED_TO_PERSON)
    return found


class AnswerRecorder:
    """Wraps the engine's `handle` to read, per turn, what it did (`turn_found`) and what a confirming question
    offered, as bench/voice/harness.py does."""

    def __init__(self, runtime: Runtime) -> None:
        self.last: frozenset[str] = frozenset()
        self.offered: str | None = None
        engine = runtime.conversations.engine
        handle = engine.handle

        def recorded(state: Any, text: str, context: Any, interpretation: Any = None) -> Any:
            before = len(state.requests)
            result = handle(state, text, context, interpretation=interpretation)
            self.last = self.last | frozenset(turn_found(state, before))
            self.offered = offered_id(state)
            return result

        engine.handle = recorded  # type: ignore[method-assign]


def ask(runtime: Runtime, recorder: AnswerRecorder, question: Question) -> Answer:
    conversations = runtime.conversations
    view = conversations.start("phone", "phone:caller", {"phone": "+15550100001"})
    recorder.last = frozenset()
    view = conversations.post(view.id, question.text, "phone:caller")
    first, offered = recorder.last, recorder.offered
    if offered is None:
        return Answer(question, first, " ".join(view.replies))
    recorder.last = frozenset()
    conversations.post(view.id, "yes" if offered in question.expected else "no", "phone:caller")
    return Answer(question, first, " ".join(view.replies), offered, recorder.last)


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
            confirmed = sum(a.right_after_confirming for a in answers)
            asked = sum(a.offered is not None for a in answers)
            print(f"{name}: {right}/{len(answers)} right ({100 * right / max(len(answers), 1):.0f} %) at once, "
                  f"{confirmed}/{len(answers)} ({100 * confirmed / max(len(answers), 1):.0f} %) after a confirming "
                  f"question (asked {asked}), load {os.getloadavg()[0]:.1f}", flush=True)
            if args.show and name not in HELD_OUT_SETS:
                for a in answers:
                    if not a.right_after_confirming:
                        print(f"  wrong: {a.question.text!r} expected {sorted(a.question.expected)} "
                              f"got {sorted(a.first_turn | a.after_reply)} offered {a.offered}\n"
                              f"    reply: {a.reply[:300]!r}")
                    elif not a.right:
                        print(f"  right after confirming {a.offered}: {a.question.text!r}")
        runtime.db.engine.dispose()
    print(machine())


if __name__ == "__main__":
    main()
