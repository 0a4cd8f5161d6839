"""The real speech models for the voice tests, loaded once per test session (process-wide caches)."""

from __future__ import annotations

import atexit
import io
import subprocess
import wave
from functools import lru_cache

from helpline.voice.audio import pcm_to_ulaw, resample, ulaw_to_pcm
from helpline.voice.recognition import SphinxRecognizer, WhisperRecognizer, shared_whisper
from helpline.voice.synthesis import EspeakSynthesizer, PiperSynthesizer

PHONE_RATE = 8000
# What a shop's recogniser is told to expect (as the demo pack's vocabulary would).
HINTS = ("Brightbean Coffee", "Espresso One", "Travel Mug", "Burr Grinder", "order BB-10001")


@lru_cache(maxsize=1)
def whisper() -> WhisperRecognizer:
    return shared_whisper("base")


@lru_cache(maxsize=1)
def sphinx() -> SphinxRecognizer:
    return SphinxRecognizer()


@lru_cache(maxsize=1)
def piper() -> PiperSynthesizer:
    synthesizer = PiperSynthesizer()
    atexit.register(synthesizer.close)
    return synthesizer


@lru_cache(maxsize=1)
def espeak() -> EspeakSynthesizer:
    return EspeakSynthesizer()


@lru_cache(maxsize=32)
def caller(text: str, voice: str = "en-us", speed: int = 130) -> bytes:
    """`text` said by espeak-ng and carried by the phone network: 8 kHz, through G.711 mu-law.

    espeak's robotic voice is hard for Whisper (see docs/benchmarks.md); at 130 words a minute these
    tests' phrases come through. The output of both is deterministic, so a test does not flake."""
    done = subprocess.run(["espeak-ng", "--stdout", "-v", voice, "-s", str(speed), "--", text],
                          capture_output=True, timeout=30, check=True)
    with wave.open(io.BytesIO(done.stdout)) as wav:
        pcm, rate = wav.readframes(wav.getnframes()), wav.getframerate()
    return ulaw_to_pcm(pcm_to_ulaw(resample(pcm, rate, PHONE_RATE)))


def wideband(phone_pcm: bytes, rate: int = 16000) -> bytes:
    return resample(phone_pcm, PHONE_RATE, rate)
