from __future__ import annotations

import pytest

from helpline.understanding.redaction import luhn_valid, redact


@pytest.mark.parametrize(
    "card",
    ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "5555 5555 5555 4444"],
)
def test_card_numbers_are_redacted(card: str) -> None:
    text, kinds = redact(f"my card is {card}, thanks")
    assert card not in text
    assert f"[card ending {card[-4:]}]" in text
    assert kinds == ("card_number",)


def test_non_luhn_sixteen_digits_are_kept() -> None:
    tracking = "1234567812345678"
    assert not luhn_valid(tracking)
    text, kinds = redact(f"tracking number {tracking} shows no movement")
    assert tracking in text
    assert kinds == ()


def test_short_numbers_and_order_ids_are_kept() -> None:
    msg = "order BB-10001, call me on +1 512-555-0100, zip 78701"
    assert redact(msg) == (msg, ())


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ("the cvv is 123", "the cvv is [redacted]"),
        ("CVC: 4567", "CVC: [redacted]"),
        ("security code 999 ok", "security code [redacted] ok"),
    ],
)
def test_cvv_is_redacted(msg: str, expected: str) -> None:
    text, kinds = redact(msg)
    assert text == expected
    assert kinds == ("cvv",)


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ("my password is hunter2!", "my password is [redacted]"),
        ("Password: S3cret-pass, can you check", "Password: [redacted], can you check"),
        ("My password was abc123 but it fails", "My password was [redacted] but it fails"),
    ],
)
def test_password_is_redacted(msg: str, expected: str) -> None:
    text, kinds = redact(msg)
    assert text == expected
    assert kinds == ("password",)


def test_password_talk_without_a_secret_is_untouched() -> None:
    msg = "I forgot my password and can't log in"
    assert redact(msg) == (msg, ())


def test_several_kinds_at_once() -> None:
    text, kinds = redact("card 4111 1111 1111 1111 cvv 321 and my password is pa55")
    assert "4111" not in text.replace("[card ending 1111]", "")
    assert "321" not in text and "pa55" not in text
    assert kinds == ("card_number", "cvv", "password")
