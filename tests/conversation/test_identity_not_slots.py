"""Details given as proof of identity are not values for the request (found with the sandhill-fiber pack: "last four
0109" became a speed of 109 Mbps, "born 14 March 1979" the day of an engineer visit)."""

from __future__ import annotations

from helpline.conversation.engine import Engine
from tests.conversation.valley_fibre import Chat


def test_the_answer_to_the_identity_question_fills_no_slot(sandhill: Engine) -> None:
    chat = Chat(sandhill)
    chat.say("my internet is really slow")
    chat.say("SH-204547, last four 0109")
    assert chat.state.verified
    assert chat.state.active is not None and not chat.state.active.slots, chat.state.active.slots
    assert "109" not in " ".join(chat.replies[1:])


def test_a_date_of_birth_in_the_request_is_not_the_day_asked_for(sandhill: Engine) -> None:
    chat = Chat(sandhill)
    chat.say("I need an engineer to come out, SH-204518, born 14 March 1979")
    assert chat.state.verified
    assert chat.state.active is not None and "1979-03-14" not in chat.state.active.slots.values()
