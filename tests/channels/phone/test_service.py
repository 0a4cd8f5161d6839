"""The phone service's own logic: the hold queue while a team is busy, with real SIP user agents."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpline.channels.phone import PhoneCall, SipConfig
from helpline.channels.phone.service import (
    HoldQueue,
    PhoneService,
    PhoneSettings,
    SipCallMedia,
    Speaker,
    wait_words,
)
from helpline.runtime import Runtime
from helpline.store.repositories import CallbackRepository
from helpline.voice.audio import rms
from helpline.voice.frames import AudioIn
from helpline.voice.pipeline import Processor
from helpline.voice.synthesis import EspeakSynthesizer
from helpline.voice.transport import VoiceServices
from tests.channels.phone.conftest import run
from tests.channels.phone.peers import Baresip, Recorder, free_port_block, tone, user_agent


def test_the_queue_is_first_come_first_served_and_estimates_from_recent_calls() -> None:
    queue = HoldQueue(average_handle_seconds=120)
    assert queue.join("tier2", "a") == 1 and queue.join("tier2", "b") == 2 and queue.join("billing", "c") == 1
    assert queue.estimated_wait(2) == 120  # one call ahead of b: a's, not b's own
    assert wait_words(240) == "about 4 minutes" and wait_words(50) == "about a minute"
    queue.leave("tier2", "a")
    assert queue.position("tier2", "b") == 1
    queue.handled(600)  # a long call raises the estimate
    assert queue.estimated_wait(2) > 120


def test_a_caller_with_eight_ahead_hears_eight_calls_worth_of_wait_not_nine() -> None:
    queue = HoldQueue(average_handle_seconds=240)
    for n in range(8):
        queue.join("tier2", f"ahead-{n}")
    position = queue.join("tier2", "me")
    assert position == 9
    assert wait_words(queue.estimated_wait(position)) == "about 32 minutes"  # 8 ahead x 4 minutes, not 36
    assert wait_words(queue.estimated_wait(1)) == "about a minute"  # next in line


class HeardSpeaker(Speaker):
    def __init__(self) -> None:
        super().__init__(EspeakSynthesizer())
        self.said: list[str] = []

    async def say(self, call: PhoneCall, text: str) -> None:
        self.said.append(text)
        await super().say(call, text)


def test_a_caller_waiting_for_a_busy_team_hears_their_place_in_the_queue(tmp_path: Path) -> None:
    async def scenario() -> tuple[bool, list[str], float]:
        heard: list[float] = []
        speaker = HeardSpeaker()
        settings = PhoneSettings(queue_max_seconds=2.5, queue_retry_seconds=1.0, transfer_ring_seconds=2.0)
        answered: asyncio.Queue[PhoneCall] = asyncio.Queue()

        async def answer(call: PhoneCall) -> None:
            answered.put_nowait(call)
            await call.wait_ended(30)

        async with user_agent(answer, max_calls=0) as team, user_agent(answer) as helpline, user_agent() as caller:
            leg = await caller.call(f"sip:helpline@{helpline.address[0]}:{helpline.address[1]}", timeout=5)
            listening = asyncio.create_task(_listen(leg, heard))
            media = SipCallMedia(await answered.get(), helpline, speaker, settings)
            team_uri = f"sip:tier2@{team.address[0]}:{team.address[1]}"
            connected = await media.transfer(team_uri, "A caller who wants a manager.", warm=True)
            await asyncio.sleep(0.5)
            await leg.hang_up()
            listening.cancel()
            await media.close()
            return connected, speaker.said, max(heard, default=0.0)

    connected, said, loudest = run(scenario(), timeout=60)
    assert not connected  # the team stayed busy past the limit: the agent books a callback instead
    assert said and all("number 1 in the queue" in line for line in said)
    assert loudest > 500  # the caller really heard the announcement


async def _listen(call: PhoneCall, heard: list[float]) -> None:
    async for frame in call.receive():
        if isinstance(frame, AudioIn):
            heard.append(rms(frame.pcm))


def test_a_cold_transfer_hands_the_caller_over_with_refer(tmp_path: Path) -> None:
    async def scenario() -> tuple[bool, str]:
        desk = Recorder(tone(500, 0.5), hang_up_after_playing=True)
        settings = PhoneSettings(warm_transfer=False)
        async with user_agent() as helpline, user_agent(desk, user="desk") as team, Baresip(tmp_path) as alice:
            call = await helpline.call(alice.uri, timeout=5)
            media = SipCallMedia(call, helpline, HeardSpeaker(), settings)
            connected = await media.transfer(team.uri, "summary", warm=True)
            await desk.wait_calls(1)
            await media.close()
            return connected, desk.records[0].call.caller

    connected, caller = run(scenario(), timeout=60)
    assert connected and caller.startswith("sip:alice@127.0.0.1")  # alice now calls the desk herself


def test_a_callback_nobody_answers_is_retried_then_marked_missed(make_runtime: Callable[[datetime], Runtime],
                                                                 tmp_path: Path) -> None:
    now = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    runtime = make_runtime(now)

    def unused() -> Processor:
        raise AssertionError("no call is answered in this test")

    services = VoiceServices(runtime.conversations, runtime.pack, recognition=unused, synthesis=unused)
    with runtime.db.session() as session:
        callback_id = CallbackRepository(session).schedule(actor="test", due_at=now - timedelta(minutes=1),
                                                           reason="your order", phone="+13125550123", now=now).id

    async def busy_line(call: PhoneCall) -> None:
        await call.hang_up()

    async def scenario() -> list[str]:
        outcomes = []
        async with user_agent(busy_line, max_calls=0) as customer:
            block = free_port_block(20)
            config = SipConfig(host="127.0.0.1", port=0, rtp_ports=(block.first, block.last))
            settings = PhoneSettings(dial_callbacks=False, callback_target=customer.uri, callback_attempts=2,
                                     callback_retry_seconds=0.0)
            phone = PhoneService(services, config, Speaker(EspeakSynthesizer()), settings)
            await phone.start()
            try:
                for _ in range(3):
                    outcomes += [r.outcome for r in await phone.dial_due_callbacks()]
            finally:
                await phone.stop()
        return outcomes

    assert run(scenario(), timeout=60) == ["busy", "busy"]  # the third poll finds nothing left to dial
    with runtime.db.session() as session:
        callback = CallbackRepository(session).get(callback_id, actor="test")
        assert callback is not None and callback.status == "missed" and "2 attempts" in callback.outcome
