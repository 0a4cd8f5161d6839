"""How well FrustrationScorer separates calm, frustrated and angry customers on held-out messages.

    .venv/bin/python -m bench.frustration [--baseline REV] [--write]

bench/frustration/heldout.yaml was written after the scorer was tuned (on the examples in
tests/understanding/test_sentiment.py) and is not to be tuned on. Bands: calm < 0.55 (the engine's
trigger, ConversationPolicy.frustrated), frustrated 0.55-0.75, angry >= 0.75. "Trigger" accuracy only
asks whether the engine would acknowledge (frustrated and angry at 0.55 or more, calm below).
--baseline scores the same messages with the scorer as it was at a git revision, for comparison.
"""

from __future__ import annotations

import argparse
import subprocess
import types
from collections.abc import Callable
from pathlib import Path

import yaml

from bench.report import write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TRIGGER, FURY = 0.55, 0.75
BANDS = {"calm": (0.0, TRIGGER), "frustrated": (TRIGGER, FURY), "angry": (FURY, 1.01)}
# The scorer before the contact-centre anger cues (complaint, threat, failed_fix, sarcasm, emphasis).
DEFAULT_BASELINE = "048f5b3bc3198ffc8d58ad4008b50a13ca7e2547"

Score = Callable[[str], tuple[float, tuple[str, ...]]]


def _scorer_at(revision: str) -> Score:
    source = subprocess.run(["git", "show", f"{revision}:helpline/understanding/sentiment.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType("sentiment_baseline")
    exec(compile(source, f"{revision[:8]}:sentiment.py", "exec"), module.__dict__)
    scorer = module.FrustrationScorer()
    score: Score = scorer.score
    return score


def _figures(score: Score, messages: list[dict[str, str]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for label, (low, high) in BANDS.items():
        scores = [score(m["text"])[0] for m in messages if m["label"] == label]
        in_band = sum(low <= s < high for s in scores)
        triggered = sum((s >= TRIGGER) == (label != "calm") for s in scores)
        out[label] = {"n": len(scores), "band": in_band / len(scores), "trigger": triggered / len(scores),
                      "mean": sum(scores) / len(scores)}
    pairs = [(score(m["text"])[0], m["label"]) for m in messages]
    out["all"] = {
        "n": len(pairs),
        "band": sum(BANDS[label][0] <= s < BANDS[label][1] for s, label in pairs) / len(pairs),
        "trigger": sum((s >= TRIGGER) == (label != "calm") for s, label in pairs) / len(pairs),
        "mean": sum(s for s, _ in pairs) / len(pairs),
    }
    return out


def _table(name: str, figures: dict[str, dict[str, float]]) -> list[str]:
    rows = [f"| {name} | {label} | {f['n']:.0f} | {f['band']:.1%} | {f['trigger']:.1%} | {f['mean']:.2f} |"
            for label, f in figures.items()]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision of the scorer to compare with")
    parser.add_argument("--write", action="store_true", help="write the section into docs/benchmarks.md")
    args = parser.parse_args()
    messages = yaml.safe_load((HERE / "heldout.yaml").read_text())

    from helpline.understanding.sentiment import FrustrationScorer

    current = FrustrationScorer().score
    figures = _figures(current, messages)
    lines = [
        "## Frustration scoring (`python -m bench.frustration`)",
        "",
        f"{len(messages)} held-out customer messages (bench/frustration/heldout.yaml), labelled calm, frustrated "
        "(ordinary anger the agent should acknowledge) or angry (clear fury), written after the scorer was "
        "tuned on the examples in tests/understanding/test_sentiment.py and not tuned on. *Band*: the score "
        f"falls in its label's band (calm < {TRIGGER}, frustrated {TRIGGER}-{FURY}, angry >= {FURY}); "
        f"*trigger*: the engine's decision at {TRIGGER} is right (acknowledge frustrated and angry, not calm).",
        "",
        "| scorer | label | messages | band | trigger | mean score |",
        "|---|---|---|---|---|---|",
        *_table("now", figures),
    ]
    if args.baseline:
        lines += _table(f"before ({args.baseline[:7]})", _figures(_scorer_at(args.baseline), messages))
    misses = []
    for m in messages:
        value, cues = current(m["text"])
        low, high = BANDS[m["label"]]
        if not low <= value < high:
            misses.append(f"- {m['label']}, scored {value:.2f} {list(cues)}: \"{m['text']}\"")
    lines += ["", "Messages outside their band now:", "", *misses]
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section("frustration", body)


if __name__ == "__main__":
    main()
