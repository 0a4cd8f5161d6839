"""Who picked up an outbound call: a person or an answering machine (and when its beep has gone).

The classic greeting heuristics that PBX answering-machine detection uses, on speech/no-speech
decisions per audio window: a person answers with a short "Hello?" and waits; a machine plays a long
greeting ("Hi, you've reached… leave a message after the tone") and then beeps. A machine's message
must start after the beep (or after its greeting falls silent), or the recording begins mid-sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from helpline.voice.audio import to_float
from helpline.voice.vad import VadModel


class Answer(Enum):
    PERSON = "person"
    MACHINE = "machine"
    UNSURE = "unsure"  # treated as a person: hanging up on a real customer is the worse mistake


@dataclass(frozen=True)
class AnsweringSettings:
    initial_silence: float = 3.5  # nobody speaks this long after answering: a machine (or a silent line)
    long_greeting: float = 1.8  # one stretch of speech longer than this: a recorded greeting
    after_greeting_silence: float = 0.8  # a short greeting followed by this much quiet: a person waiting
    max_words: int = 4  # this many separate bursts of speech before a pause: a greeting being read
    word_gap: float = 0.15  # quiet shorter than this does not separate two bursts
    decide_within: float = 5.0  # after this, unsure


class AnsweringMachineDetector:
    """Feed one decision per audio window; `verdict` is set once the evidence is enough."""

    def __init__(self, settings: AnsweringSettings | None = None) -> None:
        self.settings = settings or AnsweringSettings()
        self.verdict: Answer | None = None
        self.reason = ""
        self._elapsed = 0.0
        self._heard_speech = False
        self._speech_run = 0.0
        self._quiet_run = 0.0
        self._bursts = 0

    def feed(self, speech: bool, seconds: float) -> Answer | None:
        if self.verdict is not None:
            return self.verdict
        s = self.settings
        self._elapsed += seconds
        if speech:
            if self._quiet_run >= s.word_gap or not self._heard_speech:
                self._bursts += 1
            self._heard_speech = True
            self._speech_run += seconds
            self._quiet_run = 0.0
            if self._speech_run >= s.long_greeting:
                return self._decide(Answer.MACHINE, f"a greeting longer than {s.long_greeting:g} s")
            if self._bursts > s.max_words:
                return self._decide(Answer.MACHINE, f"more than {s.max_words} bursts of speech without a pause")
        else:
            self._quiet_run += seconds
            if self._quiet_run >= s.word_gap:
                self._speech_run = 0.0
            if not self._heard_speech and self._elapsed >= s.initial_silence:
                return self._decide(Answer.MACHINE, f"no one spoke within {s.initial_silence:g} s")
            if self._heard_speech and self._quiet_run >= s.after_greeting_silence:
                return self._decide(Answer.PERSON, "a short greeting, then waiting")
        if self._elapsed >= s.decide_within:
            return self._decide(Answer.UNSURE, f"no decision within {s.decide_within:g} s")
        return None

    def _decide(self, verdict: Answer, reason: str) -> Answer:
        self.verdict, self.reason = verdict, reason
        return verdict


def tone_frequency(pcm: bytes, sample_rate: int) -> float | None:
    """The frequency of a pure tone (a voicemail beep) filling this window, or None for speech/noise.

    A beep puts nearly all its energy in one narrow band; speech spreads it over harmonics.
    """
    samples = to_float(pcm)
    if samples.size < sample_rate // 100 or float(np.sqrt(np.mean(samples * samples))) < 0.01:
        return None
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    peak = int(np.argmax(spectrum))
    band = spectrum[max(peak - 2, 0): peak + 3].sum()
    if band / max(float(spectrum.sum()), 1e-12) < 0.9:
        return None
    frequency = peak * sample_rate / samples.size
    return frequency if 500.0 <= frequency <= 3000.0 else None


class BeepDetector:
    """A steady tone held for `min_seconds` (the "leave your message after the tone" beep)."""

    def __init__(self, sample_rate: int, min_seconds: float = 0.2) -> None:
        self.sample_rate = sample_rate
        self.min_seconds = min_seconds
        self._held = 0.0
        self._frequency: float | None = None
        self.heard = False

    def feed(self, pcm: bytes) -> bool:
        frequency = tone_frequency(pcm, self.sample_rate)
        seconds = len(pcm) / 2 / self.sample_rate
        if frequency is not None and (self._frequency is None or abs(frequency - self._frequency) < 60):
            self._frequency = frequency
            self._held += seconds
        else:
            if self._held >= self.min_seconds:
                self.heard = True  # the beep has just ended: the machine is recording
            self._frequency, self._held = frequency, seconds if frequency is not None else 0.0
        return self.heard


class AnsweringListener:
    """Listens to the first seconds of an answered outbound call: person or machine, then the beep.

    Takes the call's audio in any chunk size (16-bit PCM at `sample_rate`, 8 or 16 kHz) and runs it
    through a speech/no-speech model window by window.
    """

    def __init__(self, model: VadModel, sample_rate: int, settings: AnsweringSettings | None = None,
                 threshold: float = 0.5) -> None:
        self.detector = AnsweringMachineDetector(settings)
        self.beep = BeepDetector(sample_rate)
        self._model = model
        self._rate = sample_rate
        self._threshold = threshold
        self._pending = np.zeros(0, dtype=np.float32)
        self._quiet_after_speech = 0.0
        self._spoke = False

    @property
    def verdict(self) -> Answer | None:
        return self.detector.verdict

    def feed(self, pcm: bytes) -> Answer | None:
        self.beep.feed(pcm)
        window = self._model.window_size_samples
        self._pending = np.concatenate([self._pending, to_float(pcm)])
        while self._pending.size >= window:
            chunk, self._pending = self._pending[:window], self._pending[window:]
            speech = self._model.process(memoryview(np.ascontiguousarray(chunk).data)) >= self._threshold
            seconds = window / self._rate
            self.detector.feed(speech, seconds)
            self._spoke = self._spoke or speech
            self._quiet_after_speech = 0.0 if speech else self._quiet_after_speech + seconds
        return self.detector.verdict

    def ready_for_message(self, quiet_seconds: float = 1.5) -> bool:
        """A machine is recording: its beep has gone, or its greeting has been quiet a while."""
        return self.beep.heard or (self._spoke and self._quiet_after_speech >= quiet_seconds)
