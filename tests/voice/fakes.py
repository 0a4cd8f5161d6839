"""Stand-ins for the voice tests: a call that plays out in real time, a scripted recogniser, espeak-ng."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from helpline.voice.frames import (
    AgentSpeech,
    AudioIn,
    AudioOut,
    CallEnded,
    Direction,
    Frame,
    Interruption,
    KeypadDigit,
    Transcript,
    UserStoppedSpeaking,
    UtteranceDone,
)
from helpline.voice.pipeline import Processor
from helpline.voice.speakable import speakable
from helpline.voice.synthesis import EspeakSynthesizer, SynthesisProcessor
from tests.voice.speech import RATE, chunks, speak


class Collect(Processor):
    """Keeps every frame that reaches it (`seen`, in arrival order; also split by direction) and passes it on."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Frame] = []
        self.downstream: list[Frame] = []
        self.upstream: list[Frame] = []

    async def process(self, frame: Frame, direction: Direction) -> None:
        self.seen.append(frame)
        (self.upstream if direction is Direction.UPSTREAM else self.downstream).append(frame)
        await self.push(frame, direction)


@dataclass
class Heard:
    at: float
    pcm: bytes


class FakeCall:
    """A CallMedia whose agent audio drains at real-time pace (as an RTP sender would send it)."""

    def __init__(self, call_id: str = "call-1", sample_rate: int = RATE):
        self.call_id = call_id
        self.caller = "+15550100"
        self.callee = "helpline"
        self.sample_rate = sample_rate
        self.inbox: asyncio.Queue[AudioIn | KeypadDigit | None] = asyncio.Queue()
        self.queue = bytearray()
        self.heard: list[Heard] = []  # what the caller heard, when
        self.cleared: list[float] = []
        self.hung_up_at: float | None = None
        self.transfers: list[tuple[str, str]] = []
        self._ended = False
        self._player: asyncio.Task[None] | None = None
        self._line: asyncio.Task[None] | None = None
        self._to_say: list[tuple[bytes, asyncio.Future[float]]] = []

    # CallMedia
    async def receive(self) -> AsyncIterator[AudioIn | KeypadDigit]:
        while True:
            item = await self.inbox.get()
            if item is None:
                return
            yield item

    async def play(self, pcm: bytes) -> None:
        self.queue += pcm
        if self._player is None:
            self._player = asyncio.create_task(self._play_out())

    def clear(self) -> None:
        self.queue.clear()
        self.cleared.append(time.monotonic())

    def queued_seconds(self) -> float:
        return len(self.queue) / 2 / self.sample_rate

    async def hang_up(self) -> None:
        if not self._ended:
            self._ended = True
            self.hung_up_at = time.monotonic()
            self.inbox.put_nowait(None)
        for task in (self._player, self._line):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    @property
    def ended(self) -> bool:
        return self._ended

    # the test's side
    async def _play_out(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            size = int((now - last) * self.sample_rate) * 2
            last = now
            if self.queue and size:
                self.heard.append(Heard(now, bytes(self.queue[:size])))
                del self.queue[:size]

    def open_line(self) -> None:
        """From now on the caller's side sends a 20 ms frame every 20 ms (silence unless `say`ing)."""
        if self._line is None:
            self._line = asyncio.create_task(self._send_line())

    async def say(self, pcm: bytes) -> float:
        """Queue caller speech on the open line; returns the monotonic time its first frame was sent."""
        started: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._to_say.append((pcm, started))
        return await started

    async def _send_line(self) -> None:
        begin = time.monotonic()
        n = 0
        pending: list[bytes] = []
        while True:
            if not pending and self._to_say:
                pcm, started = self._to_say.pop(0)
                pending = chunks(pcm)
                started.set_result(time.monotonic())
            chunk = pending.pop(0) if pending else b"\x00\x00" * (self.sample_rate // 50)
            self.inbox.put_nowait(AudioIn(chunk, self.sample_rate, received_at=time.monotonic()))
            n += 1
            await asyncio.sleep(max(0.0, begin + n * 0.02 - time.monotonic()))

    def key(self, digit: str) -> None:
        self.inbox.put_nowait(KeypadDigit(digit, received_at=time.monotonic()))

    def hang_up_as_caller(self) -> None:
        self._ended = True
        self.inbox.put_nowait(None)

    def heard_seconds(self, since: float = 0.0) -> float:
        return sum(len(h.pcm) for h in self.heard if h.at >= since) / 2 / self.sample_rate


class ScriptedRecognition(Processor):
    """UserStoppedSpeaking -> the next scripted Transcript (what a recogniser would have heard)."""

    def __init__(self, texts: Iterable[str | tuple[str, float]], delay: float = 0.05):
        super().__init__()
        self.texts = list(texts)
        self.delay = delay
        self.heard: list[UserStoppedSpeaking] = []

    async def process(self, frame: Frame, direction: Direction) -> None:
        if direction is Direction.DOWNSTREAM and isinstance(frame, UserStoppedSpeaking):
            self.heard.append(frame)
            await asyncio.sleep(self.delay)
            item = self.texts.pop(0) if self.texts else ""
            text, confidence = item if isinstance(item, tuple) else (item, 0.9 if item else 0.0)
            await self.push(Transcript(text, confidence, ended_at=frame.ended_at))
            return
        await self.push(frame, direction)


class RecordingSynthesis(SynthesisProcessor):
    """The real synthesis stage (espeak-ng, fast), keeping what it was asked to say."""

    def __init__(self, words_per_minute: int = 230) -> None:
        super().__init__(EspeakSynthesizer(speed=words_per_minute))
        self.spoken: list[AgentSpeech] = []

    async def process(self, frame: Frame, direction: Direction) -> None:
        if direction is Direction.DOWNSTREAM and isinstance(frame, AgentSpeech):
            self.spoken.append(frame)
        await super().process(frame, direction)

    def seconds(self, text: str) -> float:
        """How long `text` takes to say in this voice."""
        pcm = b"".join(self.synthesizer.synthesize(speakable(text)))
        return len(pcm) / 2 / self.synthesizer.sample_rate


class EspeakSynthesis(Processor):
    """AgentSpeech -> espeak-ng audio in 100 ms AudioOut chunks -> UtteranceDone; stops on Interruption.

    A small stand-in for the stage alone tests (its chunks are short, so pauses land mid-sentence)."""

    def __init__(self, words_per_minute: int = 165) -> None:
        super().__init__()
        self.words_per_minute = words_per_minute
        self.spoken: list[AgentSpeech] = []
        self._generation = 0

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, Interruption | CallEnded):
            self._generation += 1
        if direction is Direction.DOWNSTREAM and isinstance(frame, AgentSpeech):
            self.spoken.append(frame)
            generation = self._generation
            pcm = await asyncio.to_thread(speak, frame.text, 16000, "en-us", self.words_per_minute)
            for chunk in chunks(pcm, 16000, 100):
                if generation != self._generation:
                    return
                await self.push(AudioOut(chunk, 16000, frame.utterance))
            await self.push(UtteranceDone(frame.utterance))
            return
        await self.push(frame, direction)
