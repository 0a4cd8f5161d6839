"""Near-miss correction on the demo business, in text (no audio): does the caller get the right answer?

Each line of near_miss.tsv is a caller's question as a recogniser might mishear it ("Can I get my means
pre-ground?"), what was said, and where the right answer comes from (a knowledge article the reply
quotes, or the procedure the engine starts). Every question goes to a new conversation of the demo
engine three ways: as heard, as heard and then corrected (helpline/voice/correction.py), and as said
(the ceiling: what perfect recognition would get). A correction the corrector is unsure of is a
confirming question on the phone; here the caller answers it truthfully: "yes" when the corrected text
is what they said (the corrected text goes on), "no" otherwise (they are asked again: counted as not
right, the cost of one more turn).

Two candidate matchers are compared: sound keys and spelling (the default) and spelling alone.

Run: .venv/bin/python -m bench.voice.near_miss [--split held-out|dev|all] [--show]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpline.runtime import Runtime, build_runtime
from helpline.voice.correction import CorrectionSettings, NearMissCorrector, knowledge_judge
from helpline.voice.vocabulary import Vocabulary

DATA = Path(__file__).with_name("near_miss.tsv")
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


@dataclass(frozen=True)
class Line:
    split: str
    expected: tuple[str, ...]
    heard: str
    said: str

    @property
    def control(self) -> bool:
        return self.heard == self.said


def read_lines(path: Path = DATA) -> list[Line]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        split, expected, heard, said = raw.split("\t")
        lines.append(Line(split, tuple(expected.split("|")), heard, said))
    return lines


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


class Judge:
    """Posts a question to a new demo conversation and says whether the answer came from the right place."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.titles = {a.id: a.title for a in runtime.knowledge.articles.values()}

    def right(self, text: str, expected: tuple[str, ...]) -> bool:
        conversations = self.runtime.conversations
        view = conversations.start("phone")
        view = conversations.post(view.id, text, "phone:caller")
        replies = " ".join(view.replies)
        for target in expected:
            if target.startswith("procedure:"):
                if view.state.get("procedure") == target.removeprefix("procedure:"):
                    return True
            elif f"*{self.titles.get(target, target)}*" in replies:
                return True
        return False


@dataclass
class Tally:
    lines: int = 0
    heard_right: int = 0
    corrected_right: int = 0
    said_right: int = 0
    changed_sure: int = 0
    changed_sure_wrong: int = 0  # put in without asking, and not what was said
    asked: int = 0
    asked_wrongly: int = 0  # asked about a guess that was not what was said
    controls: int = 0
    controls_touched: int = 0
    restored: int = 0  # near misses whose corrected text is what was said (put in, or confirmed by a yes)
    correct_ms: list[float] = field(default_factory=list)  # time of each correction

    def share(self, n: int) -> str:
        return f"{n}/{self.lines} ({100 * n / max(self.lines, 1):.0f} %)"


def evaluate(judge: Judge, corrector: NearMissCorrector, lines: list[Line], show: bool = False) -> Tally:
    tally = Tally()
    for line in lines:
        tally.lines += 1
        tally.controls += line.control
        started = time.perf_counter()
        correction = corrector.correct(line.heard)
        tally.correct_ms.append((time.perf_counter() - started) * 1000)
        heard_right = judge.right(line.heard, line.expected)
        said_right = judge.right(line.said, line.expected)
        what_said = _norm(correction.text) == _norm(line.said)
        if not correction.changed:
            corrected_right = heard_right
        elif correction.sure:
            tally.changed_sure += 1
            tally.changed_sure_wrong += not what_said
            corrected_right = judge.right(correction.text, line.expected)
        else:
            tally.asked += 1
            tally.asked_wrongly += not what_said
            corrected_right = what_said and judge.right(correction.text, line.expected)
        tally.controls_touched += line.control and correction.changed
        tally.restored += not line.control and correction.changed and what_said
        tally.heard_right += heard_right
        tally.corrected_right += corrected_right
        tally.said_right += said_right
        if show:
            verdict = "-" if not correction.changed else ("sure" if correction.sure else "ask")
            print(f"{line.split:8} {int(heard_right)}{int(corrected_right)}{int(said_right)} {verdict:4} "
                  f"{line.heard!r} -> {correction.text!r}")
    return tally


def report(split: str, tallies: dict[str, Tally]) -> str:
    rows = [f"Near-miss correction, demo pack, {split} lines (bench/voice/near_miss.tsv), text only:", "",
            "| matcher | right as heard | right after correction | right as said (ceiling) | near misses restored | "
            "corrected without "
            "asking (wrong) | confirming questions (about a wrong guess) | control lines changed | correction ms "
            "mean / max |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, t in tallies.items():
        rows.append(f"| {name} | {t.share(t.heard_right)} | {t.share(t.corrected_right)} | {t.share(t.said_right)} | "
                    f"{t.restored}/{t.lines - t.controls} | "
                    f"{t.changed_sure} ({t.changed_sure_wrong}) | {t.asked} ({t.asked_wrongly}) | "
                    f"{t.controls_touched}/{t.controls} | {sum(t.correct_ms) / max(len(t.correct_ms), 1):.0f} / "
                    f"{max(t.correct_ms, default=0):.0f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="held-out", choices=["held-out", "dev", "all"])
    parser.add_argument("--show", action="store_true", help="print every line's verdicts")
    args = parser.parse_args()
    lines = [line for line in read_lines() if args.split in ("all", line.split)]
    with tempfile.TemporaryDirectory() as tmp:
        runtime = build_runtime(DEMO, db_url=f"sqlite:///{tmp}/near_miss.db")
        vocabulary = Vocabulary.from_runtime(runtime)
        judge = Judge(runtime)
        tallies = {}
        understood = knowledge_judge(runtime.knowledge)
        for name, settings, judged in (("sound + spelling, judged by knowledge search", CorrectionSettings(), True),
                                       ("spelling alone, judged", CorrectionSettings(phonetic=False), True),
                                       ("sound + spelling, words alone", CorrectionSettings(), False),
                                       ("spelling alone, words alone", CorrectionSettings(phonetic=False), False)):
            if args.show:
                print(f"-- {name}")
            corrector = NearMissCorrector(vocabulary, settings, understood if judged else None)
            tallies[name] = evaluate(judge, corrector, lines, args.show)
        runtime.db.engine.dispose()
    print(report(args.split, tallies))


if __name__ == "__main__":
    main()
