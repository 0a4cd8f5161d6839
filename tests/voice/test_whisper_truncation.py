"""The shortened window's safety net, without running Whisper: how long the speech is, when a transcript is
too short for it, and that only such a transcript is decoded again on the full window."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from helpline.voice.audio import silence
from helpline.voice.recognition import (
    WhisperRecognizer,
    looks_truncated,
    speech_at_onset,
    voiced_frames,
    voiced_seconds,
)

RATE = 16000


def tone(seconds: float, amplitude: float = 8000.0) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.int16).tobytes()


def hiss(seconds: float, amplitude: float = 30.0) -> bytes:
    rng = np.random.default_rng(1)
    return (rng.normal(0, amplitude, int(seconds * RATE))).astype(np.int16).tobytes()


def test_voiced_seconds_count_speech_not_the_pauses_around_or_between_it() -> None:
    pcm = silence(300, RATE) + tone(1.0) + silence(500, RATE) + tone(1.0) + hiss(0.4)
    assert voiced_seconds(voiced_frames(pcm, RATE)) == pytest.approx(2.0, abs=0.05)
    assert voiced_seconds(voiced_frames(hiss(1.0), RATE)) == 0.0  # line hiss alone is not speech
    assert voiced_seconds(voiced_frames(b"", RATE)) == 0.0


def test_a_transcript_that_stops_early_looks_truncated() -> None:
    # "I want to return order number four five six", about 2.5 s of speech, heard as "I want to"
    assert looks_truncated("I want to", 2.5)
    assert not looks_truncated("I want to return order number 456.", 2.5)


def test_ids_and_short_answers_are_not_mistaken_for_truncation() -> None:
    # spelled ids are written much shorter than they are said
    assert not looks_truncated("My customer number is C-1001.", 2.8)
    assert not looks_truncated("The order id is W2378156.", 3.5)
    assert not looks_truncated("Yes.", 0.4)  # too little speech to judge
    assert not looks_truncated("No.", 0.9)


class ScriptedWhisper(WhisperRecognizer):
    """A WhisperRecognizer whose model is replaced: `_decode` answers from a script and records the windows."""

    def __init__(self, first: str, full: str, *, full_window: bool = False, redecode: bool = True) -> None:
        self._model = SimpleNamespace(feature_extractor=lambda audio: np.zeros((80, len(audio) // 160 + 1)))
        self.full_window = full_window
        self.redecode_truncated = redecode
        self.lead_in_samples = 0
        self.min_confidence = 0.0
        self.redecodes = 0
        self.answers = {False: first, True: full}
        self.windows: list[bool] = []

    def _decode(self, features: np.ndarray, prompt_text: str,
                full_window: bool = False) -> tuple[str, float, float, float, int]:
        full = full_window or self.full_window
        self.windows.append(full)
        text = self.answers[full]
        return text, -0.1, 0.01, 1.0, len(text.split())


SAID = tone(0.8) + silence(200, RATE) + tone(1.7)  # 2.5 s of speech


def test_a_truncated_transcript_is_decoded_again_on_the_full_window() -> None:
    whisper = ScriptedWhisper("I want to", "I want to return order number 456.")
    result = whisper.recognize(SAID)
    assert result.text == "I want to return order number 456."
    assert result.redecoded and whisper.redecodes == 1
    assert whisper.windows == [False, True]


def test_a_fluent_transcript_costs_one_decode() -> None:
    whisper = ScriptedWhisper("I want to return order number 456.", "never asked")
    result = whisper.recognize(SAID)
    assert result.text == "I want to return order number 456."
    assert not result.redecoded and whisper.windows == [False]


def test_the_longer_transcript_wins() -> None:
    whisper = ScriptedWhisper("I want to", "I")
    assert whisper.recognize(SAID).text == "I want to"


def test_no_second_decode_on_the_full_window_or_when_turned_off() -> None:
    full = ScriptedWhisper("I want to", "I want to", full_window=True)
    full.recognize(SAID)
    assert full.windows == [True]
    off = ScriptedWhisper("I want to", "I want to return order number 456.", redecode=False)
    assert off.recognize(SAID).text == "I want to" and off.windows == [False]


def test_a_clip_cut_at_its_first_syllable_gets_the_lead_in_and_one_with_a_quiet_start_does_not() -> None:
    # speech 40 ms in: Whisper misreads its first word
    assert speech_at_onset(voiced_frames(silence(40, RATE) + tone(1.0), RATE))
    # the VAD's pre-roll on a call: left as it is
    assert not speech_at_onset(voiced_frames(silence(240, RATE) + tone(1.0), RATE))
    assert not speech_at_onset(voiced_frames(hiss(0.3, 30) + tone(1.0), RATE))  # line hiss is not speech
    assert not speech_at_onset(voiced_frames(b"", RATE))
