from __future__ import annotations

import pytest

from helpline.knowledge.product_names import ProductNames

CATALOGUE = ProductNames(["Espresso One", "Espresso Pro", "Burr Grinder", "Smart Kettle", "Water Filter 3-pack",
                          "Travel Mug", "Tamper"])


@pytest.mark.parametrize(
    ("said", "name"),
    [("how much is the espresso 1?", "Espresso One"),  # a recogniser writes the number as digits
     ("does the expresso one come with a jug", "Espresso One"),  # one letter off in a long word
     ("a water filter three pack please", "Water Filter 3-pack"),  # the number said as a word
     ("is the pro any good", "Espresso Pro"),  # the word telling it from its sibling, after "the"
     ("can I order the espresso-pro", "Espresso Pro")],
)
def test_a_product_said_the_callers_way_reads_as_the_catalogue_names_it(said: str, name: str) -> None:
    assert CATALOGUE.named_in(said) == {name}
    assert name in CATALOGUE.canonical(said)


def test_a_common_word_beside_its_sibling_names_the_sibling() -> None:
    assert CATALOGUE.canonical("what's different between the one and the pro?") == (
        "what's different between the Espresso One and the Espresso Pro?")
    # alone, "the one" and "a pro" are ordinary English
    assert CATALOGUE.named_in("the one I bought is broken") == set()
    assert CATALOGUE.named_in("I'm a pro at latte art") == set()
    assert CATALOGUE.named_in("the pro-level tamping guide") == set()


def test_a_distinctive_last_word_is_a_mention_kept_as_said() -> None:
    assert CATALOGUE.named_in("amazon has the grinder for less") == {"Burr Grinder"}
    assert CATALOGUE.canonical("amazon has the grinder for less") == "amazon has the grinder for less"
    assert CATALOGUE.named_in("my mug leaks") == set()  # too short a word to name the Travel Mug alone


def test_without_takes_every_mention_out() -> None:
    assert CATALOGUE.without("I saw the Espresso Pro cheaper elsewhere, will you match it?") == (
        "I saw the cheaper elsewhere, will you match it?")
    assert CATALOGUE.without("nothing named here") == "nothing named here"


def test_no_catalogue_no_mentions() -> None:
    assert not ProductNames([])
    assert ProductNames([]).canonical("the espresso 1") == "the espresso 1"
