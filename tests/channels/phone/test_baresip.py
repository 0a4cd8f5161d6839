"""baresip, a real softphone, on the other end: it speaks (espeak-ng audio as its microphone) and records what
it hears. Calls both ways, a cold transfer it carries out, and a warm transfer bridged through us."""

from __future__ import annotations

import asyncio
from pathlib import Path

from helpline.channels.phone import PhoneCall, bridge
from helpline.voice.frames import AudioIn
from tests.channels.phone.conftest import needs_baresip, run
from tests.channels.phone.peers import (
    Baresip,
    Recorder,
    best_correlation,
    read_wav,
    speech_wav,
    tone,
    tone_share,
    user_agent,
    write_wav,
)

pytestmark = needs_baresip
CALLER_TEXT = "Hello, this is Alice. I would like to check on my order, number four two seven, please."


def test_baresip_calls_us_we_hear_its_speech_and_it_hears_our_tone(peers_dir: Path) -> None:
    speech = speech_wav(CALLER_TEXT, peers_dir / "alice.wav")

    async def scenario() -> None:
        recorder = Recorder(tone(1000, 1.5), hang_up_after_playing=True, linger=1.5)
        async with user_agent(recorder) as ua, Baresip(peers_dir, source=speech) as alice:
            await alice.dial(f"sip:helpline@127.0.0.1:{ua.address[1]}")
            await alice.wait_event("CALL_CLOSED", timeout=15)
            await recorder.wait_calls(1)
            assert ua.ports.in_use == 0 and not ua.calls
        record = recorder.records[0]
        assert record.call.caller == alice.uri.rsplit(":", 1)[0] + f":{alice.port}"
        assert record.call.codec == "PCMU"
        heard = alice.heard()  # what the caller's phone decoded
        assert len(heard) >= 2 * 8000 * 1.4
        assert tone_share(heard, 1000) > 0.95
        # the caller's speech reached us intact (G.711 both ways: a near-perfect waveform match)
        sent, _ = read_wav(speech)
        assert best_correlation(bytes(record.audio), sent[: 2 * 8000 * 2]) > 0.95

    run(scenario())


def test_we_call_baresip(peers_dir: Path) -> None:
    speech = speech_wav(CALLER_TEXT, peers_dir / "bob.wav")

    async def scenario() -> None:
        async with user_agent() as ua, Baresip(peers_dir, user="bob", source=speech) as bob:
            call = await ua.call(bob.uri, timeout=5)
            assert call.direction == "outbound" and call.callee == bob.uri
            await call.play(tone(800, 1.5))
            received = bytearray()

            async def listen() -> None:
                async for frame in call.receive():
                    if isinstance(frame, AudioIn):
                        received.extend(frame.pcm)

            listener = asyncio.create_task(listen())
            await call.wait_played()
            await asyncio.sleep(0.8)
            await call.hang_up()
            await listener
            await bob.wait_event("CALL_CLOSED", timeout=5)
            heard = bob.heard()
            assert tone_share(heard, 800) > 0.95 and len(heard) >= 2 * 8000 * 1.4
            sent, _ = read_wav(speech)
            assert best_correlation(bytes(received), sent[: 2 * 8000 * 2]) > 0.95

    run(scenario())


def test_cold_transfer_carried_out_by_baresip(peers_dir: Path) -> None:
    async def scenario() -> None:
        target = Recorder(tone(500, 0.5), hang_up_after_playing=True)
        async with user_agent() as ua, user_agent(target, user="agent") as desk, Baresip(peers_dir) as alice:
            call = await ua.call(alice.uri, timeout=5)
            await call.refer(desk.uri, timeout=10)  # alice calls the desk; we leave the call
            assert call.ended
            await target.wait_calls(1)
            assert target.records[0].call.caller.startswith("sip:alice@127.0.0.1")

    run(scenario())


def test_warm_transfer_bridges_the_caller_to_a_human(peers_dir: Path) -> None:
    caller_speech = speech_wav(CALLER_TEXT, peers_dir / "caller.wav")
    human_voice = write_wav(peers_dir / "human.wav", tone(600, 3.0))
    summary = tone(1000, 0.6)  # stands for the spoken handoff summary
    outcome: dict[str, object] = {}

    async def scenario() -> None:
        async with Baresip(peers_dir, user="human", source=human_voice) as human:

            async def agent(call: PhoneCall) -> None:
                # what the call pipeline will do on escalation: call the human, brief them, then connect
                second = await ua.call(human.uri, timeout=5)
                await second.play(summary)
                await second.wait_played()
                outcome["ended"] = await bridge(call, second)

            async with user_agent(agent) as ua, Baresip(peers_dir, user="caller", source=caller_speech) as caller:
                await caller.dial(f"sip:helpline@127.0.0.1:{ua.address[1]}")
                await caller.wait_event("CALL_ESTABLISHED", timeout=5)
                await asyncio.sleep(3.5)
                await caller.hang_up()  # the caller hangs up: the bridge ends and takes the human's leg down
                await human.wait_event("CALL_CLOSED", timeout=5)
                await asyncio.sleep(0.2)
                assert ua.ports.in_use == 0 and not ua.calls
            heard_by_human = human.heard()
            heard_by_caller = caller.heard()
        assert tone_share(heard_by_human[: 2 * 8000 // 2], 1000) > 0.9  # the summary came first
        sent, _ = read_wav(caller_speech)
        # what the caller said once bridged (from about 0.7 s on; before that the human was being briefed)
        assert best_correlation(heard_by_human, sent[2 * 8000: 2 * 20000], max_lag_seconds=3.0) > 0.95
        assert tone_share(heard_by_caller, 600) > 0.8
        assert isinstance(outcome.get("ended"), PhoneCall)

    run(scenario())
