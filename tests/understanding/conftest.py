from __future__ import annotations

import pytest

from helpline.understanding.embeddings import MiniLMEmbedder


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    # Loading and verifying the weights costs ~0.3 s; share one instance across the session.
    return MiniLMEmbedder()
