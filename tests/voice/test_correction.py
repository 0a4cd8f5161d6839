"""Near-miss correction on the demo business's vocabulary, in text: put in the business's word only when the
question then fits what the business knows, ask when unsure, and leave well-heard questions alone."""

from __future__ import annotations

import csv

import pytest

from helpline.pack.loader import load_pack
from helpline.voice.correction import NearMissCorrector
from helpline.voice.vocabulary import Vocabulary
from tests.conftest import DEMO


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    with (DEMO / "data" / "products.csv").open(encoding="utf-8") as rows:
        products = sorted({row["product"] for row in csv.DictReader(rows)})
    return Vocabulary.from_pack(load_pack(DEMO), products)


def test_a_misheard_product_word_is_replaced_when_the_question_backs_it_up(vocabulary: Vocabulary) -> None:
    corrector = NearMissCorrector(vocabulary)
    correction = corrector.correct("Can I get my means pre-ground?")
    assert correction.text == "Can I get my beans pre-ground?" and correction.sure
    assert correction.heard == "Can I get my means pre-ground?"  # what was heard is kept
    assert [(r.heard, r.meant) for r in correction.replacements] == [("means", "beans")]
    assert corrector.correct("How do I connect my machine to the wifey?").text.endswith("to the wifi?")
    # two words heard where one was said
    assert corrector.correct("My firm wear update got stuck halfway.").text == "My firmware update got stuck halfway."


@pytest.mark.parametrize("heard", [
    "Is the kettle dishwasher safe?",
    "Do you ship to Canada?",  # a name, not a near miss
    "Does the Espresso Pro have a steam wand?",
    "Can I return the travel mug?",
    "My name is Candace Miller",
    "",
])
def test_a_question_heard_right_is_left_alone(vocabulary: Vocabulary, heard: str) -> None:
    correction = NearMissCorrector(vocabulary).correct(heard)
    assert correction.text == heard and not correction.changed and not correction.needs_confirming


def test_a_word_that_sounds_alike_but_fits_nothing_is_not_put_in(vocabulary: Vocabulary) -> None:
    # "beans" sounds like "means", but nothing about beans goes with an umbrella
    assert not NearMissCorrector(vocabulary).correct("What does it mean umbrella?").changed


def test_the_judge_decides_and_close_candidates_make_it_ask(vocabulary: Vocabulary) -> None:
    heard = "Can I get my means pre-ground?"
    only_beans = NearMissCorrector(vocabulary, judge=lambda text: 0.8 if "beans" in text else 0.1)
    assert only_beans.correct(heard).text == "Can I get my beans pre-ground?" and only_beans.correct(heard).sure

    nothing_better = NearMissCorrector(vocabulary, judge=lambda text: 0.4)
    assert not nothing_better.correct(heard).changed  # the knowledge base answers no better: leave it

    # every candidate is answered as well as the next: a guess, so the caller is asked
    any_change = NearMissCorrector(vocabulary, judge=lambda text: 0.1 if text == heard else 0.8)
    unsure = any_change.correct(heard)
    assert unsure.needs_confirming and unsure.replacements[0].rival
    assert unsure.confirming_phrase() == unsure.text.rstrip("?")[:1].lower() + unsure.text.rstrip("?")[1:]


def test_a_long_question_confirms_only_the_word(vocabulary: Vocabulary) -> None:
    corrector = NearMissCorrector(vocabulary, judge=lambda text: 0.1 if "means" in text else 0.8)
    correction = corrector.correct("Hi there, I was wondering whether I can get my means pre-ground before they ship")
    assert correction.changed
    assert correction.confirming_phrase() == correction.replacements[0].meant
    assert correction.as_meta()["heard"].startswith("Hi there")


def test_a_product_name_with_the_words_outline_is_asked_about_when_it_answers_clearly_better(
        vocabulary: Vocabulary) -> None:
    # "candle" and "kettle" share only their outline (onset, one vowel sound, "-dle"/"-tle"): too far apart in
    # sound to rank, so the judge reads the product name of that outline too and the caller is asked
    heard = "Can I control the candle from my phone?"
    corrector = NearMissCorrector(vocabulary, judge=lambda text: 0.95 if "kettle" in text else 0.1)
    correction = corrector.correct(heard)
    assert correction.text == "Can I control the kettle from my phone?" and correction.needs_confirming
    # ...and nothing is put in when the product's question is answered no better than the one heard
    assert not NearMissCorrector(vocabulary, judge=lambda text: 0.3).correct(heard).changed


def test_a_question_fairly_understood_as_heard_is_not_asked_about_a_guess(vocabulary: Vocabulary) -> None:
    # "did you say ...?" is for a question a mishearing left meaningless, or one a word makes near-certain:
    # a fairly answered question, a bit better answered with a guessed word, is most likely heard right
    heard = "Can I get my means pre-ground?"

    def judged(as_heard: float, corrected: float) -> NearMissCorrector:
        return NearMissCorrector(vocabulary, judge=lambda text: as_heard if text == heard else corrected)

    assert judged(0.1, 0.8).correct(heard).needs_confirming  # meaningless as heard: asked
    assert not judged(0.45, 0.8).correct(heard).changed  # fairly understood, a guess no better than 0.8: left
    assert judged(0.45, 0.95).correct(heard).needs_confirming  # ... unless the guess answers it near-certainly


@pytest.mark.parametrize("heard", [
    "could I swap to the decaf beans",  # "app" is far commoner than "swap": the recogniser heard "swap"
    "I want to swap the mug for the blue one",  # not "safe" either, 5x commoner
    "can I swap the green travel mug for the blue one",
])
def test_a_word_the_caller_said_is_not_guessed_into_a_commoner_one(vocabulary: Vocabulary, heard: str) -> None:
    correction = NearMissCorrector(vocabulary).correct(heard)
    assert not correction.changed, correction.text


def test_a_rare_word_is_not_replaced_by_a_much_commoner_one_but_a_common_one_may_be(vocabulary: Vocabulary) -> None:
    # ranks as a recogniser's vocabulary gives them (1 the commonest)
    ranks = {"swap": 18000, "app": 700, "means": 1400, "beans": 12000}
    corrector = NearMissCorrector(vocabulary, word_ranks=ranks)
    assert not corrector.correct("could I swap to the decaf beans").changed
    assert corrector.correct("Can I get my means pre-ground?").text == "Can I get my beans pre-ground?"


def test_a_common_word_heard_for_a_rarer_business_word_is_still_restored(vocabulary: Vocabulary) -> None:
    # the recogniser's word ranks (the default): "brother" is common, "frother" has no token of its own
    correction = NearMissCorrector(vocabulary).correct("Is the milk brother dishwasher safe?")
    assert correction.text == "Is the milk frother dishwasher safe?" and correction.sure


@pytest.mark.parametrize(("heard", "meant"), [
    ("How do I clean the burger grinder?", "How do I clean the burr grinder?"),
    ("Where do I buy new burgers for my grinder?", "Where do I buy new burrs for my grinder?"),
])
def test_a_business_word_is_put_in_the_number_heard(vocabulary: Vocabulary, heard: str, meant: str) -> None:
    # the business writes both "burr" and "burrs": a misheard word keeps its ending
    assert NearMissCorrector(vocabulary).correct(heard).text == meant
