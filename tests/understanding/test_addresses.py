from __future__ import annotations

import pytest

from helpline.understanding.addresses import (
    read_city,
    read_postal_address,
    read_postal_code,
    read_region,
    read_street_address,
    split_postal_address,
)


@pytest.mark.parametrize("text", ["for the ORDER BB-10171 not my account", "why do you need that?",
                                  "stop. i want to change something else", "no"])
def test_remarks_are_not_street_addresses(text: str) -> None:
    assert read_street_address(text) is None


def test_a_street_line_with_a_unit() -> None:
    assert read_street_address("it's 1200 Barton Springs Rd, unit 12") == "1200 Barton Springs Rd, unit 12"


@pytest.mark.parametrize(("text", "city"), [("round rock", "Round Rock"), ("it's El Paso", "El Paso")])
def test_cities(text: str, city: str) -> None:
    assert read_city(text) == city


def test_a_request_is_not_a_city() -> None:
    assert read_city("i want to change my order") is None


def test_regions_and_postal_codes() -> None:
    assert read_region("texas") == "TX" and read_region("ny") == "NY" and read_region("narnia") is None
    assert read_postal_code("7 8 7 5 1") == "78751" and read_postal_code("787") is None


def test_a_one_line_address_inside_a_sentence_is_split_into_parts() -> None:
    parts = split_postal_address("please update it to 9 Lakeview Dr, Georgetown Texas 78628 thanks")
    assert parts["street_address"] == "9 Lakeview Dr"
    assert parts["city"] == "Georgetown" and parts["region"] == "TX" and parts["postal_code"] == "78628"
    assert read_postal_address("ship it to 9 Lakeview Dr, Georgetown TX 78628") is not None
