"""Choices with synonyms and descriptions (issue 15, item 6), matched through understanding: words and
synonyms, meaning (the description), "the second one"; an answer between options asks which."""

from __future__ import annotations

import pytest

from tests.conversation.valley_fibre import Chat


def to_reason(chat: Chat) -> None:
    chat.say("I want to cancel my broadband, account VF-1002")
    assert chat.state.active is not None and chat.state.active.awaiting == "slot:reason", chat.replies


def to_plan(chat: Chat) -> None:
    chat.say("can someone come and install fibre for me? account VF-1001")
    chat.say("05301")
    assert chat.state.active is not None and chat.state.active.awaiting == "slot:plan", chat.replies


@pytest.mark.parametrize(("answer", "value"), [
    ("honestly it's just too expensive", "price"),
    ("we're relocating", "moving_out"),
    ("the price", "price"),
    ("it's too slow", "speed"),
    ("I'm moving away from the area", "moving_out"),
])
def test_synonyms_and_labels_name_an_option(fibre: Chat, answer: str, value: str) -> None:
    to_reason(fibre)
    fibre.say(answer)
    assert fibre.slot("reason") == value


@pytest.mark.parametrize(("answer", "value"), [("the second one", "price"), ("the last one", "speed"),
                                               ("first", "moving_out")])
def test_an_ordinal_picks_from_the_options_as_listed(fibre: Chat, answer: str, value: str) -> None:
    to_reason(fibre)
    fibre.say(answer)
    assert fibre.slot("reason") == value


@pytest.mark.parametrize(("answer", "value"), [
    ("whichever is best for gaming", "fibre_900"),
    ("I only do emails and a bit of web browsing", "fibre_100"),
    ("the middle one", "fibre_500"),
    ("Fibre 900", "fibre_900"),
])
def test_plans_are_matched_by_meaning_and_synonyms(fibre: Chat, answer: str, value: str) -> None:
    to_plan(fibre)
    fibre.say(answer)
    assert fibre.slot("plan") == value


@pytest.mark.parametrize(("answer", "value"), [("it's on", "on"), ("solid green", "on"), ("off", "off"),
                                               ("blinking like mad", "flashing")])
def test_short_options_made_of_small_words(fibre: Chat, answer: str, value: str) -> None:
    fibre.say("my internet is down")
    assert fibre.state.active is not None and fibre.state.active.awaiting == "slot:light", fibre.replies
    fibre.say(answer)
    assert fibre.state.requests[-1].resolution == f"Router light {value}"


@pytest.mark.parametrize("answer", ["the fibre one", "fibre please"])
def test_an_answer_between_options_asks_which(fibre: Chat, answer: str) -> None:
    to_plan(fibre)
    reply = fibre.say(answer)
    assert fibre.slot("plan") is None
    named = [label for label in ("Fibre 100", "Fibre 500", "Fibre 900") if label in reply]
    assert len(named) >= 2 and "which" in reply.lower()
