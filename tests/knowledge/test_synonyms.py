from __future__ import annotations

import pytest

from helpline.knowledge.synonyms import is_place_name, phrase_words, same_word, stem, synonyms, with_phrase_words


@pytest.mark.parametrize(
    ("word", "other"),
    [("humming", "hums"), ("steeping", "steep"), ("stopped", "stop"), ("batteries", "battery"),
     ("tasted", "taste"), ("heats", "heating"), ("coming", "come"), ("boxes", "box")],
)
def test_two_forms_of_a_word_are_the_same_word(word: str, other: str) -> None:
    assert same_word(word, other)


@pytest.mark.parametrize(("word", "other"), [("filling", "file"), ("care", "cart"), ("shipping", "shop")])
def test_different_words_stay_different(word: str, other: str) -> None:
    assert not same_word(word, other)


def test_short_words_and_words_ending_like_a_plural_keep_their_form() -> None:
    assert stem("bus") == "bus" and stem("glass") == "glass" and stem("menus") == "menus"


def test_near_synonyms_cover_everyday_and_british_words() -> None:
    assert "ship" in synonyms("post") and "ship" in synonyms("posting")
    assert "damaged" in synonyms("smashed") and "cancel" in synonyms("stop")
    assert "installment" in synonyms("instalment")
    assert synonyms("espresso") == frozenset()


@pytest.mark.parametrize(
    ("text", "word"),
    [("how long have I got to send stuff back?", "return"), ("can I take it back to you", "return"),
     ("can I put my subscription on hold", "pause"), ("when do I get my money back", "refund"),
     ("the box turned up smashed", "arrive"), ("can I hook the kettle up to wifi", "connect"),
     ("will you knock the price down to match", "lower"), ("can I spread it out over a few months", "instalment"),
     ("do you take Klarna or Afterpay", "instalment")],
)
def test_a_phrase_stands_for_its_word(text: str, word: str) -> None:
    assert word in phrase_words(text)


def test_no_phrase_no_word() -> None:
    assert phrase_words("how much is the grinder?") == []


def test_a_phrase_keeps_the_words_it_acts_on() -> None:
    # "hook the kettle up" asks about connecting the kettle: the kettle stays in the question
    assert with_phrase_words("can I hook the kettle up to wifi?") == "can I connect the kettle up to wifi?"


def test_any_form_of_a_group_word_finds_its_group() -> None:
    # the groups write "cracked", "paused", "closed"; a caller says "a crack", "can I pause it", "when do you close"
    assert "damaged" in synonyms("crack")
    assert "damaged" in synonyms("smash")
    assert "hold" in synonyms("paused")
    assert "shut" in synonyms("closing")


def test_a_country_is_near_the_words_for_abroad_and_they_near_every_country() -> None:
    assert "overseas" in synonyms("canada") and "country" in synonyms("ireland")
    assert {"canada", "japan"} <= synonyms("internationally")
    assert "japan" not in synonyms("canada")  # one country is not another
    assert is_place_name("Norway") and not is_place_name("china")  # china cups: an everyday word is left out
