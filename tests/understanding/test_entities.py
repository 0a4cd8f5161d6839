from __future__ import annotations

from datetime import datetime

import pytest

from helpline.understanding.entities import EntityExtractor, ProductInfo

NOW = datetime(2026, 11, 23, 10, 0)
PRODUCTS = [
    ProductInfo("Espresso One", {"colour": ["black", "white", "red"]}),
    ProductInfo("Espresso Pro", {"colour": ["steel", "black"]}),
    ProductInfo("Burr Grinder", {"colour": ["black", "white"]}),
    ProductInfo("Cold Brew Maker", {"size": ["1L", "2L"]}),
    ProductInfo("Travel Mug", {"size": ["12oz", "16oz"], "colour": ["black", "blue", "green"]}),
]


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor({"order_id": r"(?i)\bBB[- ]?\d{5}\b", "customer_id": r"(?i)\bC-?\d{4}\b"}, PRODUCTS, "US")


def found(extractor: EntityExtractor, text: str) -> list[tuple[str, str]]:
    return [(e.type, e.value) for e in extractor.extract(text, NOW)]


def test_email_and_phone(extractor: EntityExtractor) -> None:
    text = "reach me at John.Smith@Example.com or +1 (512) 555-0100"
    ents = extractor.extract(text, NOW)
    assert [(e.type, e.value) for e in ents] == [("email", "john.smith@example.com"), ("phone", "+15125550100")]
    assert text[ents[0].start : ents[0].end] == "John.Smith@Example.com"


def test_national_phone_uses_default_region(extractor: EntityExtractor) -> None:
    assert found(extractor, "my number is 512-555-0100") == [("phone", "+15125550100")]
    uk = EntityExtractor(default_region="GB")
    assert [(e.type, e.value) for e in uk.extract("ring 020 7946 0018")] == [("phone", "+442079460018")]


@pytest.mark.parametrize("typed", ["BB-10001", "bb 10001", "BB10001", "bb-10001"])
def test_pack_ids_are_canonical(extractor: EntityExtractor, typed: str) -> None:
    assert found(extractor, f"order {typed} hasn't come") == [("order_id", "BB-10001")]


def test_optional_dash_pattern_accepts_space_and_id_digits_are_not_reused(extractor: EntityExtractor) -> None:
    assert found(extractor, "customer c 1001") == [("customer_id", "C-1001")]
    # The 5 digits of the order id must not also come out as a ZIP, phone or number.
    assert found(extractor, "zip code for BB-78701 please") == [("order_id", "BB-78701")]


def test_names(extractor: EntityExtractor) -> None:
    assert found(extractor, "Hi, my name is Jane Doe") == [("person_name", "Jane Doe")]
    assert found(extractor, "this is Jane Doe calling") == [("person_name", "Jane Doe")]
    assert found(extractor, "I'm Jane Doe") == [("person_name", "Jane Doe")]
    assert found(extractor, "my name is jane doe") == [("person_name", "Jane Doe")]
    assert found(extractor, "I'm looking for my order") == []


def test_postcodes(extractor: EntityExtractor) -> None:
    assert found(extractor, "my zip is 78701") == [("postcode", "78701")]
    assert found(extractor, "it's 78701-1234") == [("postcode", "78701-1234")]
    assert found(extractor, "postcode sw1a1aa") == [("postcode", "SW1A 1AA")]
    assert found(extractor, "I ordered 12345 beans") == [("number", "12345")]


def test_dates_and_times(extractor: EntityExtractor) -> None:
    assert found(extractor, "call me tomorrow at 3pm?") == [("datetime", "2026-11-24T15:00:00")]
    assert found(extractor, "deliver it next monday") == [("date", "2026-11-30")]
    assert found(extractor, "at 4:30 pm") == [("time", "16:30")]
    assert found(extractor, "it arrived on 2026-11-02") == [("date", "2026-11-02")]
    assert found(extractor, "I love this time of year") == []
    # a weekday's short form is a day only where a day is said ("on Sat"); "it's sat by the router" is no Saturday
    assert found(extractor, "it's sat right next to the router") == []
    assert found(extractor, "can it come on sat") == [("date", "2026-11-28")]


def test_money(extractor: EntityExtractor) -> None:
    assert found(extractor, "it was $12.50, not 12 dollars") == [("money", "12.50"), ("money", "12.00")]
    assert found(extractor, "charged $1,200") == [("money", "1200.00")]


def test_products_and_options(extractor: EntityExtractor) -> None:
    assert found(extractor, "the espresso one in red") == [("product", "Espresso One"), ("product_option", "red")]
    assert found(extractor, "my grinder is broken") == [("product", "Burr Grinder")]
    assert found(extractor, "the espreso pro in steel") == [("product", "Espresso Pro"), ("product_option", "steel")]
    assert found(extractor, "one of the pros said it is fine") == []


def test_a_product_said_the_callers_way() -> None:
    extractor = EntityExtractor({}, [*PRODUCTS, ProductInfo("Water Filter 3-pack")], "US")
    assert found(extractor, "how much is the espresso 1?") == [("product", "Espresso One")]  # as a recogniser writes
    assert found(extractor, "a water filter three pack") == [("product", "Water Filter 3-pack")]
    assert found(extractor, "is the pro worth it over the one?") == [("product", "Espresso Pro"),
                                                                     ("product", "Espresso One")]
    assert found(extractor, "the one I got is great") == []


def test_a_shorter_word_is_not_a_misspelt_option(extractor: EntityExtractor) -> None:
    assert found(extractor, "can I get the difference back") == []  # "back" is not "black"
    assert found(extractor, "the espresso one in blackk") == [("product", "Espresso One"), ("product_option", "black")]


def test_card_placeholder_and_numbers(extractor: EntityExtractor) -> None:
    assert found(extractor, "paid with [card ending 1111], 3 times") == [("card_number", "1111"), ("number", "3")]


@pytest.mark.parametrize(
    ("answer", "slot", "value"),
    [
        ("John Smith", "person_name", "John Smith"),
        ("jane", "person_name", "Jane"),
        ("78701", "postcode", "78701"),
        ("it's 12", "number", "12"),
        ("twelve", "number", "12"),
        ("10001", "order_id", "BB-10001"),
        ("it's bb10001", "order_id", "BB-10001"),
        ("the 5th", "date", "2026-12-05"),
        ("12", "money", "12.00"),
        ("the espresso one", "product", "Espresso One"),
        ("red", "product_option", "red"),
        ("  leave it at the back door ", "text", "leave it at the back door"),
    ],
)
def test_extract_as_terse_answers(extractor: EntityExtractor, answer: str, slot: str, value: str) -> None:
    ent = extractor.extract_as(answer, slot, NOW)
    assert ent is not None
    assert ent.value == value


@pytest.mark.parametrize(
    ("answer", "slot"),
    [("no idea", "person_name"), ("espresso", "product"), ("soon", "number"), ("   ", "text"), ("abc", "order_id")],
)
def test_extract_as_refuses_what_it_cannot_read(extractor: EntityExtractor, answer: str, slot: str) -> None:
    assert extractor.extract_as(answer, slot, NOW) is None


def test_a_short_word_of_a_name_said_differently_names_no_product(extractor: EntityExtractor) -> None:
    # "espresso or" is one letter off "espresso one" by spelling, but "or" is no misspelt "one"
    assert found(extractor, "is the house blend good for espresso or should i get another") == []
    assert found(extractor, "the espreso one") == [("product", "Espresso One")]
    assert found(extractor, "the espresso 1 please") == [("product", "Espresso One")]
    assert found(extractor, "what travel mugs do you have") == [("product", "Travel Mug")]  # the plural is the word
