"""What the dialogue-act training and evaluation share: the SGD splits read from ../shared at run time,
the support examples as labelled rows, and a chunked on-disk cache of MiniLM embeddings under var/.

The dataset is never copied into the repository; only the trained weights ship (docs/licensing.md).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from helpline.understanding.act_examples import SUPPORT_EXAMPLES, ActExample
from helpline.understanding.acts import SGD_ACTS, DialogueAct
from helpline.understanding.embeddings import DIMENSION, MODEL_SHA256, MiniLMEmbedder

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "var" / "acts"
F32 = npt.NDArray[np.float32]
# Chunks are cached separately so an interrupted run resumes where it stopped.
CHUNK = 2048


def sgd_dir() -> Path:
    return Path(os.environ.get("HELPLINE_SHARED", REPO.parent / "shared")) / "datasets" / "sgd-user-acts"


def normalise(text: str) -> str:
    """The dedup key: MiniLM's tokenizer is uncased, so case and spacing variants embed identically."""
    return " ".join(text.lower().split())


@dataclass
class SgdSplit:
    """One SGD split, turn by turn and as unique texts (many turns repeat: "Yes, that is correct.")."""

    name: str
    texts: list[str]  # unique normalised texts
    turn_text: npt.NDArray[np.intp]  # per turn: its index in ``texts``
    turn_acts: npt.NDArray[np.bool_]  # per turn x SGD_ACTS: the annotation
    turn_dialogue: list[str]

    @property
    def soft_labels(self) -> F32:
        """Per unique text: the share of its turns annotated with each act (the same words get
        different acts in different contexts, e.g. "that works for me" as AFFIRM or SELECT)."""
        sums = np.zeros((len(self.texts), len(SGD_ACTS)), dtype=np.float64)
        np.add.at(sums, self.turn_text, self.turn_acts.astype(np.float64))
        return (sums / self.counts[:, None]).astype(np.float32)

    @property
    def counts(self) -> npt.NDArray[np.float64]:
        return np.bincount(self.turn_text, minlength=len(self.texts)).astype(np.float64)


def read_sgd(split: str) -> SgdSplit:
    path = sgd_dir() / f"user_acts_{split}.jsonl.gz"
    index: dict[str, int] = {}
    turn_text: list[int] = []
    turn_acts: list[list[bool]] = []
    dialogues: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            key = normalise(row["text"])
            turn_text.append(index.setdefault(key, len(index)))
            names = {a["act"] for a in row["acts"]}
            turn_acts.append([act.name in names for act in SGD_ACTS])
            dialogues.append(row["dialogue"])
    return SgdSplit(
        name=split,
        texts=list(index),
        turn_text=np.asarray(turn_text, dtype=np.intp),
        turn_acts=np.asarray(turn_acts, dtype=bool),
        turn_dialogue=dialogues,
    )


def support_half(example: ActExample) -> str:
    """"train" or "dev", from the text's hash: stable across runs and edits of other examples."""
    return "dev" if zlib.crc32(normalise(example.text).encode()) % 2 else "train"


def support_split(half: str) -> list[ActExample]:
    return [e for e in SUPPORT_EXAMPLES if support_half(e) == half]


class EmbeddingCache:
    """MiniLM embeddings of many texts, cached in chunks keyed by content and by the model's sha256."""

    def __init__(self, root: Path = CACHE, threads: int = 1) -> None:
        # One BLAS thread: on this shared 2-core box two threads were 6x slower (110 vs 17 texts/s).
        self._embedder = MiniLMEmbedder(threads=threads, batch_size=64)
        self._root = root / f"minilm-{MODEL_SHA256[:12]}"
        self._root.mkdir(parents=True, exist_ok=True)
        self.embedded = 0
        self.seconds = 0.0

    def encode(self, texts: Sequence[str], label: str = "embedding") -> F32:
        import time

        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        chunks = list(range(0, len(texts), CHUNK))
        todo = [s for s in chunks if not self._path(texts[s : s + CHUNK]).exists()]
        with Progress(
            TextColumn(f"{label}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn()
        ) as progress:
            task = progress.add_task(label, total=sum(len(texts[s : s + CHUNK]) for s in todo))
            for start in chunks:
                part = texts[start : start + CHUNK]
                path = self._path(part)
                if path.exists():
                    out[start : start + len(part)] = np.load(path)
                    continue
                began = time.perf_counter()
                emb = self._embedder.encode(list(part))
                self.seconds += time.perf_counter() - began
                self.embedded += len(part)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, emb)
                tmp.replace(path)
                out[start : start + len(part)] = emb
                progress.advance(task, len(part))
        return out

    def _path(self, texts: Iterable[str]) -> Path:
        digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:24]
        return self._root / f"{digest}.npy"


def example_labels(examples: Sequence[ActExample], acts: Sequence[DialogueAct]) -> npt.NDArray[np.bool_]:
    return np.asarray([[a in e.acts for a in acts] for e in examples], dtype=bool)


# Acts whose texts are all kept when train is subsampled; turns with only these big, slot-filling acts
# are plentiful and matter less here, so a random part of them is enough.
_BULK = {DialogueAct.INFORM, DialogueAct.INFORM_INTENT, DialogueAct.REQUEST, DialogueAct.SELECT}


def subsample(split: SgdSplit, bulk_kept: int | None, seed: int = 0) -> tuple[npt.NDArray[np.intp], F32]:
    """Unique-text indices to train on and their weights: every text with a conversational act, plus
    ``bulk_kept`` of the rest, weighted up by the inverse of their sampling rate so the loss still sees
    train's own mix (None keeps everything)."""
    soft = split.soft_labels
    bulk_cols = [i for i, a in enumerate(SGD_ACTS) if a in _BULK]
    other_cols = [i for i, a in enumerate(SGD_ACTS) if a not in _BULK]
    conversational = soft[:, other_cols].max(axis=1) > 0
    keep = np.flatnonzero(conversational)
    bulk = np.flatnonzero(~conversational & (soft[:, bulk_cols].max(axis=1) > 0))
    weights = np.ones(len(split.texts), dtype=np.float32)
    if bulk_kept is not None and bulk_kept < len(bulk):
        rng = np.random.default_rng(seed)
        weights[bulk] = len(bulk) / bulk_kept
        bulk = rng.choice(bulk, size=bulk_kept, replace=False)
    chosen = np.sort(np.concatenate([keep, bulk]))
    return chosen, weights[chosen]
