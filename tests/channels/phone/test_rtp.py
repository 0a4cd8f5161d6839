import asyncio
import itertools
import socket
import time

import numpy as np
import pytest

from helpline.channels.phone.dtmf import dtmf_tone, telephone_event_payloads
from helpline.channels.phone.rtp import JitterBuffer, NoRtpPort, RtpPacket, RtpPortRange, RtpSession
from helpline.channels.phone.sdp import Negotiated
from helpline.voice.audio import pcm_to_alaw, pcm_to_ulaw, ulaw_to_pcm
from helpline.voice.frames import AudioIn, KeypadDigit
from tests.channels.phone.peers import free_port_block, tone, tone_share

FRAME = 320  # bytes of 20 ms at 8 kHz


def chunk(value: int, samples: int = 160) -> bytes:
    return np.full(samples, value, dtype="<i2").tobytes()


def values(chunks: list[bytes]) -> list[int]:
    """Each 160-sample piece's first sample (the tests fill a packet with one value)."""
    joined = b"".join(chunks)
    return [int(np.frombuffer(joined[i:i + FRAME], "<i2")[0]) for i in range(0, len(joined), FRAME)]


# --- packets ---


def test_packet_round_trip_with_csrcs() -> None:
    packet = RtpPacket(8, 65535, 2**32 - 1, 0xDEADBEEF, b"\x01\x02", marker=True, csrcs=[7, 9])
    again = RtpPacket.parse(packet.serialize())
    assert again == packet


def test_parse_skips_extension_and_padding() -> None:
    header = bytes([0x80 | 0x10 | 0x20, 0x00]) + (5).to_bytes(2, "big") + (160).to_bytes(4, "big") + b"\0\0\0\1"
    extension = b"\xbe\xde\x00\x01" + b"\xaa" * 4
    data = header + extension + b"audio" + b"\x00\x00\x03"
    packet = RtpPacket.parse(data)
    assert packet.payload == b"audio" and packet.sequence == 5 and packet.ssrc == 1
    for bad in [b"\x80\x00", b"\x40" + b"\x00" * 11]:
        with pytest.raises(ValueError):
            RtpPacket.parse(bad)


# --- jitter buffer ---


def test_in_order_packets_leave_at_once() -> None:
    buffer = JitterBuffer(60)
    out: list[bytes] = []
    for i in range(5):
        buffer.put(1000 + 160 * i, chunk(i), now=0.02 * i)
        out += buffer.pop(now=0.02 * i)
    assert values(out) == [0, 1, 2, 3, 4]


def test_reordered_packets_come_out_in_order_and_duplicates_and_late_ones_are_dropped() -> None:
    buffer = JitterBuffer(60)
    out: list[bytes] = []
    for index, now in [(0, 0.0), (2, 0.04), (1, 0.041), (1, 0.042), (3, 0.06)]:
        buffer.put(160 * index, chunk(index), now)
        out += buffer.pop(now)
    assert values(out) == [0, 1, 2, 3]
    assert buffer.stats.duplicate == 1
    buffer.put(0, chunk(0), 0.07)  # long played
    buffer.put(160 * 2, chunk(2), 0.07)
    assert buffer.stats.duplicate == 3 and buffer.pop(0.07) == []


def test_a_lost_packet_is_waited_for_then_played_as_silence() -> None:
    buffer = JitterBuffer(60)
    buffer.put(0, chunk(10), 0.0)
    out = buffer.pop(0.0)
    buffer.put(320, chunk(12), 0.04)  # 160 is lost
    assert buffer.pop(0.05) == []  # still hoping for it
    out += buffer.pop(0.101)  # waited 60 ms: give up
    assert values(out) == [10, 0, 12]
    assert buffer.stats.concealed_samples == 160
    buffer.put(160, chunk(11), 0.12)  # the straggler is too late now
    assert buffer.stats.late == 1 and buffer.pop(0.12) == []


def test_enough_audio_behind_a_gap_flushes_it_without_waiting() -> None:
    buffer = JitterBuffer(60)
    buffer.put(0, chunk(1), 0.0)
    out = buffer.pop(0.0)
    for index in (2, 3, 4):  # 60 ms queued behind the missing packet 1
        buffer.put(160 * index, chunk(index), 0.0)
    out += buffer.pop(0.0)
    assert values(out) == [1, 0, 2, 3, 4]


def test_a_talkspurt_start_is_not_a_loss() -> None:
    buffer = JitterBuffer(60)
    buffer.put(0, chunk(1), 0.0)
    out = buffer.pop(0.0)
    buffer.put(160 * 4, chunk(5), 0.08, marker=True)  # the sender was silent for 60 ms
    out += buffer.pop(0.08)
    assert values(out) == [1, 0, 0, 0, 5]
    assert buffer.stats.concealed_samples == 0


def test_a_new_stream_is_followed_and_timestamps_wrap() -> None:
    buffer = JitterBuffer(60)
    start = 2**32 - 320
    out: list[bytes] = []
    for i in range(4):  # across the 32-bit wrap
        buffer.put((start + 160 * i) % 2**32, chunk(i), 0.02 * i)
        out += buffer.pop(0.02 * i)
    assert values(out) == [0, 1, 2, 3]
    buffer.put(123456789, chunk(9), 0.1)  # far away: a restarted sender, not 3 hours of loss
    assert values(buffer.pop(0.1)) == [9] and buffer.stats.resyncs == 1


def test_after_starving_the_next_packet_sets_the_position() -> None:
    buffer = JitterBuffer(60)
    buffer.put(0, chunk(1), 0.0)
    buffer.pop(0.0)
    buffer.starved()  # we played silence meanwhile: don't pile the sender's pause on top of it
    buffer.put(160 * 50, chunk(2), 1.0)
    assert values(buffer.pop(1.0)) == [2]


# --- ports ---


def test_port_range_uses_even_ports_and_rotates() -> None:
    ports = RtpPortRange.parse("10001-10010")
    assert ports.first == 10002 and ports.size == 5
    first = ports.candidates()[0]
    ports.take(first)
    assert first % 2 == 0 and first not in ports.candidates()
    ports.release(first)
    assert ports.candidates()[-1] == first  # just released: handed out last
    with pytest.raises(ValueError):
        RtpPortRange(5000, 4000)


def test_a_full_range_refuses_politely() -> None:
    async def scenario() -> None:
        block = free_port_block(4)
        ports = RtpPortRange(block.first, block.first + 3)
        sessions = [RtpSession(ports, "127.0.0.1") for _ in range(2)]
        assert sorted([await s.open() for s in sessions]) == [block.first, block.first + 2]
        with pytest.raises(NoRtpPort):
            await RtpSession(ports, "127.0.0.1").open()
        for session in sessions:
            await session.close()
        assert ports.in_use == 0

    asyncio.run(scenario())


# --- sessions on loopback ---


def negotiated(port: int, payload_type: int = 0, dtmf: int | None = 101, ptime: int = 20,
               direction: str = "sendrecv") -> Negotiated:
    return Negotiated(payload_type, "PCMU" if payload_type == 0 else "PCMA", dtmf, ptime, "127.0.0.1", port,
                      direction)


async def collect(session: RtpSession, seconds: float) -> list[AudioIn | KeypadDigit]:
    frames: list[AudioIn | KeypadDigit] = []

    async def read() -> None:
        async for frame in session.frames():
            frames.append(frame)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(read(), seconds)
    return frames


def test_audio_is_paced_in_real_time_with_continuous_timestamps() -> None:
    async def scenario() -> None:
        ports = RtpPortRange(*_block())
        sender = RtpSession(ports, "127.0.0.1")
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        probe.setblocking(False)
        await sender.open()
        sender.configure(negotiated(probe.getsockname()[1], payload_type=8))
        sender.start()
        sender.play(tone(440, 0.5))
        assert sender.queued_seconds() == pytest.approx(0.48)  # idle: the first packet left at once
        loop = asyncio.get_running_loop()
        arrivals: list[tuple[float, RtpPacket]] = []

        async def receive(count: int) -> None:
            while len(arrivals) < count:
                data = await loop.sock_recv(probe, 2048)
                arrivals.append((time.monotonic(), RtpPacket.parse(data)))

        await asyncio.wait_for(receive(25), 3)
        await sender.wait_played()
        await asyncio.sleep(0.2)  # nothing queued: nothing sent, the clock runs on
        sender.play(tone(440, 0.1))
        await asyncio.wait_for(receive(30), 3)
        await sender.close()
        probe.close()
        first = arrivals[:25]
        span = first[-1][0] - first[0][0]
        assert 0.4 < span < 0.6  # 25 packets of 20 ms, not a burst
        packets = [p for _, p in arrivals]
        assert all(p.payload_type == 8 and len(p.payload) == 160 for p in packets)
        assert [p.marker for p in packets].count(True) == 2  # each talkspurt starts with the marker
        assert packets[25].marker
        steps = [(b.timestamp - a.timestamp) % 2**32 for a, b in itertools.pairwise(packets)]
        assert set(steps[:24]) == {160}
        assert 160 * 10 <= steps[24] <= 160 * 16  # the pause shows in the timestamps (≈ 200 ms)
        assert [(b.sequence - a.sequence) % 2**16 for a, b in itertools.pairwise(packets)] == [1] * 29
        assert packets[0].payload == pcm_to_alaw(tone(440, 0.5)[:320])

    asyncio.run(scenario())


def test_clear_drops_what_is_queued() -> None:
    async def scenario() -> None:
        session = RtpSession(RtpPortRange(*_block()), "127.0.0.1")
        await session.open()
        session.configure(negotiated(9))
        session.play(tone(440, 2.0))
        session.clear()
        assert session.queued_seconds() == 0
        await asyncio.wait_for(session.wait_played(), 0.1)
        await session.close()

    asyncio.run(scenario())


def test_received_audio_is_reordered_decoded_and_latched() -> None:
    async def scenario() -> None:
        session = RtpSession(RtpPortRange(*_block()), "127.0.0.1")
        port = await session.open()
        session.configure(negotiated(9))  # the SDP says port 9; the audio really comes from elsewhere
        session.start()
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        pcm = tone(300, 0.2)
        packets = [RtpPacket(0, 100 + i, 8000 + 160 * i, 42, pcm_to_ulaw(pcm[i * FRAME:(i + 1) * FRAME]))
                   for i in range(10)]
        for index in [0, 2, 1, 3, 3, 5, 4, 6, 7, 9, 8]:
            peer.sendto(packets[index].serialize(), ("127.0.0.1", port))
        frames = await collect(session, 0.3)
        audio = [f for f in frames if isinstance(f, AudioIn)]
        heard = b"".join(f.pcm for f in audio)
        assert heard.startswith(ulaw_to_pcm(pcm_to_ulaw(pcm)))
        assert all(len(f.pcm) == FRAME and f.sample_rate == 8000 for f in audio)
        assert session.stats.jitter.duplicate == 1 and session.stats.jitter.concealed_samples == 0
        assert session.remote == peer.getsockname()  # symmetric RTP
        await session.close()
        peer.close()

    asyncio.run(scenario())


def test_silence_keeps_time_when_the_caller_sends_nothing() -> None:
    async def scenario() -> None:
        session = RtpSession(RtpPortRange(*_block()), "127.0.0.1")
        await session.open()
        session.configure(negotiated(9))
        session.start()
        frames = await collect(session, 0.5)
        await session.close()
        assert 15 <= len(frames) <= 25  # about one 20 ms frame per 20 ms after the 60 ms jitter depth
        assert all(isinstance(f, AudioIn) and not any(f.pcm) for f in frames)

    asyncio.run(scenario())


def test_keypad_events_and_in_band_tones_arrive_as_digits() -> None:
    async def scenario() -> None:
        ports = RtpPortRange(*_block())
        a, b = RtpSession(ports, "127.0.0.1"), RtpSession(ports, "127.0.0.1")
        port_a, port_b = await a.open(), await b.open()
        a.configure(negotiated(port_b, dtmf=101))
        b.configure(negotiated(port_a, dtmf=101))
        a.start()
        b.start()
        for digit in "12#":
            a.send_digit(digit, 60)
        frames = await collect(b, 0.6)
        assert [f.digit for f in frames if isinstance(f, KeypadDigit)] == ["1", "2", "#"]
        # a peer without telephone-event: the tones travel in the audio and are detected there
        a.configure(negotiated(port_b, dtmf=None))
        b.configure(negotiated(port_a, dtmf=None))
        a.play(dtmf_tone("9", 100) + b"\x00" * 800 + dtmf_tone("4", 100))
        frames = await collect(b, 0.6)
        assert [f.digit for f in frames if isinstance(f, KeypadDigit)] == ["9", "4"]
        await a.close()
        await b.close()

    asyncio.run(scenario())


def test_event_packets_on_the_wire() -> None:
    async def scenario() -> None:
        session = RtpSession(RtpPortRange(*_block()), "127.0.0.1")
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        probe.setblocking(False)
        await session.open()
        session.configure(negotiated(probe.getsockname()[1], dtmf=96))
        session.start()
        session.send_digit("5", 100)
        loop = asyncio.get_running_loop()
        packets = [RtpPacket.parse(await asyncio.wait_for(loop.sock_recv(probe, 2048), 1)) for _ in range(7)]
        await session.close()
        probe.close()
        assert [p.payload for p in packets] == telephone_event_payloads("5", 100)
        assert {p.payload_type for p in packets} == {96} and len({p.timestamp for p in packets}) == 1
        assert [p.marker for p in packets] == [True] + [False] * 6

    asyncio.run(scenario())


def _block() -> tuple[int, int]:
    block = free_port_block(20)
    return block.first, block.last


def test_a_new_address_from_a_reinvite_is_used_and_latched_again() -> None:
    async def scenario() -> None:
        session = RtpSession(RtpPortRange(*_block()), "127.0.0.1")
        port = await session.open()
        old, new = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for probe in (old, new):
            probe.bind(("127.0.0.1", 0))
            probe.setblocking(False)
        session.configure(negotiated(old.getsockname()[1]))
        session.start()
        old.sendto(RtpPacket(0, 1, 160, 7, b"\xff" * 160).serialize(), ("127.0.0.1", port))
        await asyncio.sleep(0.05)
        assert session.remote == old.getsockname()
        session.configure(negotiated(new.getsockname()[1]))  # the peer moved (re-INVITE with a new m= port)
        session.play(tone(300, 0.1))
        loop = asyncio.get_running_loop()
        packet = RtpPacket.parse(await asyncio.wait_for(loop.sock_recv(new, 2048), 1))
        assert packet.payload_type == 0
        new.sendto(RtpPacket(0, 2, 320, 7, b"\xff" * 160).serialize(), ("127.0.0.1", port))
        await asyncio.sleep(0.05)
        assert session.remote == new.getsockname()
        await session.close()
        old.close()
        new.close()

    asyncio.run(scenario())


def test_mixed_in_audio_is_summed_into_the_agents_survives_its_clear_and_the_tap_sees_only_the_agent() -> None:
    async def scenario() -> tuple[list[RtpPacket], list[bytes], float]:
        sender = RtpSession(RtpPortRange(*_block()), "127.0.0.1")
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        probe.setblocking(False)
        await sender.open()
        sender.configure(negotiated(probe.getsockname()[1]))
        tapped: list[bytes] = []
        sender.tap = tapped.append
        sender.start()
        loop = asyncio.get_running_loop()
        packets: list[RtpPacket] = []

        async def receive(count: int) -> None:
            while len(packets) < count:
                packets.append(RtpPacket.parse(await loop.sock_recv(probe, 2048)))

        agent, person = tone(400, 1.0, level=0.2), tone(1000, 1.0, level=0.2)
        sender.play(agent)
        for start in range(0, 320 * 10, 320):  # a person's voice arrives frame by frame
            sender.mix("person", person[start:start + 320])
            await asyncio.sleep(0.02)
        sender.clear()  # the agent is interrupted: the person's voice must go on
        queued = sender.queued_seconds()
        for start in range(320 * 10, 320 * 20, 320):
            sender.mix("person", person[start:start + 320])
            await asyncio.sleep(0.02)
        await asyncio.wait_for(receive(18), 3)
        await sender.close()
        probe.close()
        return packets, tapped, queued

    packets, tapped, queued = asyncio.run(scenario())
    assert queued == 0  # the mixed-in audio is not the agent's queue
    heard = [ulaw_to_pcm(p.payload) for p in packets]
    # while the agent spoke, the caller heard both voices; after its clear(), the person alone
    assert tone_share(b"".join(heard[2:7]), 400) > 0.3 and tone_share(b"".join(heard[2:7]), 1000) > 0.3
    assert tone_share(b"".join(heard[-5:]), 1000) > 0.9
    assert tapped and all(tone_share(pcm, 1000) < 0.05 for pcm in tapped)  # the tap: the agent's voice only


def test_a_mixed_in_source_with_a_fast_clock_cannot_build_up_delay() -> None:
    async def scenario() -> float:
        session = RtpSession(RtpPortRange(*_block()), "127.0.0.1")
        await session.open()
        session.mix("person", tone(1000, 2.0))  # two seconds at once: only the last 100 ms are kept
        backlog = len(session._mixed["person"]) / 2 / 8000
        await session.close()
        return backlog

    assert asyncio.run(scenario()) <= 0.1


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _waiting(session: RtpSession) -> list[AudioIn]:
    frames = []
    while not session._frames.empty():
        frame = session._frames.get_nowait()
        assert isinstance(frame, AudioIn)
        frames.append(frame)
    return frames


def _speech_packet(index: int, value: int = 1000) -> bytes:
    return RtpPacket(0, 500 + index, 16000 + 160 * index, 7, pcm_to_ulaw(chunk(value))).serialize()


def test_the_quiet_after_the_last_packet_counts_from_when_the_next_one_was_due() -> None:
    """Silence suppression: the caller's phone stops sending after the last word. The quiet is supplied once the
    jitter buffer's wait is over (a late packet may still come), but it stands for the time since the last packet:
    by then the VAD has seen all the quiet owed, the first frame of it due 20 ms after the last arrival."""
    clock = _Clock()
    session = RtpSession(RtpPortRange(*_block()), "127.0.0.1", jitter_ms=60, clock=clock)
    source = ("127.0.0.1", 40000)
    for index in range(3):  # three packets of speech, 20 ms apart
        clock.now = 100.0 + 0.02 * index
        session._received(_speech_packet(index), source)
    last = clock.now
    assert [any(f.pcm) for f in _waiting(session)] == [True] * 3

    tick = last + 0.005
    while tick < last + 0.06:  # within the jitter buffer's wait: nothing supplied yet
        session._tick(tick)
        assert _waiting(session) == []
        tick += 0.02
    session._tick(tick)  # the wait is over: the quiet since the last packet, all of it
    quiet = _waiting(session)
    assert [f.received_at for f in quiet] == pytest.approx([last + 0.02, last + 0.04, last + 0.06])
    assert not any(any(f.pcm) for f in quiet)
    session._tick(tick + 0.02)  # then a frame a tick, on the same 20 ms grid
    assert [f.received_at for f in _waiting(session)] == pytest.approx([last + 0.08])


def test_a_packet_late_within_the_jitter_wait_still_comes_in_order_before_any_quiet() -> None:
    clock = _Clock()
    session = RtpSession(RtpPortRange(*_block()), "127.0.0.1", jitter_ms=60, clock=clock)
    source = ("127.0.0.1", 40000)
    session._received(_speech_packet(0, 1000), source)
    clock.now += 0.02
    session._received(_speech_packet(1, 2000), source)
    session._tick(clock.now + 0.025)  # packet 2 is due and not here: nothing is filled in for it yet
    session._tick(clock.now + 0.045)
    clock.now += 0.05  # 30 ms late
    session._received(_speech_packet(2, 3000), source)
    heard = [int(np.frombuffer(f.pcm, "<i2")[0]) for f in _waiting(session)]
    assert heard == [int(np.frombuffer(ulaw_to_pcm(pcm_to_ulaw(chunk(v))), "<i2")[0]) for v in (1000, 2000, 3000)]
