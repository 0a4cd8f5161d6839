"""Whether a message asks something, read as a caller says it: after a greeting or a hesitation, and with
"do I need ..." as a question about what the business requires rather than a request."""

from __future__ import annotations

import pytest

from helpline.understanding.requests import _PERSONAL, _REQUEST_FORM, after_opening, asks


@pytest.mark.parametrize("text", [
    "hi um do you deliver to Mexico",
    "um is the cold brew jug ok in the dishwasher",
    "hello, so, how long does a refund take",
    "erm what time do you close on Sundays",
])
def test_a_question_after_a_greeting_or_a_hesitation_asks(text: str) -> None:
    assert asks(text)


@pytest.mark.parametrize("text", [
    "hi, my kettle stopped working",
    "um I want to return the grinder",
    "so the parcel never came",
    "hello",
])
def test_a_statement_after_a_greeting_does_not_ask(text: str) -> None:
    assert not asks(text)


def test_the_opening_is_removed_only_at_the_start() -> None:
    assert after_opening("hi um do you deliver") == "do you deliver"
    assert after_opening("so well, is it safe") == "is it safe"
    assert after_opening("is it so hot") == "is it so hot"


def test_an_asked_need_is_a_question_and_a_said_need_a_request() -> None:
    assert not _PERSONAL.search("do i need to register the grinder myself")
    assert not _REQUEST_FORM.search("should i want the bigger size")
    assert _PERSONAL.search("i need to change the card on file")
    assert _REQUEST_FORM.search("hi, i need a refund for the mug")
