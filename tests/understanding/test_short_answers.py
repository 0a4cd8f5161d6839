from __future__ import annotations

import pytest

from helpline.understanding.short_answers import Answer, short_answers


@pytest.mark.parametrize("text", ["nah, no change at all", "did what you said and nothing happened",
                                  "it's still off", "same problem as before unfortunately"])
def test_still_broken(text: str) -> None:
    found = short_answers(text)
    assert Answer.STILL_BROKEN in found and Answer.FIXED not in found and Answer.AFFIRM not in found


@pytest.mark.parametrize("text", ["it's working again!", "that did it, thank you", "all good now"])
def test_fixed(text: str) -> None:
    assert Answer.FIXED in short_answers(text)


@pytest.mark.parametrize("text", ["nope, that's everything", "i'm all set thanks", "that will be all"])
def test_nothing_else(text: str) -> None:
    assert Answer.NOTHING_ELSE in short_answers(text)


def test_not_understanding_is_not_a_no() -> None:
    found = short_answers("no comprendo")
    assert Answer.NOT_UNDERSTOOD in found and Answer.DENY not in found


def test_please_alone_is_not_consent() -> None:
    assert Answer.AFFIRM not in short_answers("please cancel my other order instead")


@pytest.mark.parametrize("text", ["hmm, no, leave it", "on second thought don't change it"])
def test_hesitant_no(text: str) -> None:
    assert Answer.DENY in short_answers(text)


@pytest.mark.parametrize("text", ["ah ok, yes that makes sense now", "oh ok yes, I'll switch to that",
                                  "aha, yes go ahead", "ohh right, sure", "i see, yes please"])
def test_a_yes_after_an_interjection(text: str) -> None:
    found = short_answers(text)
    assert Answer.AFFIRM in found and Answer.DENY not in found


@pytest.mark.parametrize("text", ["oh no, not that one", "ah, no thanks", "oh well, nope"])
def test_a_no_after_an_interjection_stays_a_no(text: str) -> None:
    found = short_answers(text)
    assert Answer.DENY in found and Answer.AFFIRM not in found
