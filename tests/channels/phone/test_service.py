"""The phone service's own logic: the hold queue while a team is busy, with real SIP user agents."""

from __future__ import annotations

import asyncio
from pathlib import Path

from helpline.channels.phone import PhoneCall
from helpline.channels.phone.service import HoldQueue, PhoneSettings, SipCallMedia, Speaker, wait_words
from helpline.voice.audio import rms
from helpline.voice.frames import AudioIn
from helpline.voice.synthesis import EspeakSynthesizer
from tests.channels.phone.conftest import run
from tests.channels.phone.peers import Baresip, Recorder, tone, user_agent


def test_the_queue_is_first_come_first_served_and_estimates_from_recent_calls() -> None:
    queue = HoldQueue(average_handle_seconds=120)
    assert queue.join("tier2", "a") == 1 and queue.join("tier2", "b") == 2 and queue.join("billing", "c") == 1
    assert queue.estimated_wait(2) == 240
    assert wait_words(240) == "about 4 minutes" and wait_words(50) == "about a minute"
    queue.leave("tier2", "a")
    assert queue.position("tier2", "b") == 1
    queue.handled(600)  # a long call raises the estimate
    assert queue.estimated_wait(1) > 120


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
