"""The harness's reading of a call: a conversation the engine ended with questions still to come is reported as the
line hanging up, not as unexplained unanswered questions."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bench.voice.harness import AnswerLog
from bench.voice.latency import CallRecord
from tests.conftest import RuntimeFactory

OPEN = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def test_a_call_the_engine_ended_early_names_the_question_it_ended_at(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(OPEN)
    answers = AnswerLog(runtime.conversations)
    caller = "+15550142"
    view = runtime.conversations.start("phone", "phone:test", {"phone": caller})
    record = CallRecord()
    for text in ["What are your opening hours?", "no that's all, bye", "Do you take PayPal?"]:
        record.asked_at.append(time.monotonic())
        if text != "Do you take PayPal?":  # the third is asked on a line that has hung up: never posted
            runtime.conversations.post(view.id, text, "phone:caller")
    assert answers.ended_during(caller, record) == 1

    # ended by the last question: nothing came after it, nothing to report
    assert answers.ended_during(caller, CallRecord(asked_at=record.asked_at[:2])) is None
