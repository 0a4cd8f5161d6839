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


def test_a_distinctive_word_heard_as_two_names_its_product() -> None:
    # a recogniser writes "grind her" for "grinder": joined the words are the grinder's distinctive word
    assert CATALOGUE.canonical("what setting on the grind her for espresso") == (
        "what setting on the Burr Grinder for espresso")
    assert CATALOGUE.named_in("my kett le won't switch on") == {"Smart Kettle"}
    # two words whose joining is two letters off, or a word with its own ending, name nothing
    assert not CATALOGUE.named_in("grind it fine for espresso")
    assert not CATALOGUE.named_in("grind herbs with it")


@pytest.mark.parametrize(
    ("said", "name"),
    [("how big is the small espresso model's water tank", "Espresso One"),  # size, of the family's word
     ("the cheaper espresso machine, does it steam milk", "Espresso One"),  # price, of the family's word
     ("is the posh coffee machine worth it", "Espresso Pro"),  # finish, of "machine", two words on
     ("what colours does your bigger model come in", "Espresso Pro")],
)
def test_a_model_described_by_size_or_price_is_the_lower_or_higher_of_the_pair(said: str, name: str) -> None:
    assert CATALOGUE.named_in(said) == {name}
    assert name in CATALOGUE.canonical(said)


def test_a_description_names_a_model_only_of_a_pair_with_a_higher_model() -> None:
    assert CATALOGUE.named_in("is the little mug leakproof") == set()  # a mug, not the lower Espresso
    # "one" alone is whatever was spoken of last: right after the travel mugs, "the small one" is a mug
    assert CATALOGUE.named_in("the small one in blue please, how much is it?") == set()
    assert CATALOGUE.named_in("the cheaper machine was out of stock") == {"Espresso One"}
    # two kettles, neither marked as the higher model: which is cheaper is not in their names
    kettles = ProductNames(["Kettle Classic", "Kettle Smart", "Travel Mug"])
    assert kettles.named_in("how hot does the cheaper kettle get") == set()
    # two pairs: a model noun alone does not say which family
    two_pairs = ProductNames(["Espresso One", "Espresso Pro", "Grinder Mini", "Grinder Max"])
    assert two_pairs.named_in("the fancy one") == set()
    assert two_pairs.named_in("the fancy grinder") == {"Grinder Max"}
