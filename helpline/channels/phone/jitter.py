"""RTP packets (RFC 3550) and the small jitter buffer that puts a caller's packets back in order, drops late and
duplicate ones and fills losses with silence. The session that uses them is `rtp.RtpSession`."""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field

SAMPLE_RATE = 8000
_MAX_JUMP = SAMPLE_RATE * 2  # a timestamp jump beyond 2 s is a new stream, not a gap to fill


# --- packets --------------------------------------------------------------------------------------


@dataclass
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: list[int] = field(default_factory=list)

    def serialize(self) -> bytes:
        first = 0x80 | len(self.csrcs)
        second = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        header = struct.pack("!BBHII", first, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF,
                             self.ssrc)
        return header + b"".join(struct.pack("!I", c) for c in self.csrcs) + self.payload

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < 12 or data[0] >> 6 != 2:
            raise ValueError("not an RTP version 2 packet")
        first, second, sequence, timestamp, ssrc = struct.unpack("!BBHII", data[:12])
        offset = 12
        csrc_count = first & 0x0F
        csrcs = list(struct.unpack(f"!{csrc_count}I", data[offset:offset + 4 * csrc_count]))
        offset += 4 * csrc_count
        if first & 0x10:  # header extension: skip it
            if len(data) < offset + 4:
                raise ValueError("truncated RTP extension")
            words = struct.unpack("!H", data[offset + 2:offset + 4])[0]
            offset += 4 + 4 * words
        end = len(data)
        if first & 0x20:  # padding: the last octet counts the padding octets
            end -= data[-1]
        if offset > end:
            raise ValueError("truncated RTP packet")
        return cls(second & 0x7F, sequence, timestamp, ssrc, data[offset:end], bool(second & 0x80), csrcs)


def _ahead(a: int, b: int) -> int:
    """How far timestamp `a` is after `b`, in samples, across the 32-bit wrap (negative: before)."""
    return ((a - b + 2**31) % 2**32) - 2**31


# --- jitter buffer --------------------------------------------------------------------------------


@dataclass
class JitterStats:
    late: int = 0  # arrived after its time was played (or concealed)
    duplicate: int = 0
    concealed_samples: int = 0  # silence put in for lost packets
    resyncs: int = 0


class JitterBuffer:
    """Puts packets back in timestamp order, drops late and duplicate ones, fills losses with silence.

    In-order packets leave at once (no added delay in the common case); a missing one is waited for at most
    `depth_ms` — or until that much audio has queued behind it — and then played as silence. A packet with
    the marker bit starts a talkspurt, so the gap before it is silence the sender chose, not a loss.
    Time is passed in, so the buffer is a plain object tests drive directly.
    """

    def __init__(self, depth_ms: int = 60, sample_rate: int = SAMPLE_RATE) -> None:
        self.depth = depth_ms / 1000
        self.depth_samples = sample_rate * depth_ms // 1000
        self.stats = JitterStats()
        self._pending: dict[int, tuple[bytes, float, bool]] = {}  # timestamp → (pcm, arrival, marker)
        self._next: int | None = None
        self._resync = False
        self._played: deque[int] = deque(maxlen=128)

    def reset(self) -> None:
        self._pending.clear()
        self._next = None
        self._resync = False

    def starved(self) -> None:
        """The session played silence because nothing came: the next packet sets the position anew."""
        if not self._pending:
            self._resync = True

    @property
    def empty(self) -> bool:
        return not self._pending

    def put(self, timestamp: int, pcm: bytes, now: float, marker: bool = False) -> None:
        if timestamp in self._played or timestamp in self._pending:
            self.stats.duplicate += 1
            return
        if self._next is None or (self._resync and not self._pending):
            self._next = timestamp
            self._resync = False
        else:
            ahead = _ahead(timestamp, self._next)
            if ahead < -_MAX_JUMP or ahead > _MAX_JUMP or (ahead < 0 and marker):
                self.stats.resyncs += 1  # a new stream (restarted sender, transfer): follow it
                self._pending.clear()
                self._next = timestamp
            elif ahead < 0:
                self.stats.late += 1
                return
        self._pending[timestamp] = (pcm, now, marker)

    def pop(self, now: float) -> list[bytes]:
        """Audio ready to play, in order (lost stretches as silence)."""
        out: list[bytes] = []
        while self._pending and self._next is not None:
            entry = self._pending.pop(self._next, None)
            if entry is not None:
                out.append(entry[0])
                self._played.append(self._next)
                self._next = (self._next + len(entry[0]) // 2) & 0xFFFFFFFF
                continue
            for stale in [t for t in self._pending if _ahead(t, self._next) < 0]:  # overlapped by a longer packet
                del self._pending[stale]
                self.stats.late += 1
            if not self._pending:
                break
            earliest = min(self._pending, key=lambda t: _ahead(t, self._next or 0))
            _, _, marker = self._pending[earliest]
            waited = now - min(arrival for _, arrival, _ in self._pending.values())
            queued = sum(len(pcm) // 2 for pcm, _, _ in self._pending.values())
            if not (marker or waited >= self.depth or queued >= self.depth_samples):
                break
            gap = _ahead(earliest, self._next)
            if not marker:
                self.stats.concealed_samples += gap
            out.append(b"\x00\x00" * gap)
            self._next = earliest
        return out
