"""Grouping lines that say the same thing in other words, with the runtime's own MiniLM sentence embeddings.

Two methods were compared on customer phrasings written for the purpose (bench/insight_clusters.py, figures in
docs/benchmarks.md), each tuned on 11 problems and measured on 8 others: agglomerative clustering with average
linkage over cosine distance cut at a distance threshold (held-out adjusted Rand index 0.89, 12 groups for 8
problems) and DBSCAN over the same distances (0.58, 20 groups). Agglomerative is the default: average linkage asks
a group to be close on the whole, while DBSCAN's single ``eps`` links a group through its nearest pairs only, so
the radius that keeps two problems apart leaves most paraphrases of one problem in groups of their own. Neither
needs the number of groups. The cost is quadratic in distinct lines, so callers cap how many they pass.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from sklearn.cluster import DBSCAN, AgglomerativeClustering

from helpline.conversation.ports import Embedder
from helpline.understanding.embedding_cache import CachedEmbedder

F32 = npt.NDArray[np.float32]
Method = Literal["agglomerative", "dbscan"]
# Cosine distances tuned on the dev half of the phrasings set (bench/insight_clusters.py).
AGGLOMERATIVE_THRESHOLD = 0.65
DBSCAN_EPS = 0.45
MAX_DISTINCT = 2000  # the distance matrix of 2000 lines is 32 MB; more would slow the console page


@dataclass(frozen=True)
class Grouping:
    """``labels[i]`` is the group of ``texts[i]``; groups are numbered from 0, largest first."""

    texts: tuple[str, ...]
    vectors: F32
    labels: tuple[int, ...]

    def members(self, group: int) -> list[int]:
        return [i for i, label in enumerate(self.labels) if label == group]

    @property
    def groups(self) -> int:
        return max(self.labels, default=-1) + 1

    def typical(self, group: int, weights: Sequence[int] | None = None) -> int:
        """The member closest to all the others (highest weighted mean cosine): the group's most typical line."""
        idx = self.members(group)
        sims = self.vectors[idx] @ self.vectors[idx].T
        w = np.asarray([weights[i] for i in idx] if weights is not None else [1] * len(idx), dtype=np.float32)
        return idx[int(np.argmax(sims @ w))]


def sentence_vectors(embedder: Embedder, texts: Sequence[str]) -> F32:
    """Embeddings of customer lines. The runtime's embedder caches the pack's own texts on disk; customer words
    must never be written there, so the model behind that cache is asked directly."""
    model = embedder.inner if isinstance(embedder, CachedEmbedder) else embedder
    return model.encode(list(texts))


@dataclass
class VectorMemo:
    """The vectors of lines embedded before, in memory only (never on disk: they are customers' words), so that
    reloading the insight page embeds only the contacts that came in since. Least recently used lines go first."""

    model: Embedder
    max_lines: int = 20_000  # 30 MB of vectors
    _vectors: OrderedDict[str, F32] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    dimension: int = field(init=False)

    def __post_init__(self) -> None:
        self.dimension = self.model.dimension

    def encode(self, texts: Sequence[str]) -> F32:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        fresh = sentence_vectors(self.model, missing) if missing else None
        with self._lock:
            if fresh is not None:
                self._vectors.update(zip(missing, fresh, strict=True))
            out = np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)
            for text in texts:
                self._vectors.move_to_end(text)
            while len(self._vectors) > self.max_lines:
                self._vectors.popitem(last=False)
        return out.astype(np.float32, copy=False)


def _labels(vectors: F32, method: Method, threshold: float | None) -> npt.NDArray[np.intp]:
    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=np.intp)
    if method == "agglomerative":
        model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                        distance_threshold=AGGLOMERATIVE_THRESHOLD if threshold is None else threshold)
        return np.asarray(model.fit_predict(vectors), dtype=np.intp)
    found = DBSCAN(eps=DBSCAN_EPS if threshold is None else threshold, min_samples=1, metric="cosine")
    return np.asarray(found.fit_predict(vectors), dtype=np.intp)


def group_texts(embedder: Embedder, texts: Sequence[str], weights: Sequence[int] | None = None,
                method: Method = "agglomerative", threshold: float | None = None) -> Grouping:
    """Group distinct lines by meaning; ``weights`` (how often each line was seen) order the groups."""
    vectors = sentence_vectors(embedder, texts) if texts else np.zeros((0, embedder.dimension), dtype=np.float32)
    raw = _labels(vectors, method, threshold)
    w = list(weights) if weights is not None else [1] * len(texts)
    sizes: dict[int, int] = {}
    for label, weight in zip(raw.tolist(), w, strict=True):
        sizes[label] = sizes.get(label, 0) + weight
    order = {label: rank for rank, label in enumerate(sorted(sizes, key=lambda label: (-sizes[label], label)))}
    return Grouping(tuple(texts), vectors, tuple(order[label] for label in raw.tolist()))
