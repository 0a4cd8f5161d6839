import struct
from pathlib import Path

import numpy as np
import pytest

from helpline.channels.phone.dtmf import (
    InbandDtmfDetector,
    TelephoneEventReceiver,
    dtmf_tone,
    event_code,
    telephone_event_payloads,
)
from helpline.voice.audio import alaw_to_pcm, pcm_to_alaw, pcm_to_ulaw, ulaw_to_pcm
from tests.channels.phone.peers import read_pcap_rtp, speech_pcm

SIPP_SHARE = Path("/usr/share/sip-tester")
GAP = b"\x00\x00" * 400  # 50 ms


def test_every_key_is_heard_once_through_either_g711_law() -> None:
    keys = "0123456789*#ABCD"
    audio = b"".join(dtmf_tone(key, 80) + GAP for key in keys)
    for encode, decode in [(pcm_to_ulaw, ulaw_to_pcm), (pcm_to_alaw, alaw_to_pcm)]:
        assert "".join(InbandDtmfDetector().feed(decode(encode(audio)))) == keys


def test_a_held_key_counts_once_and_a_repeat_after_a_pause_counts_again() -> None:
    detector = InbandDtmfDetector()
    assert detector.feed(dtmf_tone("5", 600)) == ["5"]
    assert detector.feed(GAP + dtmf_tone("5", 60)) == ["5"]


def test_in_small_chunks_too() -> None:
    audio = dtmf_tone("7", 100) + GAP + dtmf_tone("8", 100)
    detector = InbandDtmfDetector()
    keys = [key for start in range(0, len(audio), 46) for key in detector.feed(audio[start:start + 46])]
    assert keys == ["7", "8"]


def test_tolerates_small_frequency_errors_and_refuses_a_single_tone_or_a_blip() -> None:
    t = np.arange(800) / 8000
    off = ((np.sin(2 * np.pi * 770 * 1.015 * t) + np.sin(2 * np.pi * 1336 * 0.985 * t)) * 5000).astype("<i2")
    assert InbandDtmfDetector().feed(off.tobytes()) == ["5"]
    single = (np.sin(2 * np.pi * 1336 * t) * 8000).astype("<i2").tobytes()
    assert InbandDtmfDetector().feed(single) == []
    assert InbandDtmfDetector().feed(dtmf_tone("1", 20) + GAP) == []  # 20 ms is no key press (Q.24: 40 ms)
    assert InbandDtmfDetector().feed(dtmf_tone("1", 200, level=0.002)) == []  # line noise level


def test_speech_does_not_dial() -> None:
    pcm = speech_pcm("Hello, I would like to check the status of my order, number one two three four five. "
                     "My phone number is five five five, eight six seven, five three oh nine. Thank you very much.")
    assert len(pcm) > 8000 * 2 * 4
    noise = (np.random.default_rng(1).normal(0, 3000, 8000 * 3)).astype("<i2").tobytes()
    assert InbandDtmfDetector().feed(pcm) == []
    assert InbandDtmfDetector().feed(noise) == []


def test_telephone_event_payloads_grow_then_end_three_times() -> None:
    payloads = telephone_event_payloads("#", duration_ms=100, ptime_ms=20)
    fields = [struct.unpack("!BBH", p) for p in payloads]
    assert [f[0] for f in fields] == [11] * 7
    assert [f[2] for f in fields] == [160, 320, 480, 640, 800, 800, 800]
    assert [bool(f[1] & 0x80) for f in fields] == [False] * 4 + [True] * 3
    assert event_code("d") == 15
    with pytest.raises(ValueError):
        event_code("x")


@pytest.mark.parametrize(("pcap", "digit"), [("dtmf_2833_1.pcap", "1"), ("dtmf_2833_pound.pcap", "#"),
                                             ("dtmf_2833_star.pcap", "*"), ("dtmf_2833_0.pcap", "0")])
def test_one_digit_per_event_from_sipps_captures(pcap: str, digit: str) -> None:
    receiver = TelephoneEventReceiver()
    packets = read_pcap_rtp(SIPP_SHARE / pcap)
    assert len(packets) == 10  # start, six updates, the end three times
    heard = [receiver.receive(p.ssrc, p.timestamp, p.payload) for p in packets]
    assert [d for d in heard if d is not None] == [digit]


def test_the_same_key_twice_is_two_events() -> None:
    receiver = TelephoneEventReceiver()
    first = [receiver.receive(1, 1000, payload) for payload in telephone_event_payloads("4")]
    second = [receiver.receive(1, 3000, payload) for payload in telephone_event_payloads("4")]
    assert [d for d in first + second if d] == ["4", "4"]
