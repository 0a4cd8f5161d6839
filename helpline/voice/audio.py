"""Audio conversions the phone needs: G.711 (mu-law, A-law) and sample-rate changes.

Written with numpy tables rather than `audioop`, which Python 3.13 removes.
"""

from __future__ import annotations

from functools import lru_cache
from math import gcd

import numpy as np
from scipy.signal import resample_poly

_BIAS = 0x84
_ULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def _ulaw_encode_array(samples: np.ndarray) -> np.ndarray:
    # G.711 on 14-bit magnitudes, as CCITT's reference (and audioop) do
    x = samples.astype(np.int32) >> 2
    mask = np.where(x < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(x), 8159) + 0x21
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, magnitude, side="left")
    code = np.where(segment >= 8, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F))
    return ((code ^ mask) & 0xFF).astype(np.uint8)


def _ulaw_decode_array(codes: np.ndarray) -> np.ndarray:
    u = ~codes.astype(np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_encode_array(samples: np.ndarray) -> np.ndarray:
    x = samples.astype(np.int32) >> 3  # A-law works on 13-bit magnitudes
    sign = np.where(x >= 0, 0x80, 0)
    magnitude = np.minimum(np.where(x < 0, -x - 1, x), 0xFFF)
    exponent = np.where(magnitude >= 0x20, np.floor(np.log2(np.maximum(magnitude, 1))).astype(np.int32) - 4, 0)
    exponent = np.clip(exponent, 0, 7)
    mantissa = np.where(exponent == 0, magnitude >> 1, magnitude >> exponent) & 0x0F
    return ((sign | (exponent << 4) | mantissa) ^ 0x55).astype(np.uint8)


def _alaw_decode_array(codes: np.ndarray) -> np.ndarray:
    a = codes.astype(np.int32) ^ 0x55
    sign = a & 0x80
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << (exponent - 1))
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    every_sample = np.arange(-32768, 32768, dtype=np.int32)
    every_code = np.arange(256, dtype=np.uint8)
    return (_ulaw_encode_array(every_sample), _ulaw_decode_array(every_code),
            _alaw_encode_array(every_sample), _alaw_decode_array(every_code))


def _samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2")


def pcm_to_ulaw(pcm: bytes) -> bytes:
    return bytes(_tables()[0][_samples(pcm).astype(np.int32) + 32768])


def ulaw_to_pcm(data: bytes) -> bytes:
    return _tables()[1][np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def pcm_to_alaw(pcm: bytes) -> bytes:
    return bytes(_tables()[2][_samples(pcm).astype(np.int32) + 32768])


def alaw_to_pcm(data: bytes) -> bytes:
    return _tables()[3][np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Change the sample rate of 16-bit mono PCM (polyphase filter, so no aliasing into the phone band)."""
    if from_rate == to_rate or not pcm:
        return pcm
    common = gcd(from_rate, to_rate)
    out = resample_poly(_samples(pcm).astype(np.float32), to_rate // common, from_rate // common)
    return np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes()


def to_float(pcm: bytes) -> np.ndarray:
    """16-bit PCM as float32 in [-1, 1] (what speech models take)."""
    return _samples(pcm).astype(np.float32) / 32768.0


def rms(pcm: bytes) -> float:
    samples = _samples(pcm).astype(np.float32)
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0


def silence(milliseconds: int, sample_rate: int = 8000) -> bytes:
    return b"\x00\x00" * (sample_rate * milliseconds // 1000)


SILENT_SAMPLE = 64  # |sample| below this (-54 dBFS) is inaudible, on the phone and off it


def trim_leading_silence(pcm: bytes, sample_rate: int, keep_ms: int = 5) -> bytes:
    """Drop the inaudible start of a clip (piper opens a sentence with ~40-60 ms of near-zero samples), keeping
    `keep_ms` before the first audible sample: the caller hears the reply that much sooner, every sound intact.
    A clip with nothing audible is returned as it is."""
    samples = _samples(pcm)
    audible = np.flatnonzero(np.abs(samples.astype(np.int32)) >= SILENT_SAMPLE)
    if audible.size == 0:
        return pcm
    start = max(0, int(audible[0]) - sample_rate * keep_ms // 1000)
    return pcm[start * 2:]
