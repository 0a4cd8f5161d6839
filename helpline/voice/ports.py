"""The small interfaces speech models sit behind, so a recogniser or a voice can be swapped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Recognition:
    text: str
    confidence: float  # 0..1


class SpeechRecognizer(Protocol):
    """Speech to text, offline. Blocking: the pipeline runs it in a worker thread."""

    sample_rate: int  # the rate it wants its PCM at

    def transcribe(self, pcm: bytes, hints: Sequence[str] = ()) -> Recognition:
        """`pcm` is 16-bit mono at `sample_rate`; `hints` are words the business expects (products, ids)."""
        ...


class SpeechSynthesizer(Protocol):
    """Text to speech, offline. Blocking: the pipeline runs it in a worker thread."""

    sample_rate: int  # the rate of the PCM it yields

    def synthesize(self, text: str) -> Iterator[bytes]:
        """16-bit mono PCM chunks, the first as soon as it is ready (so playback starts early)."""
        ...
