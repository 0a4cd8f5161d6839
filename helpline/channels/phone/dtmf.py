"""Keypad tones: RFC 4733 telephone-events (receive with de-duplication, send) and an in-band detector for
peers that negotiate no telephone-event and play the tones as audio.
"""

from __future__ import annotations

import struct
from collections import deque

import numpy as np

EVENT_KEYS = "0123456789*#ABCD"  # RFC 4733 3.2: events 0-15 are the DTMF keys in this order
ROWS = (697.0, 770.0, 852.0, 941.0)
COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")


def event_code(digit: str) -> int:
    code = EVENT_KEYS.find(digit.upper())
    if len(digit) != 1 or code < 0:
        raise ValueError(f"not a keypad key: {digit!r}")
    return code


class TelephoneEventReceiver:
    """One digit per RFC 4733 event.

    An event is every packet sharing one RTP timestamp (its start): the sender repeats it while the key is
    down, growing the duration, then sends the end packet three times. We report the digit on the first
    packet we see of it, so the agent reacts while the key is still down, and ignore the rest.
    """

    def __init__(self) -> None:
        self._seen: deque[tuple[int, int]] = deque(maxlen=32)

    def receive(self, ssrc: int, timestamp: int, payload: bytes) -> str | None:
        if len(payload) < 4:
            return None
        key = (ssrc, timestamp)
        if key in self._seen:
            return None
        self._seen.append(key)
        event = payload[0]
        return EVENT_KEYS[event] if event < len(EVENT_KEYS) else None


def telephone_event_payloads(digit: str, duration_ms: int = 120, ptime_ms: int = 20,
                             volume: int = 10) -> list[bytes]:
    """The payloads of one event, one per packet interval, then the end packet three times (RFC 4733 2.5.1.4)."""
    code = event_code(digit)
    step = 8 * ptime_ms
    total = max(step, 8 * duration_ms)
    payloads = [struct.pack("!BBH", code, volume & 0x3F, min(d, 0xFFFF)) for d in range(step, total, step)]
    end = struct.pack("!BBH", code, 0x80 | (volume & 0x3F), min(total, 0xFFFF))
    return [*payloads, end, end, end]


class InbandDtmfDetector:
    """DTMF tones in received audio, for peers that negotiated no telephone-event.

    Each 20 ms frame is measured at the eight DTMF frequencies with the single-bin DFT the Goertzel algorithm
    computes, done as one matrix product (a per-sample Python loop would cost more than the rest of the call).
    A key counts when one row and one column tone carry most of the frame's energy, each clearly above its
    neighbours, with at most 8 dB twist, for two frames in a row (ITU-T Q.24: tones last at least 40 ms);
    it is reported once, and the same key again only after a pause. Speech rarely puts 60 % of its energy
    into exactly two of those frequencies, which is what keeps voice from dialling.
    """

    def __init__(self, sample_rate: int = 8000, frame_samples: int = 160, min_level: float = 150.0,
                 energy_share: float = 0.6) -> None:
        self.frame_samples = frame_samples
        self.min_level = min_level
        self.energy_share = energy_share
        n = np.arange(frame_samples)
        frequencies = np.array(ROWS + COLUMNS)
        self._basis = np.exp(-2j * np.pi * np.outer(frequencies, n) / sample_rate)
        self._candidate: str | None = None
        self._run = 0
        self._reported: str | None = None
        self._quiet = 0
        self._pending = np.zeros(0, dtype=np.float64)

    def detect_frame(self, samples: np.ndarray) -> str | None:
        """The key a single frame holds, or None."""
        energy = float(np.dot(samples, samples)) / samples.size
        if energy < self.min_level * self.min_level:
            return None
        amplitudes = 2.0 * np.abs(self._basis @ samples) / samples.size
        rows, columns = amplitudes[:4], amplitudes[4:]
        row, column = int(np.argmax(rows)), int(np.argmax(columns))
        row_level, column_level = rows[row], columns[column]
        tone_energy = (row_level**2 + column_level**2) / 2.0
        if tone_energy < self.energy_share * energy:
            return None
        if any(level * 2.0 > row_level for i, level in enumerate(rows) if i != row):
            return None
        if any(level * 2.0 > column_level for i, level in enumerate(columns) if i != column):
            return None
        twist = row_level / column_level
        if not 0.4 <= twist <= 2.5:  # ±8 dB
            return None
        return KEYPAD[row][column]

    def feed(self, pcm: bytes) -> list[str]:
        """Audio in any chunk size; the keys newly pressed."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        self._pending = np.concatenate([self._pending, samples]) if self._pending.size else samples
        keys: list[str] = []
        while self._pending.size >= self.frame_samples:
            frame, self._pending = self._pending[: self.frame_samples], self._pending[self.frame_samples:]
            key = self.detect_frame(frame)
            if key is None:
                self._quiet += 1
                self._run = 0
                self._candidate = None
                if self._quiet >= 2:
                    self._reported = None
                continue
            self._quiet = 0
            self._run = self._run + 1 if key == self._candidate else 1
            self._candidate = key
            if self._run >= 2 and key != self._reported:
                self._reported = key
                keys.append(key)
        return keys


def dtmf_tone(digit: str, milliseconds: int, sample_rate: int = 8000, level: float = 0.3) -> bytes:
    """16-bit PCM of one key's two tones (for in-band sending and tests)."""
    places = [(row, keys.find(digit.upper())) for row, keys in enumerate(KEYPAD) if digit.upper() in keys]
    if len(digit) != 1 or not places:
        raise ValueError(f"not a keypad key: {digit!r}")
    row, column = places[0]
    t = np.arange(sample_rate * milliseconds // 1000) / sample_rate
    wave = np.sin(2 * np.pi * ROWS[row] * t) + np.sin(2 * np.pi * COLUMNS[column] * t)
    return (wave * level * 32767 / 2).astype("<i2").tobytes()
