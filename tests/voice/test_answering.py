"""Answering-machine detection on real synthetic speech (espeak-ng) and a generated beep."""

import subprocess

import numpy as np
import pytest

from helpline.voice.answering import Answer, AnsweringListener, tone_frequency
from helpline.voice.audio import resample, silence
from helpline.voice.vad import silero_model

RATE = 8000


def speak(text: str) -> bytes:
    wav = subprocess.run(["espeak-ng", "--stdout", "-s", "160", text], capture_output=True, check=True,
                         timeout=30).stdout
    return resample(wav[44:], 22050, RATE)


def beep(seconds: float = 0.4, hz: float = 1000.0) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 12000).astype("<i2").tobytes()


def listen(audio: bytes) -> AnsweringListener:
    listener = AnsweringListener(silero_model(RATE), RATE)
    for start in range(0, len(audio), 320):  # 20 ms frames, as RTP delivers them
        listener.feed(audio[start:start + 320])
    return listener


def test_a_person_saying_hello_and_waiting_is_a_person() -> None:
    listener = listen(silence(300) + speak("Hello?") + silence(2000))
    assert listener.verdict is Answer.PERSON


def test_a_recorded_greeting_is_a_machine_and_the_beep_is_heard() -> None:
    greeting = speak("Hi, you have reached Sam Taylor. I can't take your call right now. "
                     "Please leave a message after the tone.")
    listener = listen(silence(300) + greeting + silence(300) + beep() + silence(500))
    assert listener.verdict is Answer.MACHINE
    assert listener.ready_for_message()


def test_a_silent_line_counts_as_a_machine() -> None:
    assert listen(silence(4000)).verdict is Answer.MACHINE


def test_speech_is_not_mistaken_for_a_beep() -> None:
    voice = speak("Thank you for calling")
    assert all(tone_frequency(voice[i:i + 320], RATE) is None for i in range(0, len(voice) - 320, 320))
    assert tone_frequency(beep(0.02), RATE) == pytest.approx(1000, abs=60)
