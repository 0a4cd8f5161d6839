"""The turn watchdog with frames only (no audio) and a clock the test moves."""

from __future__ import annotations

import asyncio

from helpline.voice.control import AgentStartedSpeaking, SpeechDiscarded
from helpline.voice.frames import Direction, Frame, HangUp, UserStartedSpeaking, UserStoppedSpeaking
from helpline.voice.pipeline import Pipeline, Processor
from helpline.voice.watchdog import TurnOverdue, TurnWatchdog, WatchdogSettings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Sink(Processor):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []

    async def process(self, frame: Frame, direction: Direction) -> None:
        self.frames.append(frame)

    def overdue(self) -> list[TurnOverdue]:
        return [f for f in self.frames if isinstance(f, TurnOverdue)]


def scenario(steps: list[tuple[float, Frame | None]], bound: float = 4.0) -> tuple[list[TurnOverdue], TurnWatchdog]:
    """Each step: move the clock by the seconds, send the frame (upstream for AgentStartedSpeaking), check."""

    async def main() -> tuple[list[TurnOverdue], TurnWatchdog]:
        clock = Clock()
        watchdog = TurnWatchdog(WatchdogSettings(bound=bound), clock=clock, run_timer=False)
        sink = Sink()
        pipeline = Pipeline([watchdog, sink])
        await pipeline.start()
        for seconds, frame in steps:
            clock.now += seconds
            if isinstance(frame, AgentStartedSpeaking):
                await watchdog.receive(frame, Direction.UPSTREAM)
            elif frame is not None:
                await pipeline.send(frame)
            await pipeline.idle()
            await watchdog.check()
        await pipeline.stop()
        return sink.overdue(), watchdog

    return asyncio.run(main())


def utterance() -> UserStoppedSpeaking:
    return UserStoppedSpeaking(b"", 8000)


def test_an_utterance_nobody_answers_is_overdue_once_after_the_bound() -> None:
    overdue, watchdog = scenario([(0, UserStartedSpeaking()), (2, utterance()), (3.9, None), (0.2, None), (5, None)])
    assert len(overdue) == 1  # once, not on every later check
    assert overdue[0].ended_at == 102.0 and overdue[0].waited >= 4.0
    assert watchdog.stats.turns == 1 and watchdog.stats.overdue == 1


def test_the_agent_starting_to_speak_within_the_bound_settles_the_turn() -> None:
    overdue, _ = scenario([(0, utterance()), (1.5, AgentStartedSpeaking(1)), (10, None)])
    assert overdue == []


def test_the_caller_speaking_again_restarts_the_clock_from_their_new_end() -> None:
    overdue, _ = scenario([(0, utterance()), (3, UserStartedSpeaking()), (5, None), (0, utterance()), (3, None),
                           (1.5, None)])
    assert [o.ended_at for o in overdue] == [108.0]


def test_a_cough_after_the_question_does_not_cancel_the_answer_it_is_owed() -> None:
    overdue, _ = scenario([(0, utterance()), (1, UserStartedSpeaking()), (0.2, SpeechDiscarded()), (3, None)])
    assert [o.ended_at for o in overdue] == [100.0]


def test_nothing_is_overdue_once_the_agent_hung_up() -> None:
    overdue, _ = scenario([(0, utterance()), (0.5, HangUp()), (10, None)])
    assert overdue == []


def test_each_unanswered_turn_gets_its_own_rescue() -> None:
    overdue, watchdog = scenario([(0, utterance()), (5, None), (1, AgentStartedSpeaking(1)), (2, utterance()),
                                  (5, None)])
    assert [o.ended_at for o in overdue] == [100.0, 108.0]
    assert watchdog.stats.overdue == 2
