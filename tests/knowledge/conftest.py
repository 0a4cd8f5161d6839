from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from helpline.knowledge import KnowledgeIndex, load_articles

DEMO_KB = Path(__file__).resolve().parents[2] / "examples" / "demo" / "knowledge"

# Embedding all 200+ demo passages with the numpy MiniLM takes longer than the whole test budget
# on a small box, so the real-embedder tests index a slice of the demo knowledge base that still
# has near neighbours (several troubleshooting and billing articles) and both internal articles.
DEMO_SUBSET = (
    "app-error-codes",
    "charges-on-your-statement",
    "escalation-guidelines",
    "espresso-taste",
    "goodwill-credit",
    "login-troubleshooting",
    "machine-offline",
    "payment-methods",
    "returns-and-refunds",
    "shipping-and-delivery",
    "wifi-pairing",
)


class HashingEmbedder:
    """A fast, deterministic stand-in for MiniLM: a hashed bag of words, L2-normalised."""

    dimension = 64

    def __init__(self) -> None:
        self.calls: list[str] = []

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.extend(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return out / norms


@pytest.fixture()
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    from helpline.understanding.embeddings import MiniLMEmbedder

    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def demo_index(minilm) -> KnowledgeIndex:  # type: ignore[no-untyped-def]
    index = KnowledgeIndex(minilm)
    index.build(a for a in load_articles(DEMO_KB) if a.id in DEMO_SUBSET)
    return index
