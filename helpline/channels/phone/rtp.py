"""RTP (RFC 3550) for one call's audio: packets, a small jitter buffer, G.711, keypad events, and the
session that sends the agent's audio paced in real time and hands the caller's audio on as 20 ms frames.

Timing model. Each session ticks every packet interval on an absolute schedule (loop.call_at, no drift):
each tick advances the RTP timestamp whether or not a packet goes out, so the timestamp follows the wall
clock across the gaps between the agent's utterances (we send nothing then; comfort noise is not needed),
and the first packet after a gap carries the marker bit. Audio queued while idle goes out at once and the
schedule restarts from that moment, so a reply's first packet never waits for the next tick. The same tick
flushes the jitter buffer when a packet is overdue and, when the caller sends nothing at all (silence
suppression, hold), supplies silence frames so the caller's side of the pipeline keeps seeing time pass:
end-of-speech detection counts frames.

Conference. Besides the agent's queue (`play`), other parties' audio can be `mix`ed into what we send (a person
barging in, the caller's voice towards a supervisor listening in). Each such source has its own short buffer,
summed into the agent's frame at the tick, so the agent's barge-in `clear()` and `queued_seconds()` never touch
it; `tap` sees the agent's frames as they go out (what a supervisor listening in must hear besides the caller).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np

from helpline.channels.phone.dtmf import InbandDtmfDetector, TelephoneEventReceiver, telephone_event_payloads
from helpline.channels.phone.jitter import SAMPLE_RATE, JitterBuffer, JitterStats, RtpPacket
from helpline.channels.phone.sdp import Negotiated
from helpline.voice.audio import alaw_to_pcm, pcm_to_alaw, pcm_to_ulaw, ulaw_to_pcm
from helpline.voice.frames import AudioIn, KeypadDigit

__all__ = ["FRAME_BYTES", "FRAME_SAMPLES", "SAMPLE_RATE", "JitterBuffer", "JitterStats", "NoRtpPort", "RtpPacket",
           "RtpPortRange", "RtpSession", "RtpStats", "add_pcm"]

log = logging.getLogger(__name__)

FRAME_SAMPLES = 160  # what the pipeline gets: 20 ms
FRAME_BYTES = FRAME_SAMPLES * 2
_DECODERS: dict[int, Callable[[bytes], bytes]] = {0: ulaw_to_pcm, 8: alaw_to_pcm}
_ENCODERS: dict[int, Callable[[bytes], bytes]] = {0: pcm_to_ulaw, 8: pcm_to_alaw}
MIX_BUFFER_SECONDS = 0.1  # a mixed-in source's backlog beyond this is dropped (its clock runs fast)


def add_pcm(first: bytes, second: bytes) -> bytes:
    """Two 16-bit frames of one length summed, clipped to the sample range (a two-party mix)."""
    total = np.frombuffer(first, "<i2").astype(np.int32) + np.frombuffer(second, "<i2").astype(np.int32)
    return np.clip(total, -32768, 32767).astype("<i2").tobytes()


# --- ports ----------------------------------------------------------------------------------------


class RtpPortRange:
    """The UDP ports RTP may use (`10000-10999`). Even ports only, RTCP's odd neighbour left free, as
    firewalls and PBXs expect. Allocation walks the range from a moving start so a port just released
    (whose peer may still be sending) is not handed to the next call at once."""

    def __init__(self, first: int = 10000, last: int = 10999) -> None:
        if not 0 < first <= last < 65536:
            raise ValueError(f"bad RTP port range {first}-{last}")
        self.first, self.last = first + (first % 2), last
        self._used: set[int] = set()
        count = max(1, (self.last - self.first) // 2 + 1)
        self._cursor = random.randrange(count)

    @classmethod
    def parse(cls, text: str) -> RtpPortRange:
        first, _, last = text.partition("-")
        return cls(int(first), int(last or first))

    @property
    def size(self) -> int:
        return (self.last - self.first) // 2 + 1

    @property
    def in_use(self) -> int:
        return len(self._used)

    def candidates(self) -> list[int]:
        ports = [self.first + 2 * ((self._cursor + i) % self.size) for i in range(self.size)]
        return [p for p in ports if p not in self._used]

    def take(self, port: int) -> None:
        self._used.add(port)
        self._cursor = ((port - self.first) // 2 + 1) % self.size

    def release(self, port: int) -> None:
        self._used.discard(port)


class NoRtpPort(RuntimeError):
    """Every port of the RTP range is taken."""


# --- session --------------------------------------------------------------------------------------


@dataclass
class RtpStats:
    packets_sent: int = 0
    packets_received: int = 0
    digits_received: int = 0
    silence_frames: int = 0  # supplied because the caller sent nothing
    jitter: JitterStats = field(default_factory=JitterStats)


_END = object()


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, session: RtpSession) -> None:
        self.session = session

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            self.session._received(data, (str(addr[0]), int(addr[1])))
        except Exception:
            log.exception("RTP packet from %s", addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP socket error: %s", exc)  # ICMP port unreachable while the peer sets up: harmless


class RtpSession:
    """The audio of one call over RTP, as the pipeline wants it (see `helpline.voice.ports.CallMedia`)."""

    def __init__(self, ports: RtpPortRange, host: str, *, jitter_ms: int = 60, receive_queue_frames: int = 500,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ports = ports
        self.host = host
        self.clock = clock
        self.stats = RtpStats()
        self.port = 0
        self.remote: tuple[str, int] | None = None
        self.payload_type = 0
        self.dtmf_payload_type: int | None = None
        self.ptime = 20
        self.sending = True
        self._transport: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._anchor = 0.0
        self._ticks = 0
        self._interval = self.ptime / 1000
        self._latched = False
        self._jitter = JitterBuffer(jitter_ms)
        self.stats.jitter = self._jitter.stats
        self._events = TelephoneEventReceiver()
        self._inband: InbandDtmfDetector | None = None
        self._ssrc_in: int | None = None
        self._assembling = bytearray()
        self._frames: asyncio.Queue[object] = asyncio.Queue(maxsize=receive_queue_frames)
        self._last_arrival = 0.0
        self._fill_at = 0.0  # quiet may be supplied from then: the jitter buffer's wait after the last packet is over
        self._quiet_due = 0.0  # the time the next frame of supplied quiet stands for (and is stamped with)
        # sending
        self._ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._play = bytearray()
        self._mixed: dict[str, bytearray] = {}  # other parties' audio added to ours, by source
        self.tap: Callable[[bytes], None] | None = None  # sees each frame of `play` audio as it goes out
        self._partial_ticks = 0
        self._talking = False
        self._digits: deque[list[bytes]] = deque()
        self._digit_in_progress = False
        self._digit_timestamp = 0
        self._closed = False
        self._played_out = asyncio.Event()
        self._played_out.set()

    # --- lifecycle ---

    async def open(self) -> int:
        """Bind a port of the range; returns it."""
        loop = asyncio.get_running_loop()
        for port in self.ports.candidates():
            try:
                transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self),
                                                                   local_addr=(self.host, port))
            except OSError:
                continue  # taken by another program
            self.ports.take(port)
            self._transport = transport
            self.port = port
            now = self.clock()
            self._last_arrival = now
            self._owe_quiet_after(now)
            return port
        raise NoRtpPort(f"no free RTP port in {self.ports.first}-{self.ports.last}")

    def configure(self, negotiated: Negotiated) -> None:
        """Apply an offer/answer: where to send, the codec, keypad events, hold."""
        remote = (negotiated.remote_host, negotiated.remote_port)
        if remote != self.remote:
            self._latched = False  # a new address from SDP: latch again on what actually arrives
        self.remote = None if negotiated.held_by_address else remote
        self.payload_type = negotiated.payload_type
        self.dtmf_payload_type = negotiated.dtmf_payload_type
        self._inband = InbandDtmfDetector() if negotiated.dtmf_payload_type is None else None
        self.sending = negotiated.sending
        if negotiated.ptime != self.ptime:
            self.ptime = negotiated.ptime

    def start(self) -> None:
        if self._timer is None and not self._closed:
            self._owe_quiet_after(self.clock())
            self._restart_schedule()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        if self._transport is not None:
            self._transport.close()
            self.ports.release(self.port)
        self._play.clear()
        self._mixed.clear()
        self.tap = None
        self._played_out.set()
        self._put_frame(_END)

    @property
    def closed(self) -> bool:
        return self._closed

    # --- sending ---

    def play(self, pcm: bytes) -> None:
        if self._closed or not pcm:
            return
        self._play += pcm[: len(pcm) - len(pcm) % 2]
        self._played_out.clear()
        if not self._talking and self._timer is not None and not self._digits and self.sending:
            # idle: start the talkspurt now rather than at the next tick (up to a packet interval later)
            self._timer.cancel()
            self._restart_schedule(tick_now=True)

    def mix(self, source: str, pcm: bytes, max_seconds: float = MIX_BUFFER_SECONDS) -> None:
        """Add another party's audio to what we send (see the module's Conference note)."""
        if self._closed or not pcm:
            return
        buffer = self._mixed.setdefault(source, bytearray())
        buffer += pcm[: len(pcm) - len(pcm) % 2]
        excess = len(buffer) - int(max_seconds * SAMPLE_RATE) * 2
        if excess > 0:
            del buffer[:excess]

    def stop_mixing(self, source: str) -> None:
        self._mixed.pop(source, None)

    def clear(self) -> None:
        self._play.clear()
        self._partial_ticks = 0
        self._played_out.set()

    def queued_seconds(self) -> float:
        return len(self._play) / 2 / SAMPLE_RATE

    async def wait_played(self) -> None:
        await self._played_out.wait()

    def send_digit(self, digit: str, duration_ms: int = 120) -> None:
        self._digits.append(telephone_event_payloads(digit, duration_ms, self.ptime))

    # --- receiving ---

    async def frames(self) -> AsyncIterator[AudioIn | KeypadDigit]:
        while True:
            item = await self._frames.get()
            if item is _END:
                self._frames.put_nowait(_END)  # a second reader ends too
                return
            assert isinstance(item, AudioIn | KeypadDigit)
            yield item

    def deliver(self, frame: AudioIn | KeypadDigit) -> None:
        """Hand a frame to the reader as if it had come over RTP (keypad presses signalled by SIP INFO)."""
        self._put_frame(frame)

    def _put_frame(self, frame: object) -> None:
        if self._frames.full():
            # Nobody reads (the handler ignores the audio for a while): drop the oldest, keep real time.
            with contextlib.suppress(asyncio.QueueEmpty):
                self._frames.get_nowait()
        self._frames.put_nowait(frame)

    def _received(self, data: bytes, source: tuple[str, int]) -> None:
        if self._closed or len(data) < 12:
            return
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            return
        if 72 <= packet.payload_type <= 76:
            return  # RTCP sent to the RTP port (rtcp-mux); we keep no RTCP state
        known = packet.payload_type in _DECODERS or packet.payload_type == self.dtmf_payload_type
        if not known:
            return
        if not self._latched:
            # Symmetric RTP (RFC 4961): answer where the audio really comes from, which gets through NAT.
            if self.remote != source:
                log.debug("RTP on %d latched to %s:%d", self.port, *source)
            self.remote = source
            self._latched = True
        now = self.clock()
        self.stats.packets_received += 1
        self._last_arrival = now
        self._owe_quiet_after(now)
        if packet.payload_type == self.dtmf_payload_type:
            digit = self._events.receive(packet.ssrc, packet.timestamp, packet.payload)
            if digit is not None:
                self.stats.digits_received += 1
                self._put_frame(KeypadDigit(digit, received_at=now))
            return
        if packet.ssrc != self._ssrc_in:
            if self._ssrc_in is not None:
                self._jitter.reset()
            self._ssrc_in = packet.ssrc
        self._jitter.put(packet.timestamp, _DECODERS[packet.payload_type](packet.payload), now, packet.marker)
        self._emit(self._jitter.pop(now), now, real=True)

    def _owe_quiet_after(self, arrival: float) -> None:
        """Audio (or the call's start) at `arrival`: quiet is owed from one frame later, supplied once the
        jitter buffer's wait is over."""
        self._fill_at = arrival + self._jitter.depth
        self._quiet_due = arrival + FRAME_SAMPLES / SAMPLE_RATE

    def _emit(self, chunks: list[bytes], now: float, real: bool) -> None:
        for chunk in chunks:
            self._assembling += chunk
        while len(self._assembling) >= FRAME_BYTES:
            pcm = bytes(self._assembling[:FRAME_BYTES])
            del self._assembling[:FRAME_BYTES]
            self._put_frame(AudioIn(pcm, SAMPLE_RATE, received_at=now))
            if real and self._inband is not None:
                for key in self._inband.feed(pcm):
                    self.stats.digits_received += 1
                    self._put_frame(KeypadDigit(key, received_at=now))

    # --- the tick ---

    def _restart_schedule(self, tick_now: bool = False) -> None:
        self._interval = self.ptime / 1000
        self._anchor = asyncio.get_running_loop().time()
        self._ticks = 0
        if tick_now:
            self._on_tick()
        else:
            self._schedule_next()

    def _schedule_next(self) -> None:
        loop = asyncio.get_running_loop()
        self._ticks += 1
        due = self._anchor + self._ticks * self._interval
        late = loop.time() - due
        if late > 0.2:
            # The loop stalled (GC, a CPU-bound neighbour): skip the lost ticks rather than burst them out,
            # keeping the timestamp on the wall clock.
            missed = int(late / self._interval)
            self._timestamp = (self._timestamp + missed * 8 * self.ptime) & 0xFFFFFFFF
            self._ticks += missed
            due += missed * self._interval
        self._timer = loop.call_at(due, self._on_tick)

    def _on_tick(self) -> None:
        if self._closed:
            return
        try:
            self._tick(self.clock())
        except Exception:
            log.exception("RTP tick on port %d", self.port)
        if self.ptime / 1000 != self._interval:  # a re-INVITE changed ptime
            self._restart_schedule()
        else:
            self._schedule_next()

    def _tick(self, now: float) -> None:
        # receiving: flush what waited long enough, or supply silence when nothing comes
        if not self._jitter.empty:
            self._emit(self._jitter.pop(now), now, real=True)
        filled = 0
        # Nothing came for the jitter buffer's wait: the quiet owed since the last packet, each frame stamped with
        # the time it stands for (the first, 20 ms after that packet), so the VAD sees the caller's real pause
        # and not one 40 ms short; a packet late within the wait still came in order, with nothing filled in.
        while self._jitter.empty and now >= self._fill_at and self._quiet_due <= now + 1e-6 and filled < 10:
            self._jitter.starved()
            self._assembling.clear()
            self.stats.silence_frames += 1
            self._put_frame(AudioIn(b"\x00\x00" * FRAME_SAMPLES, SAMPLE_RATE, received_at=self._quiet_due))
            self._quiet_due += FRAME_SAMPLES / SAMPLE_RATE
            filled += 1
        if filled == 10:  # the loop stalled: what it missed is not made up in one burst
            self._quiet_due = now + FRAME_SAMPLES / SAMPLE_RATE
        # sending
        samples = 8 * self.ptime
        timestamp = self._timestamp
        self._timestamp = (self._timestamp + samples) & 0xFFFFFFFF
        if self._transport is None or self.remote is None or not self.sending:
            self._talking = False
            return
        if self._digits:
            self._send_digit_packet(timestamp)
            return
        wanted = samples * 2
        pcm = self._take_played(wanted)
        if pcm is not None and self.tap is not None:
            self.tap(pcm)
        others = self._take_mixed(wanted)
        if others is not None:
            pcm = others if pcm is None else add_pcm(pcm, others)
        if pcm is None:
            if not self._play:
                self._talking = False
            return
        payload = _ENCODERS.get(self.payload_type, pcm_to_ulaw)(pcm)
        self._send(RtpPacket(self.payload_type, self._sequence, timestamp, self._ssrc, payload,
                             marker=not self._talking))
        self._talking = True

    def _take_played(self, wanted: int) -> bytes | None:
        """The next frame of `play` audio, or None (nothing queued, or a partial frame waiting for more)."""
        if len(self._play) < wanted:
            if not self._play:
                self._played_out.set()
                return None
            self._partial_ticks += 1
            if self._partial_ticks < 2:
                return None  # more audio is probably on its way: don't pad a frame in the middle of a sentence
            self._play += b"\x00" * (wanted - len(self._play))
        self._partial_ticks = 0
        pcm = bytes(self._play[:wanted])
        del self._play[:wanted]
        if not self._play:
            self._played_out.set()
        return pcm

    def _take_mixed(self, wanted: int) -> bytes | None:
        """The sum of every mixed-in source's next frame (a source short of a whole frame waits)."""
        total: bytes | None = None
        for buffer in self._mixed.values():
            if len(buffer) >= wanted:
                frame = bytes(buffer[:wanted])
                del buffer[:wanted]
                total = frame if total is None else add_pcm(total, frame)
        return total

    def _send_digit_packet(self, timestamp: int) -> None:
        payloads = self._digits[0]
        if self.dtmf_payload_type is None:
            self._digits.popleft()  # the peer takes no events; callers send in-band tones through play()
            return
        first = not self._digit_in_progress
        if first:
            self._digit_in_progress = True
            self._digit_timestamp = timestamp  # every packet of one event carries its start time
        payload = payloads.pop(0)
        ending = bool(payload[1] & 0x80)
        batch = [payload, *payloads] if ending else [payload]  # the end's retransmissions go out at once
        for index, item in enumerate(batch):
            self._send(RtpPacket(self.dtmf_payload_type, self._sequence, self._digit_timestamp, self._ssrc, item,
                                 marker=first and index == 0))
        if ending:
            self._digits.popleft()
            self._digit_in_progress = False
            self._talking = False

    def _send(self, packet: RtpPacket) -> None:
        assert self._transport is not None and self.remote is not None
        self._transport.sendto(packet.serialize(), self.remote)
        self.stats.packets_sent += 1
        self._sequence = (self._sequence + 1) & 0xFFFF
