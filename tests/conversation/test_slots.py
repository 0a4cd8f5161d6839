"""Slots that mean what they say (issue 15, item 7): the value without the chatter, dates that are days,
"doesn't work" that rules a day out, windows, and a re-ask that waits for a new message."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.conversation.valley_fibre import Chat

START = "hi, I'd like to get an engineer out to install my fibre, my account is VF-1001"


def to_day_question(chat: Chat) -> None:
    chat.say(START)
    chat.say("05301")
    chat.say("Fibre 500")
    assert chat.state.active is not None and chat.state.active.awaiting == "slot:day", chat.replies


def weekday(value: object) -> int:
    assert isinstance(value, str), value
    return date.fromisoformat(value).weekday()


@pytest.mark.parametrize("answer", ["05301, like I said", "um it's 05301", "05301 - I already told you that",
                                    "the postcode is 05301 thanks"])
def test_a_pattern_slot_keeps_the_value_not_the_chatter(fibre: Chat, answer: str) -> None:
    fibre.say(START)
    fibre.say(answer)
    assert fibre.slot("postcode") == "05301"


def test_a_pattern_slot_without_the_pattern_is_asked_again(fibre: Chat) -> None:
    fibre.say(START)
    reply = fibre.say("the one by the river")
    assert fibre.slot("postcode") is None and "postcode" in reply.lower()


@pytest.mark.parametrize(("answer", "kept"), [
    ("um, well, the side gate is unlocked, like I said", "the side gate is unlocked"),
    ("ok so ring the bell twice, the buzzer is broken", "ring the bell twice, the buzzer is broken"),
    ("Park on the drive please", "Park on the drive"),
])
def test_free_text_is_kept_without_fillers(fibre: Chat, answer: str, kept: str) -> None:
    to_day_question(fibre)
    fibre.say("Wednesday")
    if fibre.state.active is not None and fibre.state.active.awaiting == "slot:hours":
        fibre.say("mornings")
    assert fibre.state.active is not None and fibre.state.active.awaiting == "slot:notes", fibre.replies
    fibre.say(answer)
    assert fibre.slot("notes") == kept


@pytest.mark.parametrize("answer", ["next month", "some time next week", "whenever really, next month probably"])
def test_a_vague_answer_is_not_a_day(fibre: Chat, answer: str) -> None:
    to_day_question(fibre)
    reply = fibre.say(answer)
    assert fibre.slot("day") is None
    assert "day" in reply.lower() and not fibre.state.escalated


@pytest.mark.parametrize("answer", ["thursday doesn't work for me", "I can't do Thursday",
                                    "not thursday, I'm at work all day"])
def test_a_day_that_doesnt_work_is_ruled_out_not_chosen(fibre: Chat, answer: str) -> None:
    to_day_question(fibre)
    reply = fibre.say(answer)
    assert fibre.slot("day") is None
    assert "thursday" in reply.lower() and "other day" in reply.lower()
    run = fibre.state.active
    assert run is not None and [weekday(d) for d in run.ruled_out["day"]] == [3]
    fibre.say("friday then")
    assert weekday(fibre.slot("day")) == 4


@pytest.mark.parametrize("answer", ["thursday's no good but friday is fine", "friday, thursday won't work"])
def test_ruling_out_and_choosing_in_one_message(fibre: Chat, answer: str) -> None:
    to_day_question(fibre)
    fibre.say(answer)
    assert weekday(fibre.slot("day")) == 4


def test_a_ruled_out_day_said_again_is_asked_about(fibre: Chat) -> None:
    to_day_question(fibre)
    fibre.say("Thursday is impossible")
    reply = fibre.say("thursday")
    assert fibre.slot("day") is None and "thursday" in reply.lower()


@pytest.mark.parametrize("answer", ["between the 3rd and the 5th", "any day from the 3rd to the 5th"])
def test_a_window_asks_for_one_day_in_it(fibre: Chat, answer: str) -> None:
    to_day_question(fibre)
    reply = fibre.say(answer)
    assert fibre.slot("day") is None and "between" in reply.lower()
    fibre.say("the 4th please")
    assert date.fromisoformat(str(fibre.slot("day"))).day == 4


@pytest.mark.parametrize(("answer", "window"), [
    ("after 3pm", "15:00/23:59"),
    ("mornings are best", "08:00/12:00"),
    ("any time between 1 and 4", "13:00/16:00"),
    ("afternoons, not before 2", "12:00/17:00"),
])
def test_time_ranges_fill_a_window_slot(fibre: Chat, answer: str, window: str) -> None:
    to_day_question(fibre)
    fibre.say("Wednesday")
    assert fibre.state.active is not None and fibre.state.active.awaiting == "slot:hours", fibre.replies
    fibre.say(answer)
    assert fibre.slot("hours") == window


def book(chat: Chat, day: str) -> None:
    to_day_question(chat)
    chat.say(day)
    chat.say("after 3pm")
    chat.say("no, nothing special")
    assert chat.state.active is not None and chat.state.active.awaiting == "confirm", chat.replies
    chat.say("yes please")


def test_a_fully_booked_day_is_asked_again_and_the_agent_waits(fibre: Chat) -> None:
    """A check that fails, `clear` and a jump back to the question: the question is asked again and the
    same message is not read for it again (it looped into "procedure loop detected")."""
    book(fibre, "next Tuesday")
    booked = fibre.rows("SELECT account_id, day, hours FROM installations")
    assert len(booked) == 1 and booked[0]["hours"] == "15:00/23:59"
    again = Chat(fibre.engine)
    to_day_question(again)
    reply = again.say("next tuesday")
    assert "fully booked" in reply.lower() and not again.state.escalated
    assert again.state.active is not None and again.state.active.awaiting == "slot:day"
    assert "loop" not in " ".join(again.state.steps_taken)
    again.say("wednesday")
    assert weekday(again.slot("day")) == 2
    assert again.state.active is not None and again.state.active.awaiting == "slot:hours"


@pytest.mark.parametrize(("now", "answer", "day"), [
    (datetime(2026, 3, 2, 15, 0, tzinfo=UTC), "thursday", "2026-03-05"),  # a Monday
    (datetime(2026, 3, 2, 15, 0, tzinfo=UTC), "the 20th", "2026-03-20"),
    (datetime(2027, 1, 29, 15, 0, tzinfo=UTC), "next tuesday", "2027-02-02"),  # a Friday
])
def test_days_are_read_from_the_conversations_clock_not_the_servers(fibre: Chat, now: datetime, answer: str,
                                                                     day: str) -> None:
    """A conversation replayed or tested at another date (`pack test`'s `now:`) reads "thursday" from its own
    clock, in the business's timezone."""
    chat = Chat(fibre.engine, now=now)
    to_day_question(chat)
    chat.say(answer)
    assert chat.slot("day") == day
