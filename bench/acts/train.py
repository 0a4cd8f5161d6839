"""Train the dialogue-act model shipped as ``helpline/understanding/models/dialogue_acts.npz``.

Run: ``.venv/bin/python -m bench.acts.train [--bulk N] [--quick]``. Reads the SGD user turns from
../shared at run time, embeds them with MiniLM (cached under var/acts, so reruns take seconds),
fits one-vs-rest logistic regression over [embedding | hashed n-grams] for every act at once, picks
the configuration and each act's threshold on dev data only (SGD dev and the dev half of
act_examples.py), writes the weights and prints the sha256 to paste into acts.py. SGD test and
bench/acts/support_heldout.yaml are never read here.

Labels for the support acts on SGD turns: SGD's user turns never ask for a repeat, challenge a bot or
report a failed fix, so they are negatives for those acts. Two support acts do occur in SGD under
other names, and are labelled from the words (weak labels, for training only): a turn opening with
a greeting is GREET (SGD annotates "Hi, find me a restaurant" as INFORM_INTENT alone), and a closing
turn saying "that's all" / "nothing else" is NOTHING_ELSE; other closing turns ("No, thank you") are
left out of NOTHING_ELSE's loss, since only the question they answer tells whether they mean it.
Likewise a thanks, a leading "yes" or a leading "no" that SGD leaves unannotated because of the
system turn before it is left out of THANK_YOU's, AFFIRM's and NEGATE's loss (CONVENTION_CUES).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from bench.acts.data import CACHE, EmbeddingCache, SgdSplit, read_sgd, subsample, support_split
from helpline.understanding.act_examples import ActExample
from helpline.understanding.acts import MODEL_PATH, SGD_ACTS, SUPPORT_ACTS, ActWeights, DialogueAct, ngram_features
from helpline.understanding.embeddings import DIMENSION, file_sha256

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
ACTS: tuple[DialogueAct, ...] = SGD_ACTS + SUPPORT_ACTS
REPORT = CACHE / "train_report.json"
# The acts the evaluation holds to >= 90 %; configuration choice weighs them with the support acts.
TARGET_ACTS = (
    DialogueAct.AFFIRM,
    DialogueAct.NEGATE,
    DialogueAct.THANK_YOU,
    DialogueAct.GOODBYE,
    DialogueAct.REQUEST_ALTS,
    DialogueAct.NEGATE_INTENT,
)
# On support examples only these SGD acts are annotated (act_examples.py); the rest are unknown.
SUPPORT_KNOWN_SGD = (DialogueAct.AFFIRM, DialogueAct.NEGATE, DialogueAct.THANK_YOU, DialogueAct.GOODBYE)
_CLOSING = {DialogueAct.NEGATE, DialogueAct.GOODBYE, DialogueAct.THANK_YOU, DialogueAct.SELECT, DialogueAct.AFFIRM}
# SGD annotates by the system turn a reply answers: thanks that come with accepting an offer are not
# THANK_YOU ("Perfect, thanks." is SELECT alone, 20 % of train turns with a thanks word), while a closing
# "No, that's all" is THANK_YOU without any thanks; a "yes" to an offered action is AFFIRM_INTENT, not
# AFFIRM, a "no" to one NEGATE_INTENT. Helpline reads replies without that turn and wants THANK_YOU to
# mean "thanked" ("yes makes sense, thanks!" = AFFIRM + THANK_YOU), so on such turns the act is left out
# of the loss (neither taught as present nor as absent). evaluate.py reports SGD test both ways.
CONVENTION_CUES: dict[DialogueAct, re.Pattern[str]] = {
    DialogueAct.THANK_YOU: re.compile(
        r"\b(thank\w*|than you|thanx|thnx|thx|ty|tks|cheers|appreciat\w*|grateful)\b", re.I
    ),
    DialogueAct.AFFIRM: re.compile(r"^\W*(yes|yeah|yep|yup|yea|sure|absolutely|definitely|correct)\b", re.I),
    DialogueAct.NEGATE: re.compile(r"^\W*(no|nope|nah)\b", re.I),
}
# Acts Helpline only gives a turn whose words carry the cue.
_CUE_REQUIRED = {DialogueAct.THANK_YOU}


def convention_differs(act: DialogueAct, text: str, annotated: bool) -> bool:
    """Whether SGD's annotation of ``act`` on this turn follows its convention rather than Helpline's."""
    cue = CONVENTION_CUES.get(act)
    if cue is None:
        return False
    cued = cue.search(text) is not None
    return (not annotated and cued) or (annotated and not cued and act in _CUE_REQUIRED)


_GREETING = re.compile(r"^\W*(hi|hello|hey|hiya|howdy|greetings|good (morning|afternoon|evening))\b", re.I)
_NOTHING_ELSE = re.compile(
    r"\bthat\W{0,2}(s|is|was|will be|would be|ll be|d be)( about)? (all|it|everything)\b"
    r"|\bnothing (else|more|further)\b|\ball set\b|\bi'?m (good|fine|all set)\b|\bno (more|further) questions\b",
    re.I,
)


@dataclass(frozen=True)
class Config:
    lam: float = 1e-5  # L2 on the SGD acts' weights, per mean sample loss
    support_lam: float = 1e-5  # L2 on the support acts' weights: they learn from a few dozen examples each
    embedding_scale: float = 2.0  # the embedding block's scale against the unit-norm n-gram block
    buckets: int = 8192
    char_weight: float = 0.5  # 0 = word n-grams only
    use_ngrams: bool = True
    support_weight: float = 20.0  # one support example against one SGD turn
    max_iter: int = 400


GRID = (
    Config(use_ngrams=False),
    Config(),
    Config(char_weight=0.0),
    Config(lam=3e-6, support_lam=3e-6, support_weight=100.0),
    Config(lam=3e-6, support_lam=3e-5, support_weight=100.0),
    Config(lam=3e-6, support_lam=1e-4, support_weight=100.0),
    Config(lam=3e-6, support_lam=3e-5, support_weight=20.0),
)


@dataclass
class Rows:
    """Training or dev rows: texts, their embeddings, labels in [0, 1], which labels count, weights."""

    texts: list[str]
    emb: F32
    labels: F32  # (n, acts), soft for SGD texts annotated differently in different turns
    known: F32  # (n, acts): 1 where the label is part of the loss
    weight: F32  # (n,)
    is_support: npt.NDArray[np.bool_]

    def __add__(self, other: Rows) -> Rows:
        return Rows(
            self.texts + other.texts,
            np.vstack([self.emb, other.emb]),
            np.vstack([self.labels, other.labels]),
            np.vstack([self.known, other.known]),
            np.concatenate([self.weight, other.weight]),
            np.concatenate([self.is_support, other.is_support]),
        )


def sgd_rows(split: SgdSplit, idx: npt.NDArray[np.intp], weight: F32, emb: F32) -> Rows:
    n, k = len(idx), len(ACTS)
    labels = np.zeros((n, k), dtype=np.float32)
    known = np.ones((n, k), dtype=np.float32)
    soft = split.soft_labels[idx]
    labels[:, : len(SGD_ACTS)] = soft
    texts = [split.texts[i] for i in idx]
    closing_cols = [SGD_ACTS.index(a) for a in _CLOSING]
    open_cols = [i for i in range(len(SGD_ACTS)) if i not in closing_cols]
    end_cols = [SGD_ACTS.index(DialogueAct.NEGATE), SGD_ACTS.index(DialogueAct.GOODBYE)]
    greet, nothing = ACTS.index(DialogueAct.GREET), ACTS.index(DialogueAct.NOTHING_ELSE)
    for act in CONVENTION_CUES:
        col = ACTS.index(act)
        for row, text in enumerate(texts):
            if convention_differs(act, text, bool(soft[row, col] >= 0.5)):
                known[row, col] = 0.0
    for row, text in enumerate(texts):
        labels[row, greet] = 1.0 if _GREETING.search(text) else 0.0
        # Most of the text's turns close the conversation (a few annotations of any text are noise).
        closing = soft[row, open_cols].max() < 0.5
        says_nothing_else = _NOTHING_ELSE.search(text) is not None
        if closing and says_nothing_else:
            labels[row, nothing] = 1.0
        elif says_nothing_else or (closing and soft[row, end_cols].max() > 0):
            # "No, I'm good for now" declining an offered booking (NEGATE_INTENT), "No, thank you":
            # whether they mean "nothing else" depends on the question, which we do not have.
            known[row, nothing] = 0.0
    return Rows(texts, emb, labels, known, weight.astype(np.float32), np.zeros(n, dtype=bool))


def _annotated(act: DialogueAct, support_act: DialogueAct | None) -> bool:
    """Whether act_examples.py annotates ``act`` on an example of ``support_act`` (None: a negative).

    The support acts and AFFIRM / NEGATE / THANK_YOU / GOODBYE always. The other SGD acts only on
    support-act examples (a greeting with a request is tagged INFORM_INTENT too, so "hi there" learns
    it is not one); the negatives are mostly requests, left untagged. INFORM (a slot value) stays open
    on reports of a device's state ("the light is still blinking red").
    """
    if act in SUPPORT_ACTS or act in SUPPORT_KNOWN_SGD:
        return True
    if support_act is None:
        return False
    return not (act is DialogueAct.INFORM and support_act in (DialogueAct.STILL_BROKEN, DialogueAct.FIXED))


def support_rows(examples: Sequence[ActExample], emb: F32, weight: float) -> Rows:
    n, k = len(examples), len(ACTS)
    labels = np.zeros((n, k), dtype=np.float32)
    known = np.zeros((n, k), dtype=np.float32)
    for row, example in enumerate(examples):
        support_act = next((a for a in SUPPORT_ACTS if a in example.acts), None)
        for col, act in enumerate(ACTS):
            positive = act in example.acts
            labels[row, col] = float(positive)
            known[row, col] = float(_annotated(act, support_act))
            # "that's all I need" is NEGATE or GOODBYE in SGD depending on the question before it.
            if (
                DialogueAct.NOTHING_ELSE in example.acts
                and act in (DialogueAct.NEGATE, DialogueAct.GOODBYE)
                and not positive
            ):
                known[row, col] = 0.0
    return Rows([e.text for e in examples], emb, labels, known, np.full(n, weight, dtype=np.float32), np.ones(n, bool))


def ngram_matrix(texts: Sequence[str], cfg: Config) -> sp.csr_matrix:
    indptr, indices, values = [0], [], []
    for text in texts:
        idx, val = ngram_features(text, cfg.buckets, cfg.char_weight)
        indices.append(idx)
        values.append(val)
        indptr.append(indptr[-1] + len(idx))
    return sp.csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.asarray(indptr)), shape=(len(texts), cfg.buckets)
    )


def fit(rows: Rows, cfg: Config) -> ActWeights:
    """Minimise the weighted, masked binary cross-entropy of every act at once with L-BFGS."""
    k = len(ACTS)
    emb = rows.emb.astype(np.float64) * cfg.embedding_scale
    grams = ngram_matrix(rows.texts, cfg) if cfg.use_ngrams else sp.csr_matrix((len(rows.texts), cfg.buckets))
    grams_t = grams.T.tocsr()
    y = rows.labels.astype(np.float64)
    # Per-label weight: the sample's weight where the label is known, 0 elsewhere; normalised so lam
    # means the same whatever the number of rows.
    cw = rows.known.astype(np.float64) * rows.weight[:, None]
    cw /= rows.weight.sum()
    n_emb, n_gram = DIMENSION * k, cfg.buckets * k

    def unpack(theta: F64) -> tuple[F64, F64, F64]:
        return (
            theta[:n_emb].reshape(DIMENSION, k),
            theta[n_emb : n_emb + n_gram].reshape(cfg.buckets, k),
            theta[n_emb + n_gram :],
        )

    def loss_grad(theta: F64) -> tuple[float, F64]:
        we, wg, b = unpack(theta)
        z = emb @ we + grams @ wg + b
        # log(1 + e^z) - y z, computed stably
        loss = float((cw * (np.logaddexp(0.0, z) - y * z)).sum())
        g = cw * (1.0 / (1.0 + np.exp(-z)) - y)
        loss += 0.5 * float((lam * (we * we)).sum() + (lam * (wg * wg)).sum())
        grad = np.concatenate(
            [
                (emb.T @ g + lam * we).ravel(),
                (np.asarray(grams_t @ g) + lam * wg).ravel(),
                g.sum(axis=0),
            ]
        )
        return loss, grad

    theta0 = np.zeros(n_emb + n_gram + k)
    lam = np.asarray([cfg.support_lam if act in SUPPORT_ACTS else cfg.lam for act in ACTS])
    result = minimize(loss_grad, theta0, jac=True, method="L-BFGS-B", options={"maxiter": cfg.max_iter})
    we, wg, b = unpack(result.x)
    return ActWeights(
        acts=ACTS,
        embedding=(we * cfg.embedding_scale).astype(np.float32),
        ngrams=wg.astype(np.float32),
        bias=b.astype(np.float32),
        thresholds=np.full(k, 0.5, dtype=np.float32),
        char_weight=cfg.char_weight,
    )


def probabilities(weights: ActWeights, texts: Sequence[str], emb: F32) -> F64:
    """Batch version of DialogueActClassifier.predict (same arithmetic, checked in the tests)."""
    cfg_buckets = weights.buckets
    grams = ngram_matrix(texts, Config(buckets=cfg_buckets, char_weight=weights.char_weight))
    z = emb.astype(np.float64) @ weights.embedding + grams @ weights.ngrams + weights.bias
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def best_threshold(p: F64, y: F64, w: F64) -> tuple[float, float]:
    """The threshold maximising weighted F1 (y may be soft); the middle of the best plateau."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    f1s = []
    for t in grid:
        hit = p >= t
        tp = float((w * y * hit).sum())
        fp = float((w * (1 - y) * hit).sum())
        fn = float((w * y * ~hit).sum())
        f1s.append(2 * tp / max(2 * tp + fp + fn, 1e-12))
    scores = np.asarray(f1s)
    best = np.flatnonzero(scores >= scores.max() - 1e-9)
    return float(grid[best[len(best) // 2]]), float(scores.max())


@dataclass
class DevSet:
    sgd: Rows  # unique SGD dev texts, weight = number of turns
    support: Rows


def tune(weights: ActWeights, dev: DevSet) -> tuple[ActWeights, dict[str, float]]:
    """Each act's threshold on dev. SGD acts: SGD dev turns plus the support dev examples where they
    are annotated. Support acts: the support dev half against SGD dev turns as negatives (the weak
    labels are left out: they come from regexes, and tuning on them would tune to the regex)."""
    both = dev.sgd + dev.support
    p = probabilities(weights, both.texts, both.emb)
    thresholds = np.empty(len(ACTS), dtype=np.float32)
    f1: dict[str, float] = {}
    for col, act in enumerate(ACTS):
        w = (both.known[:, col] * both.weight).astype(np.float64)
        if act in SUPPORT_ACTS:
            weak = ~both.is_support & (both.labels[:, col] > 0)
            w = np.where(weak, 0.0, w)
        thresholds[col], f1[str(act)] = best_threshold(p[:, col], both.labels[:, col].astype(np.float64), w)
    tuned = ActWeights(weights.acts, weights.embedding, weights.ngrams, weights.bias, thresholds, weights.char_weight)
    return tuned, f1


def score(f1: dict[str, float]) -> float:
    target = np.mean([f1[str(a)] for a in TARGET_ACTS])
    support = np.mean([f1[str(a)] for a in SUPPORT_ACTS])
    return float((target + support) / 2)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk", type=int, default=15000, help="SGD train texts kept with only slot-filling acts")
    parser.add_argument("--quick", action="store_true", help="only the first configuration")
    parser.add_argument("--configs", type=int, nargs="*", help="indices into GRID to compare (default: all)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    cache = EmbeddingCache()
    train_sgd, dev_sgd = read_sgd("train"), read_sgd("dev")
    idx, weight = subsample(train_sgd, args.bulk)
    train_texts = [train_sgd.texts[i] for i in idx]
    sup_train, sup_dev = support_split("train"), support_split("dev")
    train = sgd_rows(train_sgd, idx, weight, cache.encode(train_texts, "SGD train"))
    dev_all = np.arange(len(dev_sgd.texts))
    dev = DevSet(
        sgd_rows(dev_sgd, dev_all, dev_sgd.counts.astype(np.float32), cache.encode(dev_sgd.texts, "SGD dev")),
        support_rows(sup_dev, cache.encode([e.text for e in sup_dev], "support dev"), 1.0),
    )
    sup_train_emb = cache.encode([e.text for e in sup_train], "support train")
    embed_seconds = time.perf_counter() - began
    print(f"train: {len(train_texts)} SGD texts + {len(sup_train)} support examples; dev: {len(dev_sgd.texts)} "
          f"SGD texts ({len(dev_sgd.turn_text)} turns) + {len(sup_dev)} support examples", flush=True)

    results = []
    with threadpool_limits(limits=1, user_api="blas"):
        grid = GRID[:1] if args.quick else GRID if args.configs is None else tuple(GRID[i] for i in args.configs)
        for cfg in grid:
            start = time.perf_counter()
            model, f1 = tune(fit(train + support_rows(sup_train, sup_train_emb, cfg.support_weight), cfg), dev)
            seconds = time.perf_counter() - start
            results.append((score(f1), cfg, model, f1, seconds))
            shown = " ".join(f"{a}={f1[str(a)]:.3f}" for a in (*TARGET_ACTS, *SUPPORT_ACTS))
            print(f"{cfg}: dev score {score(f1):.4f} ({seconds:.0f} s)\n  {shown}", flush=True)
    best_score, cfg, model, f1, fit_seconds = max(results, key=lambda r: r[0])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    digest = file_sha256(args.out)
    total = time.perf_counter() - began
    REPORT.write_text(
        json.dumps(
            {
                "config": asdict(cfg),
                "dev_f1": f1,
                "thresholds": {str(a): float(t) for a, t in zip(ACTS, model.thresholds, strict=True)},
                "train_sgd_texts": len(train_texts),
                "train_support_examples": len(sup_train),
                "dev_sgd_texts": len(dev_sgd.texts),
                "dev_support_examples": len(sup_dev),
                "fit_seconds": fit_seconds,
                "configs_tried": len(results),
                "total_seconds": total,
                "embedding_seconds": embed_seconds,
                "embedded_now": cache.embedded,
                "embedding_rate": cache.embedded / cache.seconds if cache.seconds else None,
                "sha256": digest,
                "bytes": args.out.stat().st_size,
            },
            indent=2,
        )
    )
    print(f"chose {cfg} (dev score {best_score:.4f}); thresholds: "
          + ", ".join(f"{a}={t:.2f}" for a, t in zip(ACTS, model.thresholds, strict=True)))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB) in {total:.0f} s "
          f"(embedding {embed_seconds:.0f} s, last fit {fit_seconds:.0f} s)")
    print(f'MODEL_SHA256 = "{digest}"')


if __name__ == "__main__":
    main()
