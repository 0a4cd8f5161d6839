"""Remove secrets from a message before anything else (models, logs, tickets) sees it.

Card numbers are only redacted when they pass the Luhn check: a 16-digit parcel tracking
number is something the agent needs to read, and a customer's card number never is.
"""

from __future__ import annotations

import re

# 13-19 digits, optionally grouped by single spaces or dashes, not glued to other digits.
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_CVV = re.compile(
    r"(?i)\b(?P<label>cvv2?|cvc2?|csc|security\s+code|card\s+verification(?:\s+(?:code|value))?)"
    r"(?P<sep>(?:\s+(?:is|was|number|no\.?|code))*\s*[:=#]?\s*)(?P<secret>\d{3,4})\b"
)
_PASSWORD = re.compile(
    r"(?i)(?P<label>\bmy\s+(?:password|passcode|passwd)\s+(?:is|was)\s*:?\s*|"
    r"\b(?:password|passcode|passwd|pwd)\s*[:=]\s*)(?P<secret>[^\s,;]+)"
)

REDACTED = "[redacted]"


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _redact_cards(text: str) -> tuple[str, bool]:
    found = False

    def repl(m: re.Match[str]) -> str:
        nonlocal found
        digits = re.sub(r"\D", "", m.group(0))
        if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
            return m.group(0)
        found = True
        return f"[card ending {digits[-4:]}]"

    return _CARD.sub(repl, text), found


def redact(text: str) -> tuple[str, tuple[str, ...]]:
    """Return the text with secrets replaced, and the kinds removed (card_number, cvv, password)."""
    kinds: list[str] = []
    text, had_card = _redact_cards(text)
    if had_card:
        kinds.append("card_number")
    text, n_cvv = _CVV.subn(lambda m: m.group("label") + m.group("sep") + REDACTED, text)
    if n_cvv:
        kinds.append("cvv")
    text, n_pw = _PASSWORD.subn(lambda m: m.group("label") + REDACTED, text)
    if n_pw:
        kinds.append("password")
    return text, tuple(kinds)
