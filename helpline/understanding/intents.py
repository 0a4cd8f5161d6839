"""Intent classification: MiniLM sentence embeddings + TF-IDF n-grams into a linear model.

Embeddings carry meaning across paraphrases ("I don't need it any more" ~ "cancel"), while
word and character n-grams catch the exact domain words and misspellings the generic
embedding model blurs. A multinomial logistic regression over both gives probabilities that
sum to 1, trains in seconds on a business pack, and copes with classes of 2-5 examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from helpline.conversation.ports import Embedder, IntentScore

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class IntentClassifierConfig:
    """Tuned on Banking77 / CLINC150 validation splits (see bench/intents.py)."""

    C: float = 3.0
    embedding_weight: float = 2.0  # how much the embedding block counts against the n-gram blocks
    use_embeddings: bool = True
    use_tfidf: bool = True
    balanced: bool = True  # business packs mix 3 triggers for a procedure with 30 for "greet"
    max_iter: int = 1000
    tol: float = 1e-4


class IntentClassifier:
    def __init__(self, embedder: Embedder | None = None, config: IntentClassifierConfig | None = None) -> None:
        self.config = config or IntentClassifierConfig()
        if self.config.use_embeddings and embedder is None:
            from helpline.understanding.embeddings import MiniLMEmbedder

            embedder = MiniLMEmbedder()
        self._embedder = embedder
        # Word and character n-gram blocks, called directly rather than through a FeatureUnion: its transform
        # dispatches through joblib on every call, a cost paid per customer message (same matrix either way).
        self._tfidf: tuple[TfidfVectorizer, TfidfVectorizer] | None = None
        self._model: LogisticRegression | None = None
        self._labels: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    def fit(self, texts: Sequence[str], labels: Sequence[str], embeddings: F32 | None = None) -> IntentClassifier:
        """Train; ``embeddings`` lets a caller that already embedded ``texts`` skip doing it again."""
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        if len(set(labels)) < 2:
            raise ValueError("need at least two intents to train a classifier")
        cfg = self.config
        if cfg.use_tfidf:
            word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
            char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True)
            self._tfidf = (word.fit(list(texts)), char.fit(list(texts)))
        features = self._features(texts, embeddings)
        self._model = LogisticRegression(
            C=cfg.C,
            max_iter=cfg.max_iter,
            tol=cfg.tol,
            class_weight="balanced" if cfg.balanced else None,
        )
        self._model.fit(features, list(labels))
        self._labels = tuple(str(c) for c in self._model.classes_)
        return self

    def predict_proba(self, texts: Sequence[str], embeddings: F32 | None = None) -> F64:
        """Probabilities, one row per text, columns in the order of ``labels``."""
        if self._model is None:
            raise RuntimeError("IntentClassifier.fit() has not been called")
        if len(texts) == 0:
            return np.zeros((0, len(self._labels)))
        # The inputs are ours (strings, finite embeddings): sklearn's per-call input checks cost more than the
        # arithmetic on a single message, and skipping them changes no number.
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            return np.asarray(self._model.predict_proba(self._features(texts, embeddings)), dtype=np.float64)

    def predict(self, text: str) -> tuple[IntentScore, ...]:
        """All intents with their probability, best first."""
        return self._ranked(self.predict_proba([text])[0])

    def predict_many(self, texts: Sequence[str], embeddings: F32 | None = None) -> list[tuple[IntentScore, ...]]:
        return [self._ranked(row) for row in self.predict_proba(texts, embeddings)]

    def _ranked(self, row: F64) -> tuple[IntentScore, ...]:
        order = np.argsort(-row, kind="stable")
        return tuple(IntentScore(self._labels[i], float(row[i])) for i in order)

    def _features(self, texts: Sequence[str], embeddings: F32 | None) -> sp.csr_matrix:
        blocks: list[sp.spmatrix] = []
        cfg = self.config
        if cfg.use_tfidf:
            assert self._tfidf is not None
            # Each TF-IDF block is L2-normalised; halve both so together they weigh as one block.
            items = list(texts)
            ngrams = sp.hstack([vectoriser.transform(items) for vectoriser in self._tfidf], format="csr")
            blocks.append(ngrams * np.sqrt(0.5))
        if cfg.use_embeddings:
            if embeddings is None:
                assert self._embedder is not None
                embeddings = self._embedder.encode(list(texts))
            blocks.append(sp.csr_matrix(np.asarray(embeddings, dtype=np.float64) * cfg.embedding_weight))
        return sp.hstack(blocks, format="csr")


def is_out_of_scope(scores: Sequence[IntentScore], threshold: float, oos_label: str = "out_of_scope") -> bool:
    """True when the best intent is the out-of-scope class or is not confident enough."""
    if not scores:
        return True
    best = scores[0]
    return best.name == oos_label or best.score < threshold


def calibrate_threshold(
    top_scores: Sequence[float] | F64,
    is_oos: Sequence[bool] | npt.NDArray[np.bool_],
    min_in_scope_recall: float | None = None,
    criterion: str = "balanced",
) -> float:
    """Pick the confidence threshold below which a message is treated as out of scope.

    Uses held-out messages: ``top_scores`` are the best-intent probabilities, ``is_oos`` whether each
    message really is out of scope. Without ``min_in_scope_recall`` the threshold maximises
    ``criterion``: "balanced" (mean of in-scope acceptance and out-of-scope rejection, for held-out
    sets with few out-of-scope examples) or "accuracy" (share of all held-out messages handled
    right, when the held-out mix resembles real traffic). With ``min_in_scope_recall`` it is the
    highest threshold that still accepts that share of in-scope messages.
    """
    if criterion not in ("balanced", "accuracy"):
        raise ValueError(f"unknown criterion {criterion!r}")
    scores = np.asarray(top_scores, dtype=np.float64)
    oos = np.asarray(is_oos, dtype=bool)
    if scores.shape != oos.shape or scores.size == 0:
        raise ValueError("top_scores and is_oos must be non-empty and of equal length")
    inscope = scores[~oos]
    outscope = scores[oos]
    if min_in_scope_recall is not None:
        if inscope.size == 0:
            raise ValueError("need in-scope examples to keep their recall")
        ranked = np.sort(inscope)[::-1]
        keep = max(1, int(np.ceil(min_in_scope_recall * ranked.size - 1e-9)))
        return float(ranked[keep - 1])
    candidates = np.unique(np.concatenate([scores, [0.0]]))
    best_t, best_val = 0.0, -1.0
    for t in candidates:
        accept_in = float((inscope >= t).mean()) if inscope.size else 1.0
        reject_out = float((outscope < t).mean()) if outscope.size else 1.0
        if criterion == "accuracy":
            val = (accept_in * inscope.size + reject_out * outscope.size) / scores.size
        else:
            val = (accept_in + reject_out) / 2
        if val > best_val:
            best_t, best_val = float(t), val
    return best_t
