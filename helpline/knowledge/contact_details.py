"""A caller's own contact details say nothing about which article answers them.

"Is your packaging compostable? Email me at ana.lopez@example.org" searched with the address ranked the
exchanges article ("example" reads like "exchange") fairly sure, and the agent asked "is this about what can
I exchange?". The search and the coverage check read the question without them; the question itself keeps
them (a colleague asked on the caller's behalf needs the address)."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
# digits with the separators people write a phone number with; seven digits or more (an error code such as
# E202, a price, a 5-digit order number are topic words and stay)
_PHONE = re.compile(r"\+?\(?\d[\d ().-]{5,}\d")
_PHONE_DIGITS = 7


def without_contact_details(text: str) -> str:
    """``text`` with e-mail addresses, web addresses and phone numbers taken out."""
    text = _URL.sub(" ", _EMAIL.sub(" ", text))
    return _PHONE.sub(lambda m: " " if sum(c.isdigit() for c in m.group()) >= _PHONE_DIGITS else m.group(), text)
