from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from helpline.understanding.embeddings import (
    DIMENSION,
    MiniLMEmbedder,
    ModelIntegrityError,
    default_model_dir,
)


def test_shapes_and_normalisation(embedder: MiniLMEmbedder) -> None:
    vecs = embedder.encode(["hello there", "where is my order?", ""])
    assert vecs.shape == (3, DIMENSION)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert embedder.encode([]).shape == (0, DIMENSION)


def test_paraphrases_closer_than_unrelated(embedder: MiniLMEmbedder) -> None:
    a, b, c, d = embedder.encode(
        [
            "I want to cancel my order",
            "please cancel the order I placed",
            "what's the weather like in Paris tomorrow?",
            "my coffee machine will not turn on",
        ]
    )
    assert float(a @ b) > 0.6
    assert float(a @ b) > float(a @ c) + 0.3
    assert float(a @ b) > float(a @ d)


def test_batch_matches_single_and_order_is_kept(embedder: MiniLMEmbedder) -> None:
    texts = [f"a sentence of some length {'word ' * i}" for i in range(70)] + ["short"]
    batch = embedder.encode(texts)
    singles = np.vstack([embedder.encode([t]) for t in (texts[0], texts[50], texts[-1])])
    np.testing.assert_allclose(batch[[0, 50, -1]], singles, atol=1e-5)


def test_cached_single_is_not_mutated_by_callers(embedder: MiniLMEmbedder) -> None:
    first = embedder.encode(["yes please"])
    first[0, :] = 0.0
    again = embedder.encode(["yes please"])
    assert np.linalg.norm(again) == pytest.approx(1.0, abs=1e-5)


def test_long_text_is_truncated_not_rejected(embedder: MiniLMEmbedder) -> None:
    vec = embedder.encode(["refund " * 5000])
    assert vec.shape == (1, DIMENSION)


def test_rejects_a_bare_string(embedder: MiniLMEmbedder) -> None:
    with pytest.raises(TypeError):
        embedder.encode("hello")  # type: ignore[arg-type]


def test_sha_mismatch_raises() -> None:
    with pytest.raises(ModelIntegrityError, match="sha256"):
        MiniLMEmbedder(expected_sha256="0" * 64)


def test_corrupted_file_raises(tmp_path: Path) -> None:
    src = default_model_dir()
    shutil.copy(src / "tokenizer.json", tmp_path / "tokenizer.json")
    (tmp_path / "model.safetensors").write_bytes(b"not a model")
    with pytest.raises(ModelIntegrityError, match="corrupted"):
        MiniLMEmbedder(model_dir=tmp_path)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="not found"):
        MiniLMEmbedder(model_dir=tmp_path)
