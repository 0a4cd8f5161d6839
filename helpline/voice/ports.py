"""The small interfaces speech models sit behind, so a recogniser or a voice can be swapped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from helpline.voice.frames import AudioIn, KeypadDigit


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


class CallMedia(Protocol):
    """One call's audio as a transport (SIP/RTP, a media-stream WebSocket) offers it to the pipeline.

    Audio both ways is 16-bit mono PCM at `sample_rate` (8000 on the phone); the transport does the
    codec (G.711), the jitter buffer, packet timing and keypad events.
    """

    call_id: str
    caller: str  # the caller's number or URI as signalled
    callee: str
    sample_rate: int

    def receive(self) -> AsyncIterator[AudioIn | KeypadDigit]:
        """The caller's audio in 20 ms frames, in order, and keys pressed; ends when the call ends."""
        ...

    async def play(self, pcm: bytes) -> None:
        """Queue agent audio; the transport sends it out paced in real time. Returns at once."""
        ...

    def clear(self) -> None:
        """Drop every queued, unplayed agent sample now (barge-in)."""
        ...

    def queued_seconds(self) -> float:
        """How much agent audio is still waiting to go out."""
        ...

    async def hang_up(self) -> None:
        ...

    @property
    def ended(self) -> bool:
        ...
