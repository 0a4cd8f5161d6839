"""The latency benchmark's caller against a line that hangs up: it stops asking, and the questions it never got
to ask are counted apart from the turns (not waited out one timeout each, not counted as unanswered)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from bench.voice.callers import VOICED, Clip
from bench.voice.latency import CallRecord, not_asked_line, one_call, summary
from helpline.channels.phone import PhoneCall
from helpline.voice.audio import rms
from helpline.voice.frames import AudioIn
from tests.channels.phone.conftest import run
from tests.channels.phone.peers import tone, user_agent

QUESTION = Clip(tone(300, 0.4))


async def _greet(call: PhoneCall) -> None:
    await call.play(tone(440, 0.3))
    await call.wait_played()


async def _caller_speaks(call: PhoneCall) -> None:
    """Until a voiced frame of the caller arrives."""
    async for frame in call.receive():
        if isinstance(frame, AudioIn) and rms(frame.pcm) >= VOICED:
            return


async def _answers_once_then_hangs_up(call: PhoneCall) -> None:
    await _greet(call)
    await _caller_speaks(call)
    await call.play(b"\x00\x00" * 8 * 600 + tone(550, 0.3))  # after the 0.4 s question: the answer, then goodbye
    await call.wait_played()
    await call.hang_up()


async def _hangs_up_during_the_second_question(call: PhoneCall) -> None:
    await _greet(call)
    await _caller_speaks(call)
    await call.play(b"\x00\x00" * 8 * 600 + tone(550, 0.3))
    await call.wait_played()
    await _caller_speaks(call)
    await call.hang_up()


def _ask_three(handler: Callable[[PhoneCall], Awaitable[None]]) -> tuple[CallRecord, float]:
    async def scenario() -> tuple[CallRecord, float]:
        async with user_agent(handler) as line, user_agent(user="caller") as caller:
            record = CallRecord()
            started = time.monotonic()
            await one_call(caller, line.uri, [QUESTION] * 3, answer_timeout=6.0, record=record)
            return record, time.monotonic() - started

    return run(scenario())


def test_the_caller_stops_when_the_line_hangs_up_and_counts_the_questions_it_did_not_ask() -> None:
    record, took = _ask_three(_answers_once_then_hangs_up)
    assert len(record.latencies) == 1 and record.latencies[0] < 2.0  # the one question asked was answered
    assert record.not_asked == 2 and record.end_reason == "hangup"
    assert took < 6.0  # no answer timeout waited out on the closed line
    assert summary(1, record.latencies).startswith("1 concurrent call(s): 1 turns, 0 unanswered/failed, p50 ")
    assert "2 question(s)" in not_asked_line([record])


def test_a_question_the_line_hangs_up_on_is_not_asked() -> None:
    record, took = _ask_three(_hangs_up_during_the_second_question)
    assert len(record.latencies) == 1 and len(record.asked_at) == 1
    assert record.not_asked == 2
    assert took < 6.0
