"""sipp as the other side: callers with scripted SIP (and RTP from captures) calling our user agent, and
callees/registrars our user agent calls. Each scenario is in scenarios/ with a comment saying what it checks."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from helpline.channels.phone import CallFailed, PhoneCall, RegistrarConfig, TransferFailed
from helpline.channels.phone.dtmf import dtmf_tone
from helpline.channels.phone.rtp import RtpPacket
from helpline.voice.audio import alaw_to_pcm, pcm_to_ulaw
from tests.channels.phone.conftest import needs_sipp, run
from tests.channels.phone.peers import (
    Recorder,
    Sipp,
    best_correlation,
    read_pcap_rtp,
    tone,
    tone_share,
    user_agent,
    write_pcap_rtp,
)

pytestmark = needs_sipp
CAPTURES = Path("/usr/share/sip-tester")


def test_a_call_with_audio_and_keypad_events(peers_dir: Path) -> None:
    async def scenario() -> None:
        recorder = Recorder()
        async with user_agent(recorder) as ua:
            (await Sipp("uac_media_dtmf.xml", peers_dir, target=ua.address).run()).check()
            await recorder.wait_calls(1)
            assert not ua.calls and ua.ports.in_use == 0
        record = recorder.records[0]
        call = record.call
        assert call.codec == "PCMA" and call.end_reason == "hangup"
        assert call.caller_number == "+15550100" and call.caller_name == "Sipp Caller"
        assert record.digits == ["1", "#"]
        # what sipp played is what we heard: the capture's first 1.5 s, decoded, in order
        sent = b"".join(alaw_to_pcm(p.payload) for p in read_pcap_rtp(CAPTURES / "g711a.pcap"))
        assert best_correlation(bytes(record.audio), sent[:8000 * 2]) > 0.99
        assert call.stats.jitter.late == 0 and call.stats.jitter.concealed_samples == 0

    run(scenario())


def test_twenty_concurrent_calls_each_hear_their_own_audio(peers_dir: Path) -> None:
    # sipp echoes every RTP packet back to where it came from: each call plays its own tone and must get
    # exactly that tone back (no crossed ports), while all 20 are up at once.
    frequencies: dict[str, int] = {}

    def own_tone(call: PhoneCall) -> bytes:  # 400, 460, … 1540 Hz: each call's tone is unlike the others'
        frequencies[call.call_id] = 400 + 60 * len(frequencies)
        return tone(frequencies[call.call_id], 2.0)

    async def scenario() -> None:
        recorder = Recorder(own_tone)
        async with user_agent(recorder, max_calls=20, rtp_port_count=80) as ua:
            started = time.monotonic()
            sipp = Sipp("uac_echo.xml", peers_dir, target=ua.address, calls=20, limit=20, rate=40,
                        rtp_echo=True, timeout=30)
            (await sipp.run()).check()
            await recorder.wait_calls(20)
            elapsed = time.monotonic() - started
            assert ua.ports.in_use == 0 and not ua.calls
        assert len(recorder.records) == 20 and len({r.call.rtp.port for r in recorder.records}) == 20
        overlap = min(r.ended_at for r in recorder.records) - max(r.call.started_at for r in recorder.records)
        assert overlap > 1.0, "the calls were not up at the same time"
        assert elapsed < 10
        for record in recorder.records:
            frequency = frequencies[record.call.call_id]
            echoed = bytes(record.audio)
            assert tone_share(echoed, frequency) > 0.9, (frequency, record.call.stats)
            assert record.call.end_reason == "hangup"

    run(scenario(), timeout=60)


def test_cancel_before_answer(peers_dir: Path) -> None:
    async def scenario() -> None:
        recorder = Recorder()
        async with user_agent(recorder, ring_seconds=3.0) as ua:
            (await Sipp("uac_cancel.xml", peers_dir, target=ua.address).run()).check()
            assert ua.ports.in_use == 0 and not ua.calls
        assert recorder.records == []  # never answered, so no handler ran

    run(scenario())


def test_options_unknown_methods_and_dialogs(peers_dir: Path) -> None:
    async def scenario() -> None:
        async with user_agent(Recorder()) as ua:
            (await Sipp("uac_options.xml", peers_dir, target=ua.address).run()).check()

    run(scenario())


def test_hold_stops_our_audio_and_resume_restarts_it(peers_dir: Path) -> None:
    async def scenario() -> None:
        samples: list[tuple[bool, int]] = []

        async def handler(call: PhoneCall) -> None:
            await call.play(tone(700, 6.0))
            while not call.ended:
                samples.append((call.held, call.stats.packets_sent))
                await asyncio.sleep(0.05)

        async with user_agent(handler) as ua:
            (await Sipp("uac_hold.xml", peers_dir, target=ua.address).run()).check()
        held = [sent for on_hold, sent in samples if on_hold]
        assert len(held) > 10, "the hold was never seen"
        assert max(held) - min(held) <= 1, "audio kept flowing while held"
        resumed = [sent for on_hold, sent in samples[samples.index((True, held[-1])) + 1:] if not on_hold]
        assert resumed and resumed[-1] - resumed[0] > 20, "audio did not resume"

    run(scenario())


def test_no_common_codec_gets_488(peers_dir: Path) -> None:
    async def scenario() -> None:
        recorder = Recorder()
        async with user_agent(recorder) as ua:
            (await Sipp("uac_no_common_codec.xml", peers_dir, target=ua.address).run()).check()
        assert recorder.records == []

    run(scenario())


def test_busy_when_every_line_is_taken(peers_dir: Path) -> None:
    async def scenario() -> None:
        recorder = Recorder()
        async with user_agent(recorder, max_calls=1) as ua, user_agent() as other:
            first = await other.call(f"sip:helpline@127.0.0.1:{ua.address[1]}", timeout=5)
            (await Sipp("uac_busy.xml", peers_dir, target=ua.address).run()).check()
            await first.hang_up()
            await recorder.wait_calls(1)
        assert len(recorder.records) == 1

    run(scenario())


def test_retransmitted_requests_are_answered_from_their_transaction(peers_dir: Path) -> None:
    async def scenario() -> None:
        recorder = Recorder()
        async with user_agent(recorder, t1=0.15) as ua:
            sipp = Sipp("uac_retransmissions.xml", peers_dir, target=ua.address)
            (await sipp.run()).check()
            await recorder.wait_calls(1)
        assert len(recorder.records) == 1
        trace = (sipp.workdir / "messages.log").read_text()
        before_ack = trace[:trace.index("ACK sip:")]
        assert before_ack.count("SIP/2.0 200 OK") >= 3  # the first, and retransmissions at 150 and 450 ms

    run(scenario())


def test_offer_in_the_200_and_keys_by_sip_info(peers_dir: Path) -> None:
    async def scenario() -> None:
        recorder = Recorder()
        async with user_agent(recorder) as ua:
            (await Sipp("uac_late_offer.xml", peers_dir, target=ua.address).run()).check()
            await recorder.wait_calls(1)
        record = recorder.records[0]
        assert record.call.codec == "PCMA" and record.digits == ["7"]
        sent = b"".join(alaw_to_pcm(p.payload) for p in read_pcap_rtp(CAPTURES / "g711a.pcap"))
        assert best_correlation(bytes(record.audio), sent[:8000]) > 0.99

    run(scenario())


def test_in_band_keys_when_no_telephone_event_is_negotiated(peers_dir: Path) -> None:
    # A PCMU capture of two key presses as tones: the caller offers no telephone-event, so we listen for them.
    pcm = b"\x00\x00" * 1600 + dtmf_tone("4", 100) + b"\x00\x00" * 800 + dtmf_tone("2", 100) + b"\x00\x00" * 1600
    packets = [RtpPacket(0, 1000 + i, 160 * i, 0x1234, pcm_to_ulaw(pcm[320 * i:320 * (i + 1)]), marker=i == 0)
               for i in range(len(pcm) // 320)]
    capture = write_pcap_rtp(peers_dir / "keys.pcap", packets)
    scenario_xml = (Path(__file__).parent / "scenarios" / "uac_media_dtmf.xml").read_text()
    scenario_xml = scenario_xml.replace("RTP/AVP 8 0 101", "RTP/AVP 0").replace("RTP/AVP 8 101", "RTP/AVP 0")
    scenario_xml = scenario_xml.replace("/usr/share/sip-tester/g711a.pcap", str(capture))
    scenario_xml = scenario_xml.replace("a=rtpmap:101 telephone-event/8000\" search_in",
                                        "a=rtpmap:0 PCMU/8000\" search_in")
    for line in ['  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_1.pcap"/></action></nop>\n',
                 '  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_pound.pcap"/></action>'
                 '</nop>\n']:
        scenario_xml = scenario_xml.replace(line, "")
    custom = peers_dir / "uac_inband.xml"
    custom.write_text(scenario_xml)

    async def scenario() -> None:
        recorder = Recorder()
        async with user_agent(recorder) as ua:
            (await Sipp(str(custom), peers_dir, target=ua.address).run()).check()
            await recorder.wait_calls(1)
        record = recorder.records[0]
        assert record.call.negotiated is not None and record.call.negotiated.dtmf_payload_type is None
        assert record.digits == ["4", "2"]

    run(scenario())


# --- we call sipp ---


def test_outbound_call_answered(peers_dir: Path) -> None:
    async def scenario() -> None:
        async with user_agent() as ua, Sipp("uas_answer.xml", peers_dir) as sipp:
            started = time.monotonic()
            call = await ua.call(sipp.uri, timeout=5)
            assert 0.25 < time.monotonic() - started < 2  # it rang for 300 ms
            assert call.codec == "PCMU" and call.negotiated is not None
            assert call.negotiated.dtmf_payload_type == 101 and call.direction == "outbound"
            await call.play(tone(500, 0.3))
            await call.wait_played()
            await call.hang_up()
            (await sipp.wait()).check()
            assert ua.ports.in_use == 0

    run(scenario())


@pytest.mark.parametrize(("scenario_file", "reason", "timeout"), [
    ("uas_busy.xml", "busy", 5.0), ("uas_no_answer.xml", "no-answer", 1.0)])
def test_outbound_call_fails_clearly(peers_dir: Path, scenario_file: str, reason: str, timeout: float) -> None:
    async def scenario() -> None:
        async with user_agent() as ua, Sipp(scenario_file, peers_dir) as sipp:
            with pytest.raises(CallFailed) as failure:
                await ua.call(sipp.uri, timeout=timeout)
            assert failure.value.reason == reason
            (await sipp.wait()).check()  # the CANCEL/ACK exchange completed
            assert ua.ports.in_use == 0 and not ua.calls

    run(scenario())


def test_registration_with_digest_refresh_and_removal(peers_dir: Path) -> None:
    async def scenario() -> None:
        async with Sipp("uas_registrar.xml", peers_dir, service="registrar") as registrar:
            registration = RegistrarConfig(server=f"127.0.0.1:{registrar.port}", username="2001",
                                           password="s3cret", domain="pbx.test", expires=2)
            async with user_agent(registrar=registration) as ua:
                await ua.wait_registered(5)
                assert ua.registered
                await asyncio.sleep(1.5)  # the grant is 2 s: a refresh goes out after 1 s
            (await registrar.wait()).check()  # register, refresh, and the expires=0 on stop, all verified

    run(scenario())


@pytest.mark.parametrize("scenario_file", ["uas_auth.xml", "uas_proxy_auth.xml"])
def test_outbound_call_answers_a_digest_challenge(peers_dir: Path, scenario_file: str) -> None:
    async def scenario() -> None:
        async with Sipp(scenario_file, peers_dir) as sipp:
            credentials = RegistrarConfig(server="127.0.0.1:9", username="2001", password="s3cret", domain="pbx.test",
                                          retry_seconds=60)
            async with user_agent(registrar=credentials, t1=0.1) as ua:
                call = await ua.call(sipp.uri, timeout=5)
                await call.hang_up()
            (await sipp.wait()).check()

    run(scenario())


def test_cold_transfer_by_refer(peers_dir: Path) -> None:
    async def scenario() -> None:
        async with user_agent() as ua, Sipp("uas_refer.xml", peers_dir) as sipp:
            call = await ua.call(sipp.uri, timeout=5)
            await call.refer("sip:carol@example.test", timeout=5)
            assert call.ended  # once the target answered, our leg is done
            (await sipp.wait()).check()

    run(scenario())


def test_refused_transfer_raises(peers_dir: Path) -> None:
    async def scenario() -> None:
        async with user_agent() as ua, Sipp("uas_refer_declined.xml", peers_dir) as sipp:
            call = await ua.call(sipp.uri, timeout=5)
            with pytest.raises(TransferFailed) as failure:
                await call.refer("sip:carol@example.test", timeout=3)
            assert failure.value.status == 603 and not call.ended  # the caller is still ours
            await call.hang_up()
            (await sipp.wait()).check()

    run(scenario())
