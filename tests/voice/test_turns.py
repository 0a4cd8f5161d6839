import asyncio
import time

import pytest

from helpline.voice.control import AgentPaused, CallMetrics, PauseAgent, ResumeAgent
from helpline.voice.frames import (
    AgentFinishedSpeaking,
    AgentSpeech,
    AudioOut,
    Direction,
    Frame,
    Interruption,
    SilenceTimeout,
    Transcript,
    UtteranceDone,
)
from helpline.voice.pipeline import Pipeline
from helpline.voice.transport import TransportIn, TransportOut
from helpline.voice.turns import BargeIn, TurnSettings, TurnTaking, is_backchannel
from helpline.voice.vad import VoiceActivityProcessor
from tests.voice.fakes import Collect, EspeakSynthesis, FakeCall, ScriptedRecognition
from tests.voice.speech import RATE, speak

LONG_REPLY = ("Your order B B one zero zero zero one left our roastery on Monday and is with the courier now. "
              "It should reach you by Thursday afternoon, and you will get a text message when it is out for delivery.")


@pytest.mark.parametrize(("text", "expected"), [
    ("uh-huh", True), ("Uh huh.", True), ("okay", True), ("Okay, sure.", True), ("mm-hmm", True), ("yeah right", True),
    ("yes", False), ("okay cancel it", False), ("no", False), ("wait", False), ("", False),
    ("okay okay okay okay okay", False),
])
def test_backchannels_are_short_acknowledgements_only(text: str, expected: bool) -> None:
    assert is_backchannel(text) is expected


class CallRig:
    """The caller-to-speaker part of a call: real VAD, barge-in and turn-taking, espeak-ng agent audio."""

    def __init__(self, heard: list[str]):
        self.call = FakeCall()
        self.metrics = CallMetrics()
        self.recognition = ScriptedRecognition(heard)
        self.turns = TurnTaking(TurnSettings(silence_seconds=30))
        self.after_turns = Collect()
        self.synthesis = EspeakSynthesis()
        self.out = TransportOut(self.call, self.metrics)
        self.pipeline = Pipeline([TransportIn(self.call), VoiceActivityProcessor(RATE, metrics=self.metrics), BargeIn(),
                                  self.recognition, self.turns, self.after_turns, self.synthesis, self.out])

    async def start(self) -> None:
        await self.pipeline.start()
        self.call.open_line()

    async def agent_says(self, text: str, utterance: int = 1) -> None:
        await self.synthesis.receive(AgentSpeech(text, utterance), Direction.DOWNSTREAM)
        while not self.call.heard:
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        await self.call.hang_up()
        await self.pipeline.stop()


def test_caller_speech_pauses_the_agent_within_200_ms_and_a_real_turn_drops_the_rest() -> None:
    async def scenario() -> tuple[CallRig, float]:
        rig = CallRig(["I want to cancel my order"])
        await rig.start()
        await rig.agent_says(LONG_REPLY)
        await asyncio.sleep(1.0)
        spoke_at = await rig.call.say(speak("I want to cancel my order"))
        await asyncio.sleep(2.5)
        await rig.close()
        return rig, spoke_at

    rig, spoke_at = asyncio.run(scenario())
    call = rig.call
    assert call.cleared, "the agent was never paused"
    paused_after = call.cleared[0] - spoke_at  # caller audio time from its speech onset to the agent's silence
    assert paused_after < 0.2
    assert rig.metrics.barge_in and rig.metrics.barge_in[0] < 0.2
    assert call.heard_seconds(since=call.cleared[0] + 0.011) == 0  # nothing more of the old reply
    transcripts = [f for f in rig.after_turns.seen if isinstance(f, Transcript)]
    assert [t.text for t in transcripts] == ["I want to cancel my order"]
    kinds = [type(f) for f in rig.after_turns.seen]
    assert kinds.index(Interruption) < kinds.index(Transcript)  # the reply is dropped before the new turn


def test_a_backchannel_pauses_then_lets_the_agent_finish_what_it_was_saying() -> None:
    async def scenario() -> tuple[CallRig, float]:
        rig = CallRig(["uh-huh"])
        await rig.start()
        await rig.agent_says("Your order left our roastery on Monday and is with the courier now.")
        started = time.monotonic()
        await asyncio.sleep(1.2)
        await rig.call.say(speak("uh-huh"))
        for _ in range(600):
            if any(isinstance(f, AgentFinishedSpeaking) for f in rig.after_turns.seen):
                break
            await asyncio.sleep(0.01)
        await rig.close()
        return rig, time.monotonic() - started

    rig, _ = asyncio.run(scenario())
    reply_seconds = len(speak("Your order left our roastery on Monday and is with the courier now.", RATE)) / 2 / RATE
    assert rig.call.cleared, "the backchannel should pause the agent first"
    assert rig.metrics.barge_in[0] < 0.2
    assert not any(isinstance(f, Interruption) for f in rig.after_turns.seen)
    assert not any(isinstance(f, Transcript) for f in rig.after_turns.seen)  # a backchannel is not a turn
    # every word was heard (a little of it twice: it resumes at the pause between words before the cut)
    assert reply_seconds - 0.05 <= rig.call.heard_seconds() <= reply_seconds + 0.9
    assert any(isinstance(f, AgentFinishedSpeaking) for f in rig.after_turns.seen)


def test_noise_resumes_and_a_yeah_at_the_end_of_a_question_answers_it() -> None:
    async def scenario() -> list[Frame]:
        turns = TurnTaking(TurnSettings(silence_seconds=30))
        sink = Collect()
        pipeline = Pipeline([turns, sink])
        await pipeline.start()
        for paused, said in [(AgentPaused(3, remaining_seconds=2.0, complete=True, question=True), Transcript("", 0.0)),
                             (AgentPaused(3, remaining_seconds=0.4, complete=True, question=True), Transcript("yeah")),
                             (AgentPaused(4, remaining_seconds=0.4, complete=True), Transcript("okay"))]:
            await pipeline.send_upstream(paused)
            await pipeline.send(said)
            await pipeline.idle()
        await pipeline.stop()
        return [f for f in sink.seen if not isinstance(f, AgentPaused)]

    assert asyncio.run(scenario()) == [ResumeAgent(), Interruption(), Transcript("yeah"), ResumeAgent()]


def test_silence_after_the_agent_spoke_reprompts_then_ends() -> None:
    async def scenario() -> list[Frame]:
        turns = TurnTaking(TurnSettings(silence_seconds=0.15, reprompts=1))
        sink = Collect()
        pipeline = Pipeline([turns, sink])
        await pipeline.start()
        await pipeline.send_upstream(AgentFinishedSpeaking(1))
        await asyncio.sleep(0.1)
        await pipeline.send(PauseAgent(at=time.monotonic()))  # the caller started to speak: no timeout
        await pipeline.send(Transcript("", 0.0))
        await pipeline.send_upstream(AgentFinishedSpeaking(2))
        await asyncio.sleep(0.25)
        await pipeline.send_upstream(AgentFinishedSpeaking(3))
        await asyncio.sleep(0.25)
        await pipeline.stop()
        return [f for f in sink.seen if isinstance(f, SilenceTimeout)]

    assert asyncio.run(scenario()) == [SilenceTimeout(0.15, final=False), SilenceTimeout(0.15, final=True)]


def test_a_pause_nobody_settles_lets_the_agent_carry_on() -> None:
    async def scenario() -> tuple[FakeCall, float]:
        call = FakeCall()
        out = TransportOut(call, max_hold_seconds=0.3)
        pipeline = Pipeline([out])
        await pipeline.start()
        await pipeline.send(AudioOut(speak("One moment while I check that for you.", RATE), RATE, utterance=1))
        await pipeline.send(UtteranceDone(1))
        await asyncio.sleep(0.5)
        await pipeline.send(PauseAgent(at=time.monotonic()))  # ... and the recogniser never answers
        paused = call.heard_seconds()
        await asyncio.sleep(0.8)
        await pipeline.stop()
        await call.hang_up()
        return call, paused

    call, paused = asyncio.run(scenario())
    assert call.cleared and call.heard_seconds() > paused + 0.2
