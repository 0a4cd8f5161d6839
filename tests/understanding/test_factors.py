"""Reading typed verification factors (understanding/factors.py)."""

from __future__ import annotations

import pytest

from helpline.understanding.factors import read_factors, third_party


@pytest.mark.parametrize("text", ["it ends in 4421", "my phone number ends with 4 4 2 1",
                                  "the last four digits of my phone are 4421", "last 4: 4421"])
def test_stated_last_four_is_read_whether_asked_or_not(text: str) -> None:
    assert read_factors(text, asked=False)["phone_last4"] == "4421"


@pytest.mark.parametrize("text", ["4421", "four four two one", "double four two one", "it's 4421"])
def test_a_bare_answer_is_read_only_when_asked(text: str) -> None:
    assert read_factors(text, asked=True)["phone_last4"] == "4421"
    assert "phone_last4" not in read_factors(text, asked=False)


@pytest.mark.parametrize("text", ["I've been a customer since 2019", "FB-100234, I've been with you since 2019",
                                  "we moved here in 2019", "it's a 2019 model"])
def test_a_year_is_never_the_last_four(text: str) -> None:
    for asked in (True, False):
        found = read_factors(text, asked=asked)
        assert not {"phone_last4", "card_last4", "pin"} & set(found)


def test_card_and_phone_cues_are_told_apart() -> None:
    assert read_factors("the last four of my card are 9876", asked=False) == {"card_last4": "9876"}
    assert read_factors("my mobile ends in 4421", asked=False) == {"phone_last4": "4421"}


def test_dates_of_birth_in_any_format_and_ambiguity_kept() -> None:
    assert read_factors("born on 14 March 1988", asked=False)["date_of_birth"] == "1988-03-14"
    assert read_factors("March 14th, 1988", asked=True)["date_of_birth"] == "1988-03-14"
    assert read_factors("1988-03-14", asked=True) == {"date_of_birth": "1988-03-14"}
    assert read_factors("14/03/1988", asked=True)["date_of_birth"] == "1988-03-14"  # only one reading
    # both readings, the day-first one first; a two-digit year is in the past
    assert read_factors("03/04/88", asked=True)["date_of_birth"] == "1988-04-03|1988-03-04"
    assert "date_of_birth" not in read_factors("see you 03/04/1988", asked=False)  # no cue, not asked


def test_the_answer_to_which_date_settles_it() -> None:
    pending = ["1988-04-03|1988-03-04"]
    assert read_factors("April", asked=True, pending_dates=pending)["date_of_birth"] == "1988-04-03"
    assert read_factors("the second one", asked=True, pending_dates=pending)["date_of_birth"] == "1988-03-04"
    assert read_factors("4th of March 1988", asked=True, pending_dates=pending)["date_of_birth"] == "1988-03-04"


def test_account_numbers() -> None:
    assert read_factors("my account number is FB-100234", asked=False)["account_number"] == "FB-100234"
    assert read_factors("fb100234", asked=True)["account_number"] == "FB100234"
    assert "account_number" not in read_factors("fb100234", asked=False)


@pytest.mark.parametrize("text", ["I'm calling for my mum", "this is her son", "It's his wife here",
                                  "ringing on behalf of my husband", "how much is my mum's bill",
                                  "the account is in my dad's name"])
def test_a_caller_who_says_he_is_someone_else(text: str) -> None:
    assert third_party(text)


@pytest.mark.parametrize("text", ["I bought it for my mum", "my son loves the router", "how much is my bill",
                                  "I'm Tom Brennan"])
def test_not_a_third_party(text: str) -> None:
    assert third_party(text) is None


@pytest.mark.parametrize("text", ["call me back on +1 512 555 0199", "my number is +44 7911 124421",
                                  "card 4111 1111"])
def test_a_piece_of_a_longer_number_is_not_four_digits(text: str) -> None:
    assert not {"phone_last4", "card_last4", "pin"} & set(read_factors(text, asked=True))
