"""Staff on their own phones in a call (issue 14), with baresip softphones on loopback.

A person takes a call over on their phone: the caller hears them (Whisper on what the caller's phone
decoded), the AI keeps quiet, both sides' words land in the transcript, and hand back returns the call to the
AI. A supervisor listens in, then barges in (tones stand for voices: which one each phone heard is measured,
not guessed), whispers (a staff-only note, the caller hears nothing) and barges in (their line). A phone that
does not answer leaves the call with the AI and a note for its owner.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from helpline.channels.phone import PhoneCall, SipConfig
from helpline.channels.phone.service import PhoneService, PhoneSettings, Speaker
from helpline.channels.phone.supervision import CallSupervision, DeskRefused, StaffPhone
from helpline.runtime import Runtime, build_runtime
from helpline.store.models import Message
from helpline.voice.audio import silence
from helpline.voice.frames import AudioIn, Direction, Frame, Transcript, UserStoppedSpeaking
from helpline.voice.pipeline import Processor
from helpline.voice.setup import SpeechModels, build_voice_services, load_speech_models
from helpline.voice.transport import CallSettings
from helpline.voice.vad import silero_model
from tests.channels.phone.conftest import needs_baresip, run
from tests.channels.phone.peers import (
    Baresip,
    free_port_block,
    free_udp_port,
    speech_pcm,
    tone,
    tone_share,
    user_agent,
    write_wav,
)
from tests.channels.phone.test_phone_line import hear
from tests.conftest import DEMO, DemoModels

pytestmark = needs_baresip
OPEN = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Chicago: the team is in
SAM = StaffPhone("", "sam@example.com", "Sam", "console:sam@example.com")


def sam_at(uri: str) -> StaffPhone:
    return StaffPhone(uri, SAM.by, SAM.name, SAM.actor)


def script(folder: Path, name: str, *parts: str | float) -> Path:
    """A microphone: text is spoken (espeak-ng), a number is that many seconds of silence."""
    audio = b"".join(silence(int(p * 1000)) if isinstance(p, float | int) else speech_pcm(p) for p in parts)
    return write_wav(folder / f"{name}.wav", audio)


@pytest.fixture(scope="module")
def speech_models() -> SpeechModels:
    return load_speech_models("base", "piper")


@pytest.fixture()
def runtime(demo_models: DemoModels, tmp_path: Path) -> Iterator[Runtime]:
    started = time.monotonic()
    made = build_runtime(DEMO, db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                         records_url=f"sqlite:///{tmp_path / 'records.db'}", models=demo_models.models,
                         clock=lambda: OPEN + timedelta(seconds=time.monotonic() - started))
    yield made
    made.db.engine.dispose()


@asynccontextmanager
async def phone_line(runtime: Runtime, models: SpeechModels) -> AsyncIterator[PhoneService]:
    block = free_port_block(40)
    config = SipConfig(host="127.0.0.1", port=free_udp_port(), rtp_ports=(block.first, block.last))
    services = build_voice_services(runtime, models, prepare=False)  # the warm-up: tests/voice/test_setup.py
    phone = PhoneService(services, config, Speaker(services.voice or models.synthesizer),
                         PhoneSettings(dial_callbacks=False, transfer_ring_seconds=5.0))
    await phone.start()
    try:
        yield phone
    finally:
        await phone.stop()


async def live_conversation(phone: PhoneService, timeout: float = 10.0) -> str:
    async with asyncio.timeout(timeout):
        while True:
            for supervision in phone.desk._calls:
                if supervision.conversation_id():
                    return str(supervision.conversation_id())
            await asyncio.sleep(0.05)


def transcript(runtime: Runtime, conversation_id: str) -> list[Message]:
    with runtime.db.session() as session:
        messages = list(session.query(Message).filter(Message.conversation_id == conversation_id)
                        .order_by(Message.seq))
        session.expunge_all()
        return messages


@pytest.mark.timeout(120)
def test_a_person_takes_the_call_on_their_phone_the_caller_hears_them_and_the_transcript_goes_on(
        runtime: Runtime, speech_models: SpeechModels, tmp_path: Path) -> None:
    sam_mic = script(tmp_path, "sam", 1.0, "Hello, this is Sam from the repair desk. Tell me about your machine.",
                     20.0)
    caller_mic = script(tmp_path, "caller", 9.0, "My espresso machine is leaking water everywhere.", 20.0)

    async def scenario() -> tuple[str, str, list[Message], bool]:
        async with phone_line(runtime, speech_models) as phone, \
                Baresip(tmp_path, user="sam", source=sam_mic, lifetime=60) as sam, \
                Baresip(tmp_path, user="caller", source=caller_mic, lifetime=60) as caller:
            host, port = phone.ua.address
            await caller.dial(f"sip:helpline@{host}:{port}")
            await caller.wait_event("CALL_ESTABLISHED", timeout=10)
            conversation_id = await live_conversation(phone)
            await asyncio.sleep(1.0)  # the AI starts greeting
            phone.desk.take_over(conversation_id, sam.uri, SAM.by, SAM.name, SAM.actor)
            await sam.wait_event("CALL_ESTABLISHED", timeout=10)
            await asyncio.sleep(13.0)  # Sam speaks, then the caller
            taken = phone.desk.state(conversation_id)
            assert taken is not None and taken.person == SAM.by
            await asyncio.to_thread(runtime.conversations.hand_back, conversation_id, SAM.by, SAM.actor)
            await sam.wait_event("CALL_CLOSED", timeout=5)  # the hand-back takes Sam's phone out of the call
            await asyncio.sleep(4.0)  # the AI is back and says so
            back = phone.desk.state(conversation_id)
            await caller.hang_up()
            await caller.wait_event("CALL_CLOSED", timeout=5)
            await asyncio.sleep(1.0)
            return (hear(speech_models, caller.heard()), hear(speech_models, sam.heard()),
                    transcript(runtime, conversation_id), back is not None and not back.person)

    caller_heard, sam_heard, messages, handed_back = run(scenario(), timeout=110)
    assert "repair" in caller_heard or "desk" in caller_heard, caller_heard  # not in anything the AI says
    # the AI's voice is out of the call meanwhile: not even the "has joined" notice it would speak reached the caller
    assert "joined" not in caller_heard and "member of our team" not in caller_heard, caller_heard
    assert "espresso" in sam_heard or "leaking" in sam_heard, sam_heard  # the caller reached Sam's ear
    joined = next(m.seq for m in messages if m.role == "system" and "has joined" in m.text)
    left = next(m.seq for m in messages if m.role == "system" and "back with" in m.text)
    during = [m for m in messages if joined < m.seq < left]
    said_by_sam = " ".join(m.text.lower() for m in during if m.role == "human")
    assert "repair" in said_by_sam or "desk" in said_by_sam, said_by_sam  # Sam's line is in the transcript
    said_by_caller = " ".join(m.text.lower() for m in during if m.role == "customer")
    assert "espresso" in said_by_caller or "leak" in said_by_caller, said_by_caller
    assert not [m.text for m in during if m.role == "agent"]  # the AI answered nothing while Sam had the call
    assert handed_back and "virtual assistant" in caller_heard.split("desk")[-1]  # the AI is back, and says so


class _Conversations:
    """What the supervision asks of the conversation service, recorded."""

    def __init__(self) -> None:
        self.whispers: list[str] = []
        self.spoken: list[str] = []

    def whisper(self, conversation_id: str, by: str, text: str, actor: str) -> None:
        self.whispers.append(text)

    def staff_spoke(self, conversation_id: str, by: str, name: str, text: str, actor: str) -> None:
        self.spoken.append(text)


class _Recognised(Processor):
    """A recogniser that hears the same words in every utterance (which leg's words go where is the point)."""

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, UserStoppedSpeaking):
            await self.push(Transcript("check the warranty first", 0.9, frame.ended_at), direction)
        else:
            await self.push(frame, direction)


def _services(conversations: _Conversations) -> Any:
    return SimpleNamespace(conversations=conversations, settings=CallSettings(), vad_model=silero_model,
                           recognition=_Recognised)


def test_a_supervisor_listens_in_one_way_then_barges_in_and_the_caller_hears_them(tmp_path: Path) -> None:
    supervisor_voice = write_wav(tmp_path / "supervisor.wav", tone(1000, 12.0, level=0.2))

    async def scenario() -> tuple[bytes, bytes, bytes]:
        caller_heard = bytearray()
        answered: asyncio.Queue[PhoneCall] = asyncio.Queue()

        async def answer(call: PhoneCall) -> None:
            answered.put_nowait(call)
            await call.wait_ended(30)

        async with user_agent(answer) as helpline, user_agent() as phone, \
                Baresip(tmp_path, user="boss", source=supervisor_voice, lifetime=40) as boss:
            caller = await phone.call(f"sip:helpline@{helpline.address[0]}:{helpline.address[1]}", timeout=5)
            call = await answered.get()
            supervision = CallSupervision(call, helpline, _services(_Conversations()), ring_seconds=5.0)
            supervision.conversation_id = lambda: "c1"

            async def caller_side() -> None:  # the caller talks (500 Hz) and records what they hear
                await caller.play(tone(500, 12.0, level=0.2))
                async for frame in caller.receive():
                    if isinstance(frame, AudioIn):
                        caller_heard.extend(frame.pcm)

            async def helpline_side() -> None:  # the agent speaks (700 Hz); the caller's frames reach the desk
                await call.play(tone(700, 12.0, level=0.2))
                async for frame in call.receive():
                    await supervision.caller_frame(frame)

            tasks = [asyncio.create_task(caller_side()), asyncio.create_task(helpline_side())]
            supervision.start_monitoring(sam_at(boss.uri), "listen")
            await boss.wait_event("CALL_ESTABLISHED", timeout=5)
            await asyncio.sleep(3.0)
            listening_mark = len(caller_heard)
            boss_mark = len(boss.heard())
            with pytest.raises(DeskRefused):  # one supervisor on the line at a time
                supervision.start_monitoring(StaffPhone(boss.uri, "eve@example.com", "Eve", "console:eve"), "listen")
            supervision.start_monitoring(sam_at(boss.uri), "barge")
            await asyncio.sleep(2.5)
            await supervision.close()
            await boss.wait_event("CALL_CLOSED", timeout=5)
            await caller.hang_up()
            for task in tasks:
                task.cancel()
            heard_by_boss = boss.heard()
        return bytes(caller_heard[:listening_mark]), bytes(caller_heard[listening_mark:]), heard_by_boss[:boss_mark]

    while_listening, while_barging, boss_heard = run(scenario(), timeout=40)
    # listening: the supervisor hears the caller and the agent; the caller does not hear the supervisor
    assert tone_share(boss_heard[-2 * 8000:], 500) > 0.2 and tone_share(boss_heard[-2 * 8000:], 700) > 0.2
    assert tone_share(while_listening[-2 * 8000:], 1000) < 0.02
    # barging in: the caller hears the supervisor over the agent
    assert tone_share(while_barging[-2 * 8000:], 1000) > 0.2
    assert tone_share(while_barging[-2 * 8000:], 700) > 0.2


def test_a_phone_that_does_not_answer_leaves_the_call_with_the_ai_and_tells_its_owner() -> None:
    async def scenario() -> tuple[bool, list[str], str]:
        answered: asyncio.Queue[PhoneCall] = asyncio.Queue()

        async def answer(call: PhoneCall) -> None:
            answered.put_nowait(call)
            await call.wait_ended(30)

        conversations = _Conversations()
        async with user_agent(answer) as helpline, user_agent() as phone, user_agent(answer, max_calls=0) as busy:
            caller = await phone.call(f"sip:helpline@{helpline.address[0]}:{helpline.address[1]}", timeout=5)
            call = await answered.get()
            supervision = CallSupervision(call, helpline, _services(conversations), ring_seconds=3.0)
            supervision.conversation_id = lambda: "c1"
            supervision.start_take_over(sam_at(f"sip:sam@{busy.address[0]}:{busy.address[1]}"))
            ringing = supervision.state().ringing
            async with asyncio.timeout(5):
                while supervision.state().ringing:
                    await asyncio.sleep(0.05)
            muted = supervision.agent_muted
            await caller.hang_up()
            await supervision.close()
            return muted, conversations.whispers, ringing

    muted, notes, ringing = run(scenario(), timeout=20)
    assert ringing == SAM.by
    assert not muted  # the AI still has the caller
    assert len(notes) == 1 and "did not answer (busy)" in notes[0] and "the AI still has the call" in notes[0]


def test_a_whisper_to_the_ai_is_a_staff_note_the_caller_never_hears_and_a_barge_in_is_their_line(
        tmp_path: Path) -> None:
    hint = "Please check the warranty first."
    boss_mic = script(tmp_path, "boss", 0.5, hint, 2.5, hint, 6.0)

    async def scenario() -> tuple[bytes, _Conversations]:
        caller_heard = bytearray()
        answered: asyncio.Queue[PhoneCall] = asyncio.Queue()
        conversations = _Conversations()

        async def answer(call: PhoneCall) -> None:
            answered.put_nowait(call)
            await call.wait_ended(30)

        async with user_agent(answer) as helpline, user_agent() as phone, \
                Baresip(tmp_path, user="boss", source=boss_mic, lifetime=40) as boss:
            caller = await phone.call(f"sip:helpline@{helpline.address[0]}:{helpline.address[1]}", timeout=5)
            call = await answered.get()
            supervision = CallSupervision(call, helpline, _services(conversations), ring_seconds=5.0)
            supervision.conversation_id = lambda: "c1"

            async def caller_side() -> None:
                async for frame in caller.receive():
                    if isinstance(frame, AudioIn):
                        caller_heard.extend(frame.pcm)

            async def helpline_side() -> None:
                await call.play(tone(700, 12.0, level=0.2))  # the AI talks on meanwhile
                async for frame in call.receive():
                    await supervision.caller_frame(frame)

            tasks = [asyncio.create_task(caller_side()), asyncio.create_task(helpline_side())]
            supervision.start_monitoring(sam_at(boss.uri), "whisper")
            await boss.wait_event("CALL_ESTABLISHED", timeout=5)
            async with asyncio.timeout(6):
                while not conversations.whispers:
                    await asyncio.sleep(0.05)
            whispered = bytes(caller_heard)
            supervision.start_monitoring(sam_at(boss.uri), "barge")
            async with asyncio.timeout(6):
                while not conversations.spoken:
                    await asyncio.sleep(0.05)
            await supervision.close()
            await caller.hang_up()
            for task in tasks:
                task.cancel()
        return whispered, conversations

    whispered, conversations = run(scenario(), timeout=40)
    assert conversations.whispers == ["check the warranty first"]  # a staff-only note ...
    assert tone_share(whispered[-2 * 8000:], 700) > 0.9  # ... while the caller heard the AI alone
    assert conversations.spoken == ["check the warranty first"]  # barged in: their line, heard by the caller


def test_what_a_person_said_on_their_phone_is_their_line_redacted_and_never_spoken_again(runtime: Runtime) -> None:
    conversations = runtime.conversations
    started = conversations.start(channel="phone", actor="phone:sip")
    conversations.take_over(started.id, SAM.by, SAM.name, SAM.actor)
    after = conversations.last_seq(started.id)
    conversations.staff_spoke(started.id, SAM.by, SAM.name, "Your card 4111 1111 1111 1111 is fine.", SAM.actor)
    conversations.human_reply(started.id, SAM.by, SAM.name, "Typed in the console.", SAM.actor)
    lines, handled = conversations.staff_lines_since(started.id, after)
    assert handled and [text for _, text in lines] == ["Typed in the console."]  # only the typed line is spoken
    spoken = [m for m in transcript(runtime, started.id) if (m.meta or {}).get("spoken")]
    assert len(spoken) == 1 and spoken[0].role == "human" and "4111" not in spoken[0].text
