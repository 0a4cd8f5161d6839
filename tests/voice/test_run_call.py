"""A whole call through run_call: real VAD, barge-in, call agent, demo engine and synthesis stage (espeak-ng);
the recogniser is scripted (the phone-line tests run Whisper)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime

from sqlalchemy import select

from helpline.store.models import Conversation, Message, Ticket
from helpline.voice.frames import AgentSpeech, Direction, Frame
from helpline.voice.pipeline import Processor
from helpline.voice.transport import CallOutcome, CallSettings, VoiceServices, run_call
from helpline.voice.turns import TurnSettings
from tests.conftest import RuntimeFactory
from tests.voice.fakes import FakeCall, RecordingSynthesis, ScriptedRecognition
from tests.voice.speech import speak

OPEN = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def test_a_call_barge_ins_and_the_agent_hangs_up_after_its_goodbye(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(OPEN)
    synthesis = RecordingSynthesis(words_per_minute=230)
    recognition = ScriptedRecognition(["How long do I have to return something?", "no thanks, bye"])
    services = VoiceServices(runtime.conversations, runtime.pack, recognition=lambda: recognition,
                             synthesis=lambda: synthesis,
                             settings=CallSettings(turns=TurnSettings(silence_seconds=20)))
    question, bye = speak("How long do I have to return something?"), speak("no thanks, bye")

    async def scenario() -> tuple[CallOutcome, FakeCall, list[float]]:
        call = FakeCall()
        call.open_line()
        running = asyncio.create_task(run_call(call, services, transport="test"))
        while call.heard_seconds() < 1.0:  # the greeting is playing
            await asyncio.sleep(0.01)
        spoke = [await call.say(question)]
        answered = lambda: any("Returns and refunds" in s.text for s in synthesis.spoken)  # noqa: E731
        while not answered() or call.heard_seconds(spoke[0] + 1) < 1:  # a second into the answer
            await asyncio.sleep(0.01)
        spoke.append(await call.say(bye))  # over the answer
        outcome = await asyncio.wait_for(running, 30)
        return outcome, call, spoke

    outcome, call, spoke = asyncio.run(scenario())
    assert outcome.ended_by == "agent" and call.hung_up_at is not None
    # both barge-ins silenced the agent within 200 ms of the caller's first sound
    assert len(call.cleared) >= 2
    pauses = [min(t for t in call.cleared if t >= s) - s for s in spoke]
    assert all(p < 0.2 for p in pauses), pauses
    assert all(p < 0.2 for p in outcome.metrics.barge_in)
    assert len(outcome.metrics.end_of_speech) == 2 and len(outcome.metrics.response) >= 2
    said = [s.text for s in synthesis.spoken if isinstance(s, AgentSpeech)]
    assert "Brightbean" in said[0] and "Returns and refunds" in said[1] and "bye" in said[-1]
    # the goodbye was heard to its end before the line went down
    assert call.heard_seconds(since=spoke[1]) >= synthesis.seconds(said[-1]) - 0.05

    with runtime.db.session() as session:
        conversation = session.get(Conversation, outcome.conversation_id)
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == outcome.conversation_id)).one()
        customer = [m.text for m in session.scalars(select(Message).where(
            Message.conversation_id == outcome.conversation_id, Message.role == "customer").order_by(Message.seq))]
        assert conversation is not None and conversation.status == "ended" and conversation.channel == "phone"
        assert ticket.channel == "phone" and ticket.handle_time_seconds >= 0
        assert customer == ["How long do I have to return something?", "no thanks, bye"]


class Stubborn(Processor):
    """A stage that swallows its cancellation mid-utterance (as a synthesiser blocked in a thread can)."""

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, AgentSpeech):
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(30)
            return
        await self.push(frame, direction)


def test_a_caller_hanging_up_ends_the_call_even_if_a_stage_will_not_stop(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(OPEN)
    services = VoiceServices(runtime.conversations, runtime.pack, recognition=lambda: ScriptedRecognition([]),
                             synthesis=Stubborn, settings=CallSettings(stop_wait_seconds=0.5))

    async def scenario() -> tuple[CallOutcome, float]:
        call = FakeCall()
        call.open_line()
        running = asyncio.create_task(run_call(call, services, transport="test"))
        await asyncio.sleep(0.5)
        call.hang_up_as_caller()
        hung_up = time.monotonic()
        outcome = await asyncio.wait_for(running, 10)
        return outcome, time.monotonic() - hung_up

    outcome, took = asyncio.run(scenario())
    assert outcome.ended_by == "caller" and took < 2.0
    with runtime.db.session() as session:
        conversation = session.get(Conversation, outcome.conversation_id)
        assert conversation is not None and conversation.status == "ended"  # closed, the ticket kept
