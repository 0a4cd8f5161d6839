"""Train the frustration model shipped as ``helpline/understanding/models/frustration.npz``.

Run: ``.venv/bin/python -m bench.frustration.train [--dry-run]``. Embeds the labelled messages in
``helpline/understanding/frustration_examples.py`` with MiniLM, splits them train/dev by a hash of the text
(one in five to dev), fits a three-class logistic regression (calm, frustrated, angry; balanced class
weights) over the embedding for each regularisation strength and keeps the one with the lowest dev
log-loss. The two thresholds are then picked on dev too, on the whole scorer (rules plus model), since
that is what the engine sees:

- ``upset_threshold`` (P(frustrated) + P(angry) from which the score reaches 0.55): fewest wrong trigger
  decisions, a calm message acknowledged as frustrated counting twice (apologising to a customer who is
  simply reporting a problem is the worse mistake); ties go to the higher threshold;
- ``angry_threshold`` (P(angry) from which the score reaches 0.75): most dev messages in their band.

Finally the model is refitted on train and dev together with the chosen strength, written out, and its
sha256 printed to paste into ``TONE_MODEL_SHA256`` in sentiment.py. The held-out sets in bench/frustration
are never read here.
"""

from __future__ import annotations

import argparse
import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from helpline.understanding.embeddings import MiniLMEmbedder, file_sha256
from helpline.understanding.frustration_examples import ANGRY, CALM, FRUSTRATED
from helpline.understanding.sentiment import (
    FURY,
    TONE_LABELS,
    TONE_MODEL_PATH,
    TRIGGER,
    FrustrationScorer,
    ToneWeights,
    tone_applies,
    tone_score,
)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
UPSET_GRID = tuple(round(0.5 + 0.025 * i, 3) for i in range(19))  # 0.5 .. 0.95
ANGRY_GRID = tuple(round(0.3 + 0.025 * i, 3) for i in range(27))  # 0.3 .. 0.95
CALM_FALSE_ALARM_COST = 2
BANDS = ((0.0, TRIGGER), (TRIGGER, FURY), (FURY, 1.01))  # by label index: calm, frustrated, angry


def is_dev(text: str) -> bool:
    """One message in five goes to dev, by a hash that is stable across runs and Python versions."""
    return zlib.crc32(text.encode("utf-8")) % 5 == 0


def fit(embeddings: F32, labels: npt.NDArray[np.int64], c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    return model.fit(embeddings.astype(np.float64), labels)


def combined(rules: Sequence[float], probs: F64, long_enough: Sequence[bool], upset: float, angry: float) -> F64:
    """What FrustrationScorer.score gives: the rules' score, raised by the model's where it is higher."""
    return np.array(
        [max(r, tone_score(p, upset, angry)) if ok else r for r, p, ok in zip(rules, probs, long_enough, strict=True)]
    )


def trigger_cost(scores: F64, labels: npt.NDArray[np.int64]) -> int:
    false_alarms = int(((scores >= TRIGGER) & (labels == 0)).sum())
    misses = int(((scores < TRIGGER) & (labels > 0)).sum())
    return CALM_FALSE_ALARM_COST * false_alarms + misses


def in_band(scores: F64, labels: npt.NDArray[np.int64]) -> int:
    return sum(BANDS[y][0] <= s < BANDS[y][1] for s, y in zip(scores, labels, strict=True))


def report(name: str, scores: F64, labels: npt.NDArray[np.int64]) -> None:
    parts = []
    for index, label in enumerate(TONE_LABELS):
        mask = labels == index
        trig = ((scores[mask] >= TRIGGER) == (index > 0)).mean()
        band = in_band(scores[mask], labels[mask]) / mask.sum()
        parts.append(f"{label} trigger {trig:.1%} band {band:.1%}")
    print(f"dev {name}: " + "; ".join(parts), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="report the dev figures, write nothing")
    args = parser.parse_args()

    texts = [*CALM, *FRUSTRATED, *ANGRY]
    labels = np.array([0] * len(CALM) + [1] * len(FRUSTRATED) + [2] * len(ANGRY), dtype=np.int64)
    if len(set(texts)) != len(texts):
        raise SystemExit("frustration_examples.py has duplicate messages")
    embeddings = MiniLMEmbedder(threads=1).encode(texts)
    dev = np.array([is_dev(t) for t in texts])
    print(
        f"{len(texts)} messages: train {np.bincount(labels[~dev]).tolist()}, "
        f"dev {np.bincount(labels[dev]).tolist()} (calm, frustrated, angry)",
        flush=True,
    )

    best_c, best_loss = C_GRID[0], float("inf")
    for c in C_GRID:
        model = fit(embeddings[~dev], labels[~dev], c)
        loss = float(log_loss(labels[dev], model.predict_proba(embeddings[dev]), labels=[0, 1, 2]))
        print(f"C={c:g}: dev log-loss {loss:.4f}", flush=True)
        if loss < best_loss:
            best_c, best_loss = c, loss
    print(f"chosen C={best_c:g}", flush=True)

    model = fit(embeddings[~dev], labels[~dev], best_c)
    dev_probs = model.predict_proba(embeddings[dev])
    dev_texts = [t for t, d in zip(texts, dev, strict=True) if d]
    dev_labels = labels[dev]
    rules_scorer = FrustrationScorer(use_tone=False)
    rules = [rules_scorer.rules(t)[0] for t in dev_texts]
    long_enough = [tone_applies(t) for t in dev_texts]

    # Highest threshold among the cheapest: the grids are walked from the top.
    upset = min(
        reversed(UPSET_GRID), key=lambda u: trigger_cost(combined(rules, dev_probs, long_enough, u, 1.0), dev_labels)
    )
    angry = max(
        reversed(ANGRY_GRID), key=lambda a: in_band(combined(rules, dev_probs, long_enough, upset, a), dev_labels)
    )
    print(f"chosen upset_threshold={upset}, angry_threshold={angry}", flush=True)
    report("rules alone", np.array(rules), dev_labels)
    report("rules + model", combined(rules, dev_probs, long_enough, upset, angry), dev_labels)

    final = fit(embeddings, labels, best_c)
    weights = ToneWeights(
        coef=np.ascontiguousarray(final.coef_.T, dtype=np.float32),
        bias=np.asarray(final.intercept_, dtype=np.float32),
        upset_threshold=upset,
        angry_threshold=angry,
        C=best_c,
    )
    if args.dry_run:
        return
    TONE_MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    weights.save(TONE_MODEL_PATH)
    print(f"wrote {TONE_MODEL_PATH} ({TONE_MODEL_PATH.stat().st_size} bytes)")
    print(f'TONE_MODEL_SHA256 = "{file_sha256(TONE_MODEL_PATH)}"')


if __name__ == "__main__":
    main()
