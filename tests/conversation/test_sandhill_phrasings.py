"""Customer phrasings that a pack written from the docs alone (examples/sandhill-fiber) got wrong: a weekday
beside a date, a move "next month", a town said in a sentence, a yes after "ah ok", a choice's label in a
reply."""

from __future__ import annotations

from datetime import UTC, datetime

from helpline.conversation.engine import Engine
from tests.conversation.valley_fibre import Chat

TUESDAY_10_NOV = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
MONDAY_2_NOV = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _booking(engine: Engine, now: datetime = TUESDAY_10_NOV) -> Chat:
    """A verified customer asked which day an engineer should come."""
    chat = Chat(engine, now=now)
    chat.say("I need an engineer to come out")
    chat.say("SH-204547, last four 0109")
    chat.say("a repair")
    assert chat.state.active is not None and chat.state.active.awaiting == "slot:day", chat.replies
    return chat


def _moving(engine: Engine, opening: str = "I'm moving house", now: datetime = TUESDAY_10_NOV) -> Chat:
    chat = Chat(engine, now=now)
    chat.say(opening)
    chat.say("SH-204547, last four 0109")
    assert chat.state.active is not None and chat.state.active.awaiting == "slot:new_town", chat.replies
    return chat


# --- a weekday beside a date -------------------------------------------------------------------------

def test_a_full_date_with_its_weekday_is_that_date_not_the_next_such_weekday(sandhill: Engine) -> None:
    chat = _booking(sandhill)
    chat.say("Thursday 19 November 2026")
    assert chat.slot("day") == "2026-11-19"


def test_a_weekday_then_a_month_and_day_after_a_comma_is_one_day(sandhill: Engine) -> None:
    chat = _booking(sandhill)
    chat.say("Monday, November 23 please")
    assert chat.slot("day") == "2026-11-23"


def test_ruling_out_a_weekday_with_its_date_rules_out_that_day_only(sandhill: Engine) -> None:
    chat = _booking(sandhill)
    reply = chat.say("thursday the 19th doesn't work for me")
    assert chat.state.active is not None
    assert chat.state.active.ruled_out.get("day") == ["2026-11-19"], chat.state.active.ruled_out
    assert "19 November" in reply and "12 November" not in reply
    chat.say("friday the 20th then")
    assert chat.slot("day") == "2026-11-20"


# --- a period in the opening message -----------------------------------------------------------------

def test_moving_next_month_asks_which_day_and_reads_the_answer_in_that_month(sandhill: Engine) -> None:
    chat = _moving(sandhill, "We're moving house next month, can the internet come with us?", now=MONDAY_2_NOV)
    chat.say("Three Forks")
    reply = chat.say("14 Sage Road")
    assert chat.slot("move_day") is None, "a month is not a moving day"
    assert "day" in reply.lower() and "?" in reply
    chat.say("the 4th")
    assert chat.slot("move_day") == "2026-12-04"  # in December, not 4 November


def test_a_day_named_in_the_opening_message_is_still_taken(sandhill: Engine) -> None:
    chat = _moving(sandhill, "I'm moving house on 18 December")
    chat.say("Three Forks")
    reply = chat.say("14 Sage Road")
    assert chat.slot("move_day") == "2026-12-18"
    assert "Friday 18 December 2026" in reply


# --- a town said in a sentence -----------------------------------------------------------------------

def test_a_town_said_in_a_sentence_keeps_the_town_as_the_table_spells_it(sandhill: Engine) -> None:
    chat = _moving(sandhill)
    chat.say("to three forks, like I said")
    assert chat.slot("new_town") == "Three Forks"
    assert chat.state.active is not None and chat.state.active.awaiting == "slot:new_street"


def test_an_unserved_town_in_a_sentence_is_named_back_without_the_sentence(sandhill: Engine) -> None:
    chat = _moving(sandhill)
    reply = chat.say("We're moving to Dry Creek")
    assert chat.slot("new_town") == "Dry Creek"
    assert "fiber in Dry Creek," in reply


def test_a_misspelt_town_is_matched_and_an_unknown_one_kept_as_said(sandhill: Engine) -> None:
    chat = _moving(sandhill)
    chat.say("it's in pinon sprngs")
    assert chat.slot("new_town") == "Pinon Springs"
    other = _moving(sandhill)
    reply = other.say("Albuquerque")
    assert other.slot("new_town") == "Albuquerque"
    assert "fiber in Albuquerque" in reply


def test_a_long_free_text_answer_is_kept_whole(sandhill: Engine) -> None:
    chat = _booking(sandhill)
    chat.say("Saturday 14 November")
    chat.say("mornings")
    chat.say("to get in, go round to the side gate, the code is 4410")
    assert chat.slot("access") == "to get in, go round to the side gate, the code is 4410"


# --- yes after an interjection -----------------------------------------------------------------------

def test_ah_ok_yes_that_makes_sense_is_a_yes(sandhill: Engine) -> None:
    chat = Chat(sandhill, now=TUESDAY_10_NOV)
    chat.say("can you explain my bill")
    chat.say("SH-204547, last four 0109")
    reply = chat.say("ah ok, yes that makes sense now")
    assert chat.state.active is None
    assert "billing team" not in reply
    assert chat.state.requests[-1].outcome == "resolved", chat.state.requests


def test_oh_ok_yes_at_a_confirmation_books_it(sandhill: Engine) -> None:
    chat = _booking(sandhill)
    chat.say("Saturday 14 November")
    chat.say("mornings")
    chat.say("nothing")
    reply = chat.say("oh right, yes, book that in")
    assert "Booked" in reply, reply


# --- a choice's label in a reply ---------------------------------------------------------------------

def test_the_booking_reply_names_the_visit_by_its_label(sandhill: Engine) -> None:
    chat = _booking(sandhill)
    chat.say("Saturday 14 November")
    chat.say("afternoon")
    chat.say("nothing")
    reply = chat.say("yes")
    assert "for a repair." in reply, reply
