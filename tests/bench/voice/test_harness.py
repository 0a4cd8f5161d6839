"""The harness's reading of a call: a conversation the engine ended with questions still to come is reported as the
line hanging up, not as unexplained unanswered questions; a confirming question is answered as the caller would, and
what it brought counts only after confirming."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bench.voice.callers import Clip
from bench.voice.harness import AnswerLog, EngineTurn
from bench.voice.latency import CallRecord
from bench.voice.questions import Question
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


def test_a_confirming_question_is_answered_as_a_caller_who_knows_what_they_asked(
        make_runtime: RuntimeFactory) -> None:
    answers = AnswerLog(make_runtime(OPEN).conversations)
    caller, conversation = "+15550143", "c1"
    answers.by_caller[caller] = conversation
    question = Question("I've no idea how to use my gift card", frozenset({"gift-cards"}))
    yes, no = Clip(b"y", 0.0), Clip(b"n", 0.0)
    asked = time.monotonic()
    answers.turns[conversation] = [EngineTurn(asked + 1, frozenset(), offered="gift-cards")]
    assert answers.confirming_reply(caller, question, yes, no) is yes
    answers.turns[conversation][0].offered = "returns-and-refunds"
    assert answers.confirming_reply(caller, question, yes, no) is no
    answers.turns[conversation][0].offered = None
    assert answers.confirming_reply(caller, question, yes, no) is None  # nothing was asked

    # the yes brought the answer: right after confirming, not at once
    answers.turns[conversation].append(EngineTurn(asked + 3, frozenset({"gift-cards"})))
    record = CallRecord(asked_at=[asked], confirmed_at={0: asked + 2})
    assert answers.right(caller, record, [question]) == [False]
    assert answers.right(caller, record, [question], after_confirming=True) == [True]


def test_the_correctors_did_you_say_is_answered_by_the_words_put_in(make_runtime: RuntimeFactory) -> None:
    answers = AnswerLog(make_runtime(OPEN).conversations)
    caller = "+15550144"
    question = Question("Can I control the kettle from my phone?", frozenset({"smart-kettle"}))
    yes, no = Clip(b"y", 0.0), Clip(b"n", 0.0)
    now = time.monotonic()
    assert answers.confirming_reply(caller, question, yes, no, heard_ask=(now, ["kettle"])) is yes
    assert answers.confirming_reply(caller, question, yes, no, heard_ask=(now, ["cuddle"])) is no
    again = Clip(b"q", 0.0)  # a caller with the question's clip says it again instead of a bare no
    assert answers.confirming_reply(caller, question, yes, no, heard_ask=(now, ["cuddle"]), again=again) is again
    assert answers.confirming_reply(caller, question, yes, no, heard_ask=(now, ["kettle"]), again=again) is yes
    # an ask from before the engine's last turn was answered already: the turn's own offer decides
    answers.by_caller[caller] = "c2"
    answers.turns["c2"] = [EngineTurn(now + 1, frozenset({"smart-kettle"}))]
    assert answers.confirming_reply(caller, question, yes, no, heard_ask=(now, ["kettle"])) is None
