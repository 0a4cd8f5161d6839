from __future__ import annotations

import pytest

from helpline.understanding.requests import asks


@pytest.mark.parametrize("text", [
    "what time do you close on saturday",
    "do you ship to canada?",
    "hi, what time do you close on a saturday",  # a greeting before the question
    "i got the pro last week and now it's cheaper, can i get the difference back",  # no question mark spoken
    "the grinder hums; is that normal",
])
def test_a_question_is_heard_without_its_question_mark(text: str) -> None:
    assert asks(text)


@pytest.mark.parametrize("text", [
    "my grinder is jammed",
    "i think you've charged me twice, there are two of them on my card",
    "please cancel my order",
])
def test_a_statement_is_no_question(text: str) -> None:
    assert not asks(text)
