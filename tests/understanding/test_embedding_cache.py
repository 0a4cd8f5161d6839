from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from helpline.understanding.embedding_cache import CachedEmbedder


class CountingEmbedder:
    dimension = 4

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.seen += list(texts)
        return np.array([[len(t), 1, 0, 0] for t in texts], dtype=np.float32)


def test_batches_are_cached_on_disk_and_reused_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "e.npz"
    first = CountingEmbedder()
    vectors = CachedEmbedder(first, path, "m1").encode(["alpha", "beta", "alpha"])
    assert first.seen == ["alpha", "beta"] and vectors.shape == (3, 4)
    second = CountingEmbedder()
    again = CachedEmbedder(second, path, "m1").encode(["beta", "alpha", "gamma"])
    assert second.seen == ["gamma"]
    assert np.allclose(again[0], vectors[1]) and np.allclose(again[1], vectors[0])


def test_single_texts_are_never_written_to_disk(tmp_path: Path) -> None:
    path = tmp_path / "e.npz"
    inner = CountingEmbedder()
    CachedEmbedder(inner, path, "m1").encode(["my email is jane@example.com"])
    assert not path.exists()


def test_a_cache_from_another_model_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "e.npz"
    CachedEmbedder(CountingEmbedder(), path, "m1").encode(["a", "b"])
    other = CountingEmbedder()
    CachedEmbedder(other, path, "m2").encode(["a", "b"])
    assert other.seen == ["a", "b"]
