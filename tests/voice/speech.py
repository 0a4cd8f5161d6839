"""Caller audio for the voice tests: espeak-ng speech (Debian package) at the phone's 8 kHz."""

from __future__ import annotations

import subprocess
import tempfile
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from helpline.voice.audio import resample, silence

RATE = 8000
FRAME_MS = 20


@lru_cache(maxsize=64)
def speak(text: str, rate: int = RATE, voice: str = "en-us", words_per_minute: int = 165) -> bytes:
    """16-bit mono PCM of `text`, trimmed of espeak's own leading and trailing silence."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(path), text],
                       check=True, timeout=30, capture_output=True)
        with wave.open(str(path)) as wav:
            pcm = wav.readframes(wav.getnframes())
            source_rate = wav.getframerate()
    samples = np.frombuffer(resample(pcm, source_rate, rate), dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 300)
    return samples[loud[0]: loud[-1] + 1].tobytes() if loud.size else b""


@dataclass(frozen=True)
class Script:
    """Audio made of phrases and pauses, with where each phrase's speech starts and ends (seconds)."""

    pcm: bytes
    spans: list[tuple[float, float]]


def script(*parts: str | float, rate: int = RATE) -> Script:
    """`script(0.5, "hello", 1.0, "bye", 1.0)`: numbers are seconds of silence, strings are speech."""
    pcm = b""
    spans: list[tuple[float, float]] = []
    for part in parts:
        if isinstance(part, str):
            start = len(pcm) / 2 / rate
            pcm += speak(part, rate)
            spans.append((start, len(pcm) / 2 / rate))
        else:
            pcm += silence(int(part * 1000), rate)
    return Script(pcm, spans)


def chunks(pcm: bytes, rate: int = RATE, ms: int = FRAME_MS) -> list[bytes]:
    size = rate * ms // 1000 * 2
    padded = pcm + b"\x00" * (-len(pcm) % size)
    return [padded[i: i + size] for i in range(0, len(padded), size)]
