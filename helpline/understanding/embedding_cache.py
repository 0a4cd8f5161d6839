"""A disk cache of the pack's embeddings, so a restart does not embed the whole pack again.

Only batch calls are cached: those embed the business's own texts (procedure phrasings, knowledge
passages) when a pack loads. Single texts are customer messages and queries; they are passed straight
through and never written to disk.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from helpline.conversation.ports import Embedder

log = logging.getLogger(__name__)
F32 = npt.NDArray[np.float32]


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class CachedEmbedder:
    def __init__(self, inner: Embedder, path: Path, model_id: str = ""):
        self.inner = inner
        self.dimension = inner.dimension
        self.path = path
        self.model_id = model_id
        self._vectors: dict[str, F32] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            with np.load(self.path, allow_pickle=False) as data:
                if str(data["model_id"]) != self.model_id or data["vectors"].shape[1:] != (self.dimension,):
                    return
                self._vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring unreadable embedding cache %s: %s", self.path, exc)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors), dtype="U40")
        vectors = np.stack(list(self._vectors.values())).astype(np.float32)
        # write then rename: a crash mid-write never leaves a corrupt cache behind
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".npz")
        os.close(handle)
        np.savez(temporary, keys=keys, vectors=vectors, model_id=np.array(self.model_id))
        os.replace(temporary, self.path)

    def encode(self, texts: Sequence[str]) -> F32:
        if len(texts) <= 1:
            return self.inner.encode(texts)
        keys = [_key(t) for t in texts]
        missing = list({k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items())
        if missing:
            fresh = self.inner.encode([t for _, t in missing])
            for (key, _), vector in zip(missing, fresh, strict=True):
                self._vectors[key] = vector
            try:
                self._save()
            except OSError as exc:
                log.warning("cannot write embedding cache %s: %s", self.path, exc)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)
