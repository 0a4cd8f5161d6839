"""Dialogue acts: what a customer's reply *does* (agrees, refuses, thanks, says the fix failed, ...).

Intents say what a customer wants; acts say how a reply moves the conversation, and customers
phrase them in more ways than regexes can list ("did that, no luck", "nope all good", "thats it").
The model is one-vs-rest logistic regression, one sigmoid per act so that a turn can carry several
("yes makes sense, thanks!" = AFFIRM + THANK_YOU), over the MiniLM sentence embedding plus hashed word
and character n-grams: the embedding carries paraphrase, the n-grams the short function words
("still", "now", "no") and the misspellings that decide between acts the embedding puts side by side.

It is trained by ``bench/acts/train.py`` on the user turns of the Schema-Guided Dialogue corpus
(CC BY-SA 4.0, Rastogi et al. 2020) plus the support examples in ``act_examples.py``; the weights and
the per-act thresholds (tuned on dev data) ship in ``models/dialogue_acts.npz``, which carries
SGD's licence (docs/licensing.md). The file's sha256 is pinned below so a swapped or corrupted
model fails loudly instead of quietly misreading customers.

The classifier sees one message without the question it answers: "no thanks" after "anything
else?" means nothing else, after "shall I email the receipt?" it refuses. Reading acts in the light
of the open question is the caller's job.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt

from helpline.conversation.ports import Embedder
from helpline.understanding.embeddings import DIMENSION, ModelIntegrityError, verify_model_file

F32 = npt.NDArray[np.float32]

MODEL_PATH = Path(__file__).resolve().parent / "models" / "dialogue_acts.npz"
MODEL_SHA256 = "2360b7cdde4496d9eed4465b724aeddf375bff45b708122762b88c6a8f069213"


class DialogueAct(StrEnum):
    # From the Schema-Guided Dialogue annotation (user side).
    AFFIRM = "affirm"  # yes / that's right
    NEGATE = "negate"  # no / that's not it (SGD also puts "no, that's all" here)
    THANK_YOU = "thank_you"
    GOODBYE = "goodbye"  # SGD: the customer closes the conversation ("that's all I need, bye")
    REQUEST_ALTS = "request_alts"  # something else / other options
    NEGATE_INTENT = "negate_intent"  # declines an offered action ("not right now")
    AFFIRM_INTENT = "affirm_intent"  # accepts an offered action ("yes, book it")
    INFORM_INTENT = "inform_intent"  # states a new goal ("I want to return a kettle")
    REQUEST = "request"  # asks for a value ("what's their address?")
    INFORM = "inform"  # gives a value ("for 2 people at 7pm")
    SELECT = "select"  # picks an offered option ("that one works")
    # Support conversations, from act_examples.py.
    STILL_BROKEN = "still_broken"  # the suggested fix did not help
    FIXED = "fixed"  # the problem is solved
    NOTHING_ELSE = "nothing_else"  # no further request
    GREET = "greet"
    BOT_CHALLENGE = "bot_challenge"  # asks whether they are talking to a machine
    REPEAT = "repeat"  # asks to hear the last reply again
    NOT_UNDERSTOOD = "not_understood"  # did not understand the last reply


SGD_ACTS: tuple[DialogueAct, ...] = (
    DialogueAct.AFFIRM,
    DialogueAct.NEGATE,
    DialogueAct.THANK_YOU,
    DialogueAct.GOODBYE,
    DialogueAct.REQUEST_ALTS,
    DialogueAct.NEGATE_INTENT,
    DialogueAct.AFFIRM_INTENT,
    DialogueAct.INFORM_INTENT,
    DialogueAct.REQUEST,
    DialogueAct.INFORM,
    DialogueAct.SELECT,
)
SUPPORT_ACTS: tuple[DialogueAct, ...] = (
    DialogueAct.STILL_BROKEN,
    DialogueAct.FIXED,
    DialogueAct.NOTHING_ELSE,
    DialogueAct.GREET,
    DialogueAct.BOT_CHALLENGE,
    DialogueAct.REPEAT,
    DialogueAct.NOT_UNDERSTOOD,
)

# Acts one message cannot both carry: a customer who says the fix failed has neither had it work nor
# finished. The model scores each act on its own and, with few support examples, "still nothing"
# scores for NOTHING_ELSE on the word "nothing"; when both pass, the one further past its threshold
# (in log-odds) wins.
EXCLUSIVE: tuple[tuple[DialogueAct, DialogueAct], ...] = (
    (DialogueAct.STILL_BROKEN, DialogueAct.FIXED),
    (DialogueAct.STILL_BROKEN, DialogueAct.NOTHING_ELSE),
)

# --- hashed n-grams ------------------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9\u00c0-\u024f]+|[?!]")
_APOSTROPHES = re.compile(r"['\u2019\u2018`]")


def _tokens(text: str) -> list[str]:
    # Apostrophes are dropped rather than split on, so "that's" and the typed "thats" are one token.
    return _TOKEN.findall(_APOSTROPHES.sub("", text.lower()))


def ngram_features(text: str, buckets: int, char_weight: float) -> tuple[npt.NDArray[np.int64], F32]:
    """Hashed n-gram features of ``text``: bucket indices and their values (the block has unit norm).

    Word unigrams and bigrams, with the first and last token marked (a leading "no" is a refusal, a
    trailing "no" rarely), and character trigrams inside words at ``char_weight`` for misspellings
    ("thnks", "dosent"). crc32 is stable across processes and Python versions, unlike ``hash()``.
    """
    tokens = _tokens(text)
    if not tokens:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    feats: dict[int, float] = {}

    def add(key: str, value: float) -> None:
        index = zlib.crc32(key.encode()) % buckets
        feats[index] = feats.get(index, 0.0) + value

    padded = ["<s>", *tokens, "</s>"]
    for token in tokens:
        add("w:" + token, 1.0)
    for first, second in pairwise(padded):
        add(f"b:{first} {second}", 1.0)
    if char_weight > 0:
        for token in tokens:
            marked = f"<{token}>"
            for i in range(len(marked) - 2):
                add("c:" + marked[i : i + 3], char_weight)
    index = np.fromiter(feats.keys(), dtype=np.int64, count=len(feats))
    values = np.fromiter(feats.values(), dtype=np.float32, count=len(feats))
    values /= np.float32(max(float(np.linalg.norm(values)), 1e-12))
    return index, values


# --- the model -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActWeights:
    """Everything in ``dialogue_acts.npz``; the arrays are float32 in memory whatever the file holds."""

    acts: tuple[DialogueAct, ...]
    embedding: F32  # (384, acts), applied to the unit-norm MiniLM embedding
    ngrams: F32  # (buckets, acts); one row per hash bucket, so a message sums a few rows
    bias: F32  # (acts,)
    thresholds: F32  # (acts,) the decision point per act, tuned on dev data
    char_weight: float

    @property
    def buckets(self) -> int:
        return int(self.ngrams.shape[0])

    def save(self, path: Path) -> None:
        # float16 halves the file (the n-gram table dominates); the rounding moves a probability by
        # well under 0.001.
        np.savez_compressed(
            path,
            acts=np.array([str(a) for a in self.acts]),
            embedding=self.embedding.astype(np.float16),
            ngrams=self.ngrams.astype(np.float16),
            bias=self.bias.astype(np.float32),
            thresholds=self.thresholds.astype(np.float32),
            char_weight=np.float32(self.char_weight),
        )

    @classmethod
    def read(cls, path: Path) -> ActWeights:
        with np.load(path, allow_pickle=False) as data:
            acts = tuple(DialogueAct(str(a)) for a in data["acts"])
            weights = cls(
                acts=acts,
                embedding=np.asarray(data["embedding"], dtype=np.float32),
                ngrams=np.asarray(data["ngrams"], dtype=np.float32),
                bias=np.asarray(data["bias"], dtype=np.float32),
                thresholds=np.asarray(data["thresholds"], dtype=np.float32),
                char_weight=float(data["char_weight"]),
            )
        k = len(acts)
        if weights.embedding.shape != (DIMENSION, k) or weights.ngrams.shape[1:] != (k,) or weights.bias.shape != (k,):
            raise ModelIntegrityError(f"{path} has inconsistent array shapes")
        return weights


class DialogueActClassifier:
    """Probabilities of each dialogue act for one customer message."""

    def __init__(self, weights: ActWeights, embedder: Embedder | None = None) -> None:
        self.weights = weights
        self._embedder = embedder
        self._thresholds = {act: float(t) for act, t in zip(weights.acts, weights.thresholds, strict=True)}

    @classmethod
    def load(
        cls,
        path: Path = MODEL_PATH,
        expected_sha256: str = MODEL_SHA256,
        embedder: Embedder | None = None,
    ) -> DialogueActClassifier:
        """The shipped model, after checking the file is byte-for-byte the one that was evaluated."""
        verify_model_file(path, expected_sha256, "dialogue-act model",
                          "the file is corrupted or was retrained without updating MODEL_SHA256")
        return cls(ActWeights.read(path), embedder)

    @property
    def acts_known(self) -> tuple[DialogueAct, ...]:
        return self.weights.acts

    @property
    def thresholds(self) -> dict[DialogueAct, float]:
        return dict(self._thresholds)

    def logits(self, text: str, embedding: F32) -> F32:
        w = self.weights
        index, values = ngram_features(text, w.buckets, w.char_weight)
        out = embedding.astype(np.float32, copy=False) @ w.embedding + w.bias
        if index.size:
            out = out + values @ w.ngrams[index]
        return np.asarray(out, dtype=np.float32)

    def predict(self, text: str, embedding: F32 | None = None) -> dict[DialogueAct, float]:
        """Each act's probability. Pass ``embedding`` (the message's MiniLM vector) to reuse the one
        the intent classifier already computed instead of embedding the message again."""
        if embedding is None:
            embedding = self._embed(text)
        vec = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if vec.shape != (DIMENSION,):
            raise ValueError(f"embedding must have {DIMENSION} values, got {vec.shape}")
        logits = self.logits(text, vec)
        probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        return {act: float(p) for act, p in zip(self.weights.acts, probs, strict=True)}

    def acts(self, text: str, threshold: float | None = None, embedding: F32 | None = None) -> set[DialogueAct]:
        """The acts ``text`` carries: each act's tuned threshold, or one ``threshold`` for all (then the
        EXCLUSIVE pairs are not resolved, so threshold=0 really returns every act)."""
        probs = self.predict(text, embedding)
        if threshold is not None:
            return {act for act, p in probs.items() if p >= threshold}
        chosen = {act for act, p in probs.items() if p >= self._thresholds[act]}
        for first, second in EXCLUSIVE:
            if first in chosen and second in chosen:
                chosen.discard(min((first, second), key=lambda a: self._margin(a, probs[a])))
        return chosen

    def _margin(self, act: DialogueAct, probability: float) -> float:
        def logit(p: float) -> float:
            p = min(max(p, 1e-9), 1 - 1e-9)
            return float(np.log(p / (1 - p)))

        return logit(probability) - logit(self._thresholds[act])

    def _embed(self, text: str) -> F32:
        if self._embedder is None:
            from helpline.understanding.embeddings import MiniLMEmbedder

            self._embedder = MiniLMEmbedder()
        return np.asarray(self._embedder.encode([text])[0], dtype=np.float32)
