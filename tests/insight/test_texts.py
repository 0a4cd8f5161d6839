"""What insight never counts or shows: greetings and acknowledgements, personal details (masked in labels)."""

from __future__ import annotations

import pytest

from helpline.insight.texts import PersonalData, is_social

ID_FORMATS = {"order_id": r"BB-\d{5}"}


@pytest.mark.parametrize("line", ["hi there", "Hello, is anyone there?", "ok thanks bye", "thank you so much!",
                                  "yes please", "cheers, have a nice day"])
def test_social_lines(line: str) -> None:
    assert is_social(line)


@pytest.mark.parametrize("line", ["hi, my grinder is jammed", "thanks, but where is my refund?",
                                  "do you sell decaf"])
def test_lines_with_a_reason_are_not_social(line: str) -> None:
    assert not is_social(line)


def test_personal_details_are_found_and_masked() -> None:
    personal = PersonalData.for_pack(ID_FORMATS)
    line = "I'm Dana Whitfield, order BB-10417 never came, mail me at dana.w@example.org or 512-555-0187"
    masked = personal.mask(line)
    for detail in ("Dana", "BB-10417", "dana.w@example.org", "555-0187"):
        assert detail not in masked
    assert "[email]" in masked and "[order id]" in masked
    assert personal.contains(line)
    assert personal.contains("my card is [card ending 4242]")
    assert not personal.contains("do you ship to Canada?")
