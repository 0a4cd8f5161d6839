"""Boundary validators and model-level checks."""

from __future__ import annotations

import pytest

from helpline.store.models import Callback, Customer, Ticket
from helpline.store.validation import TICKET_PRIORITIES, check_choice, normalise_email, normalise_phone


def test_normalise_email() -> None:
    assert normalise_email("  Sam.Rogers@Example.COM ") == "sam.rogers@example.com"
    for bad in ("sam", "sam@", "@example.com", "sam@@example.com", "sam rogers@example.com"):
        with pytest.raises(ValueError, match="invalid email"):
            normalise_email(bad)


def test_normalise_phone() -> None:
    assert normalise_phone("+1 512-555-0126") == "+15125550126"
    assert normalise_phone("(512) 555-0126", "us") == "+15125550126"
    assert normalise_phone("020 7946 0018", "GB") == "+442079460018"
    with pytest.raises(ValueError, match="invalid phone"):
        normalise_phone("512 555 0126")
    for bad in ("hello", "123", "+1 000 000 0000"):
        with pytest.raises(ValueError, match="invalid phone"):
            normalise_phone(bad, "US")


def test_check_choice() -> None:
    assert check_choice("priority", "high", TICKET_PRIORITIES) == "high"
    with pytest.raises(ValueError, match=r"invalid priority 'whenever': expected one of high, low, normal, urgent"):
        check_choice("priority", "whenever", TICKET_PRIORITIES)


def test_models_refuse_bad_values_when_set() -> None:
    with pytest.raises(ValueError, match="priority"):
        Ticket(priority="asap")
    with pytest.raises(ValueError, match="csat"):
        Ticket(csat=0)
    with pytest.raises(ValueError, match="callback status"):
        Callback(status="later")
    with pytest.raises(ValueError, match="email"):
        Customer(email="nope")
    assert Customer(email="A@B.co", phone="+15125550126").email == "a@b.co"
