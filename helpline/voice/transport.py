"""The ends of the pipeline, and `run_call`, which builds the whole pipeline for one call.

`TransportIn` reads the caller's audio and keys from a `CallMedia` into the pipeline head.
`TransportOut` hands the agent's audio to the `CallMedia` and keeps everything it sent on one
timeline, so it always knows what the caller has heard: `played = fed - media.queued_seconds()`.
That is what makes a barge-in a *pause* rather than a loss (the rest is still on the timeline when a
backchannel lets the agent carry on), and what tells it when an utterance has really been heard
(`AgentFinishedSpeaking`, which starts the silence timer and lets a goodbye finish before hang-up).

The transports (SIP/RTP, media-stream WebSocket) call `run_call(media, services)`; the speech models
live in `VoiceServices` (made once per server, shared by every call).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from helpline.application.conversations import ConversationService
from helpline.pack.loader import BusinessPack
from helpline.voice.audio import resample
from helpline.voice.call import AgentSettings, CallAgentProcessor
from helpline.voice.control import (
    AgentPaused,
    AgentSpeechCancelled,
    AgentStartedSpeaking,
    CallMetrics,
    KeypadMode,
    PauseAgent,
    ResumeAgent,
    TransferConnected,
    TransferFailed,
)
from helpline.voice.end_of_turn import TurnCompletion
from helpline.voice.frames import (
    AgentFinishedSpeaking,
    AudioOut,
    CallEnded,
    CallStarted,
    Direction,
    Frame,
    HangUp,
    Interruption,
    TransferRequested,
    UtteranceDone,
)
from helpline.voice.keypad import KeypadProcessor, KeypadSettings, PhoneMenu
from helpline.voice.pipeline import Pipeline, Processor
from helpline.voice.ports import CallMedia, SpeechSynthesizer
from helpline.voice.synthesis import SynthesisProcessor
from helpline.voice.turns import BargeIn, TurnSettings, TurnTaking
from helpline.voice.vad import VadModel, VadSettings, VoiceActivityProcessor, silero_model
from helpline.voice.watchdog import TurnOverdue, TurnWatchdog, WatchdogSettings

log = logging.getLogger(__name__)
trace = logging.getLogger("helpline.voice.trace")
timing = logging.getLogger("helpline.voice.timing")

RESUME_LOOK_BACK = 0.8  # seconds searched backwards for a pause between words to resume from
RESUME_FALLBACK = 0.3  # ... and how far to step back when there is none


@runtime_checkable
class SupportsTransfer(Protocol):
    """A transport that can connect the caller to a person (SIP: warm transfer or REFER)."""

    async def transfer(self, target: str, summary: str, warm: bool) -> bool:
        """True once the caller is connected (the call then leaves this pipeline)."""
        ...


@runtime_checkable
class FollowsConversation(Protocol):
    """A transport that must know its call's conversation (the phone line: staff find the call by it)."""

    def follow(self, conversation_id: Callable[[], str | None]) -> None: ...


@runtime_checkable
class SupportsRecordingPause(Protocol):
    """A transport that records calls: it must hold nothing while a card number is typed."""

    def pause_recording(self, paused: bool) -> None: ...


# --- the caller's side ----------------------------------------------------------------------------


class TransportIn(Processor):
    """The pipeline head: a task feeds `media.receive()` in; upstream frames stop here."""

    def __init__(self, media: CallMedia):
        super().__init__()
        self.media = media
        self.finished = asyncio.Event()  # the caller's side ended (hang-up, BYE, socket closed)
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await super().start()
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(), name="voice:transport-in")

    async def _read(self) -> None:
        try:
            async for frame in self.media.receive():
                await self.push(frame)
        except Exception:
            log.exception("reading the caller's audio failed")
        finally:
            self.finished.set()

    async def process(self, frame: Frame, direction: Direction) -> None:
        if direction is Direction.DOWNSTREAM:
            await self.push(frame)
        elif isinstance(frame, KeypadMode) and isinstance(self.media, SupportsRecordingPause):
            self.media.pause_recording(frame.mode == "card")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait({self._reader})  # not `await`: that would swallow our own cancellation
            self._reader = None
        await super().stop()


# --- the agent's side -----------------------------------------------------------------------------


@dataclass
class _Span:
    """Where one utterance sits on the timeline (byte offsets)."""

    utterance: int
    start: int
    end: int | None = None  # known once the synthesiser said UtteranceDone
    started: bool = False
    finished: bool = False
    answered: bool = False  # its first audio counted towards the response latency


class TransportOut(Processor):
    """AudioOut -> the call (at its rate); pause/resume/interrupt; reports what the caller has heard."""

    def __init__(self, media: CallMedia, metrics: CallMetrics | None = None,
                 clock: Callable[[], float] = time.monotonic, poll_seconds: float = 0.02,
                 finish_wait_seconds: float = 60.0, max_hold_seconds: float = 25.0):
        super().__init__()
        self.media = media
        self.metrics = metrics or CallMetrics()
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.finish_wait_seconds = finish_wait_seconds  # HangUp waits at most this for audio to play
        # A pause no verdict ever ends (a recogniser that failed on the utterance) must not mute the agent
        # for good: longer than the longest utterance plus its recognition, the agent carries on.
        self.max_hold_seconds = max_hold_seconds
        self._paused_at = 0.0
        self.rate = media.sample_rate
        self.hung_up = False
        self.finishing: asyncio.Task[None] | None = None  # a hang-up or transfer under way
        self._timeline = bytearray()
        self._fed = 0
        self._spans: list[_Span] = []
        self._paused = False
        self._hold_announced = False
        self._void_upto = -1
        self._pending: list[tuple[float, Frame]] = []  # HangUp / TransferRequested, after the audio
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    # -- lifecycle

    async def start(self) -> None:
        await super().start()
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="voice:transport-out")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.wait({self._watcher})  # not `await`: that would swallow our own cancellation
            self._watcher = None
        await super().stop()

    # -- frames

    async def process(self, frame: Frame, direction: Direction) -> None:
        if direction is Direction.UPSTREAM:
            await self.push(frame, direction)
        elif isinstance(frame, AudioOut):
            await self._audio(frame)
        elif isinstance(frame, UtteranceDone):
            if frame.utterance > self._void_upto:
                self._span(frame.utterance).end = len(self._timeline)
        elif isinstance(frame, PauseAgent):
            await self._pause(frame.at)
        elif isinstance(frame, ResumeAgent):
            await self._resume()
        elif isinstance(frame, Interruption):
            await self._drop()
        elif isinstance(frame, AgentSpeechCancelled):
            self._void_upto = max(self._void_upto, frame.upto)
        elif isinstance(frame, TurnOverdue):
            await self._resume()  # audio held for a verdict that never came: the caller hears it now
        elif isinstance(frame, HangUp | TransferRequested):
            self._pending.append((self.clock(), frame))
        elif isinstance(frame, CallEnded):
            self._pending.clear()
        self._wake.set()

    def _span(self, utterance: int) -> _Span:
        for span in reversed(self._spans):
            if span.utterance == utterance:
                return span
        span = _Span(utterance, start=len(self._timeline))
        self._spans.append(span)
        return span

    async def _audio(self, frame: AudioOut) -> None:
        trace.debug("transport audio utt %d void_upto %d paused %s", frame.utterance, self._void_upto, self._paused)
        if frame.utterance <= self._void_upto:
            return  # the tail of a cancelled utterance, still arriving from the synthesiser
        pcm = resample(frame.pcm, frame.sample_rate, self.rate)
        async with self._lock:
            self._span(frame.utterance)
            self._timeline += pcm
            if not self._paused:
                await self._feed()
            elif not self._hold_announced:
                # The caller is talking and a reply arrived: held until their words are known.
                self._hold_announced = True
                await self.push(self._paused_frame(self._fed), Direction.UPSTREAM)

    async def _feed(self) -> None:
        """Hand everything not yet fed to the call (callers hold the lock)."""
        if self._fed >= len(self._timeline):
            return
        now = self.clock()
        for span in self._spans:
            if not span.answered and span.start < len(self._timeline) and span.start >= self._fed:
                span.answered = True
                if self.metrics.last_speech_end is not None:
                    self.metrics.response.append(max(now - self.metrics.last_speech_end, 0.0))
                    self.metrics.last_speech_end = None
                    self._turn_answered(now)
        chunk = bytes(self._timeline[self._fed:])
        self._fed = len(self._timeline)
        await self.media.play(chunk)

    def _turn_answered(self, now: float) -> None:
        turn, self.metrics.turn = self.metrics.turn, None
        if turn is None:
            return
        turn.wire = now
        self.metrics.turns.append(turn)
        # for benchmarks, which collect each call's stage times from this logger
        timing.debug("turn answered", extra={"call_id": self.media.call_id, "turn_times": turn})

    def _played(self) -> int:
        queued = int(self.media.queued_seconds() * self.rate) * 2
        return max(0, self._fed - queued)

    def _at(self, position: int) -> _Span | None:
        current = None
        for span in self._spans:
            if span.start <= position and (span.end is None or position < span.end or span.start == position):
                current = span
        return current

    def _paused_frame(self, position: int) -> AgentPaused:
        span = self._at(position)
        if span is None:
            return AgentPaused(remaining_seconds=(len(self._timeline) - position) / 2 / self.rate)
        return AgentPaused(utterance=span.utterance, heard_seconds=(position - span.start) / 2 / self.rate,
                           remaining_seconds=(len(self._timeline) - position) / 2 / self.rate,
                           complete=span.end is not None)

    async def _pause(self, speech_started_at: float) -> None:
        trace.debug("transport pause")
        async with self._lock:
            if self._paused:
                return
            self._paused = True
            self._paused_at = self.clock()
            playing = self.media.queued_seconds() > 0
            played = self._played()
            self.media.clear()
            if playing and speech_started_at > 0:
                self.metrics.barge_in.append(max(self.clock() - speech_started_at, 0.0))
            self._fed = played
            unfinished = any(s.end is None for s in self._spans)
            self._hold_announced = played < len(self._timeline) or (unfinished and bool(self._spans))
            if self._hold_announced:
                await self.push(self._paused_frame(played), Direction.UPSTREAM)

    async def _resume(self) -> None:
        trace.debug("transport resume")
        async with self._lock:
            if not self._paused:
                return
            self._paused = False
            self._hold_announced = False
            self.metrics.last_speech_end = None  # a backchannel is not a turn to answer
            resumed: _Span | None = None
            if self._fed < len(self._timeline):
                resumed = self._at(self._fed)
                self._fed = self._resume_point(self._fed, resumed.start if resumed else 0)
            await self._feed()
        if resumed is not None and resumed.started:
            # Heard again after a pause: for the turn watchdog the agent is speaking (a new utterance's
            # start is reported by _check as usual).
            await self.push(AgentStartedSpeaking(resumed.utterance, at=self.clock()), Direction.UPSTREAM)

    def _resume_point(self, position: int, floor: int) -> int:
        """The start of the last pause between words before `position` (the caller hears the word again
        rather than half of it)."""
        block = self.rate // 50 * 2  # 20 ms
        lowest = max(floor, position - int(RESUME_LOOK_BACK * self.rate) * 2)
        region = np.frombuffer(bytes(self._timeline[lowest:position]), dtype="<i2").astype(np.float32)
        count = region.size * 2 // block
        if count >= 2:
            blocks = region[: count * block // 2].reshape(count, block // 2)
            levels = np.sqrt(np.mean(blocks ** 2, axis=1))
            quiet = np.flatnonzero(levels < max(0.05 * float(levels.max()), 100.0))
            if quiet.size:
                return lowest + int(quiet[-1]) * block
        return max(floor, position - int(RESUME_FALLBACK * self.rate) * 2)

    async def _drop(self) -> None:
        trace.debug("transport drop")
        async with self._lock:
            self.media.clear()
            if self._spans:
                self._void_upto = max(self._void_upto, max(s.utterance for s in self._spans))
            self._timeline.clear()
            self._spans.clear()
            self._fed = 0
            self._paused = False
            self._hold_announced = False

    # -- what has been heard

    async def _watch(self) -> None:
        while True:
            if await self._check():
                await asyncio.sleep(self.poll_seconds)
            else:
                await self._wake.wait()
                self._wake.clear()

    async def _check(self) -> bool:
        """Report utterances started and heard; run the hang-up or transfer once all is heard.
        True while something is still playing (so the watcher polls)."""
        now = self.clock()
        async with self._lock:
            played = self._played()
            notices: list[Frame] = []
            for span in self._spans:
                has_audio = len(self._timeline) > span.start and (span.end is None or span.end > span.start)
                if not span.started and has_audio and self._fed > span.start and played >= span.start:
                    span.started = True
                    notices.append(AgentStartedSpeaking(span.utterance, at=now))
                if span.end is not None and not span.finished and played >= span.end and self._fed >= span.end:
                    span.finished = True
                    notices.append(AgentFinishedSpeaking(span.utterance, at=now))
            heard_all = played >= len(self._timeline) and all(s.finished for s in self._spans)
            if heard_all and not self._paused and self._timeline and self.media.queued_seconds() == 0:
                self._timeline.clear()
                self._spans.clear()
                self._fed = 0
        for notice in notices:
            await self.push(notice, Direction.UPSTREAM)
        if self._paused and now - self._paused_at > self.max_hold_seconds:
            log.warning("no verdict on the caller's speech after %.0f s: the agent carries on", self.max_hold_seconds)
            await self._resume()
        if self._pending and (self.finishing is None or self.finishing.done()):
            since, action = self._pending[0]
            if (heard_all and not self._paused) or now - since > self.finish_wait_seconds:
                self._pending.pop(0)
                # Its own task: stopping the pipeline once the line is down must not cut a BYE short.
                self.finishing = asyncio.create_task(self._finish(action), name="voice:finish")
        if self._pending or self._paused:
            return True
        return played < self._fed

    async def _finish(self, action: Frame) -> None:
        if isinstance(action, HangUp):
            if not self.hung_up and not self.media.ended:
                self.hung_up = True
                await self.media.hang_up()
        elif isinstance(action, TransferRequested):
            if not isinstance(self.media, SupportsTransfer):
                await self.push(TransferFailed(action.target, "unsupported"), Direction.UPSTREAM)
                return
            try:
                connected = await self.media.transfer(action.target, action.summary, action.warm)
            except Exception:
                # An unreachable target (DNS, network) used to end this task with nobody told: the caller
                # was left waiting on a transfer that had already failed.
                log.exception("transfer to %s failed", action.target)
                connected = False
            if not connected:
                await self.push(TransferFailed(action.target, "no answer"), Direction.UPSTREAM)
            else:
                await self.push(TransferConnected(action.target), Direction.UPSTREAM)


# --- one call ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallSettings:
    vad: VadSettings = field(default_factory=VadSettings)
    turns: TurnSettings = field(default_factory=TurnSettings)
    keypad: KeypadSettings = field(default_factory=KeypadSettings)
    watchdog: WatchdogSettings = field(default_factory=WatchdogSettings)
    agent: AgentSettings = field(default_factory=AgentSettings)
    max_call_seconds: float = 3600.0
    close_wait_seconds: float = 15.0  # after the caller hangs up, for the conversation to be closed
    stop_wait_seconds: float = 5.0  # for the stages to stop once the call is over


@dataclass
class VoiceServices:
    """What every call shares: the conversation service, the pack, and the speech stages' factories
    (each closes over a model loaded once per server; a call gets fresh, cheap processor objects)."""

    conversations: ConversationService
    pack: BusinessPack
    recognition: Callable[[], Processor]
    synthesis: Callable[[], Processor]
    vad_model: Callable[[int], VadModel] = silero_model
    settings: CallSettings = field(default_factory=CallSettings)
    end_of_turn: TurnCompletion | None = None  # a turn-completion model (Smart Turn); None: the VAD's pause alone
    menu: PhoneMenu | None = None  # built from the pack when not given
    # set once the pack's fixed openings are synthesised (synthesis_cache.py); calls never wait for it
    openings_ready: threading.Event = field(default_factory=threading.Event)
    # The voice the calls speak with (with its cache of the pack's openings). Announcements to a person or a
    # voicemail box must use it too: the openings' warm-up yields only to a voice it sees in use.
    voice: SpeechSynthesizer | None = None

    def phone_menu(self) -> PhoneMenu:
        if self.menu is None:
            self.menu = PhoneMenu.from_pack(self.pack)
        return self.menu


@dataclass
class CallOutcome:
    call_id: str
    conversation_id: str | None
    ended_by: str  # caller | agent | timeout
    metrics: CallMetrics


async def run_call(media: CallMedia, services: VoiceServices, transport: str = "sip") -> CallOutcome:
    """Answer one call: transport in -> VAD -> barge-in -> keypad -> turn watchdog -> recognition -> turn-taking ->
    call agent -> synthesis -> transport out, until either side hangs up."""
    settings = services.settings
    metrics = CallMetrics()
    # The VAD model loads native code: off the event loop, so other calls' audio keeps flowing.
    vad = await asyncio.to_thread(VoiceActivityProcessor, media.sample_rate, settings.vad, services.vad_model,
                                  metrics, services.end_of_turn)
    head = TransportIn(media)
    agent = CallAgentProcessor(services.conversations, services.pack, settings.agent, services.phone_menu())
    if isinstance(media, FollowsConversation):
        media.follow(lambda: agent.conversation_id)
    tail = TransportOut(media, metrics)
    synthesis = services.synthesis()
    if isinstance(synthesis, SynthesisProcessor):
        synthesis.metrics = metrics
    pipeline = Pipeline([head, vad, BargeIn(), KeypadProcessor(settings.keypad), TurnWatchdog(settings.watchdog),
                         services.recognition(),
                         TurnTaking(settings.turns, metrics), agent, synthesis, tail])
    await pipeline.start()
    ended_by = "caller"
    try:
        await pipeline.send(CallStarted(media.call_id, media.caller, media.callee, transport))
        try:
            await asyncio.wait_for(head.finished.wait(), settings.max_call_seconds)
        except TimeoutError:
            ended_by = "timeout"
            await media.hang_up()
        if tail.finishing is not None:
            await asyncio.wait({tail.finishing}, timeout=settings.close_wait_seconds)
        if tail.hung_up:
            ended_by = "agent"
        await pipeline.send(CallEnded("agent" if ended_by == "agent" else "timeout" if ended_by == "timeout"
                                      else "hangup"))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(agent.closed.wait(), settings.close_wait_seconds)
    finally:
        try:
            # Bounded: a stage that swallows its cancellation must not keep the call (and its handler) alive.
            await asyncio.wait_for(pipeline.stop(), settings.stop_wait_seconds)
        except TimeoutError:
            log.warning("call %s: the pipeline did not stop within %.0f s", media.call_id, settings.stop_wait_seconds)
        if not media.ended:
            await media.hang_up()
    return CallOutcome(media.call_id, agent.conversation_id, ended_by, metrics)
