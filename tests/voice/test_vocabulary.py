"""The pack's vocabulary: what callers of the demo business talk about, sound keys and id formats."""

from __future__ import annotations

import csv

import pytest

from helpline.pack.loader import load_pack
from helpline.voice.vocabulary import (
    Vocabulary,
    id_format,
    recogniser_word_ranks,
    shape_key,
    sound_similarity,
    stem,
)
from tests.conftest import DEMO


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    with (DEMO / "data" / "products.csv").open(encoding="utf-8") as rows:
        products = sorted({row["product"] for row in csv.DictReader(rows)})
    return Vocabulary.from_pack(load_pack(DEMO), products)


def test_the_vocabulary_holds_the_businesss_own_words(vocabulary: Vocabulary) -> None:
    hints = vocabulary.hints()
    assert hints[0] == "Brightbean Coffee Co."
    assert "Smart Kettle" in hints and "Cold Brew Maker" in hints  # the catalogue
    assert "Cancel an order" in hints  # procedures
    terms = {t.text for t in vocabulary.terms}
    assert "Coffee beans" in terms and "Milk Frother" in terms  # article titles
    assert "foam" in terms  # a word the frother article says again and again, and no other does
    assert {f.name for f in vocabulary.id_formats} == {"order_id", "customer_id"}
    for word in ("kettle", "frother", "beans", "descaling", "grinder"):
        assert vocabulary.is_domain(word), word
    assert not vocabulary.is_domain("candle") and not vocabulary.is_domain("wifey")


def test_a_question_fits_the_passage_that_shares_its_words(vocabulary: Vocabulary) -> None:
    score, document = vocabulary.best_fit([stem("frother"), stem("foam"), stem("cold")])
    assert score > 0 and vocabulary.documents[document].title == "Milk Frother"
    assert vocabulary.best_fit([]) == (0.0, -1)


@pytest.mark.parametrize(("heard", "meant", "other"), [
    ("means", "beans", "months"),
    ("cattle", "kettle", "castle"),
    ("brother", "frother", "mother"),
    ("wifey", "wifi", "wives"),
])
def test_a_near_miss_sounds_closer_than_another_word(heard: str, meant: str, other: str) -> None:
    assert sound_similarity(heard, meant) > sound_similarity(heard, other)
    assert sound_similarity(heard, heard) == 1.0


def test_prefixed_id_formats_read_keyed_digits() -> None:
    order = id_format("order_id", r"(?i)\bBB[- ]?\d{5}\b")
    assert (order.prefix, order.min_digits, order.max_digits) == ("BB-", 5, 5)
    assert order.from_digits("10422") == "BB-10422"
    assert order.from_digits("1042") is None and order.from_digits("104221") is None
    customer = id_format("customer_id", r"(?i)\bC-?\d{4}\b")
    assert customer.from_digits("1001") == "C-1001"
    assert id_format("ticket", r"\d{3}-[A-Z]{2}").from_digits("123") is None  # not letters then digits


def test_a_words_outline_is_its_onset_vowel_sounds_and_ending() -> None:
    assert shape_key("candle") == shape_key("kettle") == shape_key("cattle")
    assert shape_key("candle") != shape_key("cancel") and shape_key("kettle") != shape_key("kennel")
    assert shape_key("an") == ""


def test_the_recognisers_word_ranks_put_common_words_first() -> None:
    ranks = recogniser_word_ranks()
    if not ranks:
        pytest.skip("Whisper base (helpline[voice]) is not installed")
    assert ranks["the"] < ranks["app"] < ranks["safe"] < ranks["swap"]
    assert "frother" not in ranks and "wifey" not in ranks  # no token of their own: rare, or no English word

