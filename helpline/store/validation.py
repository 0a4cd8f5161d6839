"""Boundary validators shared by the store, the API and the channels.

Plain functions raising ``ValueError`` with a message a person can act on, so every layer reports
bad input the same way and nothing malformed reaches the database.
"""

from __future__ import annotations

from collections.abc import Collection

import phonenumbers
from email_validator import EmailNotValidError, validate_email

CHANNELS = ("chat", "phone", "voice", "email", "sms", "api")
CONVERSATION_STATUSES = ("active", "ended")
MESSAGE_ROLES = ("customer", "agent", "human", "system")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATUSES = ("open", "resolved", "escalated", "awaiting_callback")
CALLBACK_STATUSES = ("scheduled", "done", "missed", "cancelled")
IDENTITY_KINDS = ("email", "phone", "chat", "external")
AUDIT_ACTIONS = ("read", "create", "update", "delete")
API_ROLES = ("admin", "supervisor", "agent", "integration")
CONSOLE_ROLES = ("admin", "supervisor", "agent")
# the durable send queue (outbound/queue.py): queued -> sending -> sent | queued again (retry) | failed;
# cancelled by a person or for want of an address; blocked by an opt-out
OUTBOUND_STATUSES = ("queued", "sending", "sent", "failed", "cancelled", "blocked")
TEAM_QUESTION_STATUSES = ("open", "answered", "unanswered", "withdrawn")


def check_choice(name: str, value: str, allowed: Collection[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise raise ValueError naming the field."""
    if value not in allowed:
        options = ", ".join(sorted(allowed))
        raise ValueError(f"invalid {name} {value!r}: expected one of {options}")
    return value


def normalise_email(text: str) -> str:
    """Syntax-check an address (no DNS: Helpline runs offline) and return it lower-cased.

    Lower-casing the local part too is deliberate: identities are matched across channels and
    customers type their address in whatever case they like.
    """
    try:
        result = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"invalid email {text!r}: {exc}") from exc
    return result.normalized.lower()


def normalise_phone(text: str, region: str | None = None) -> str:
    """Parse a phone number (national numbers need ``region``, e.g. "US") and return it in E.164."""
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"invalid phone {text!r}: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"invalid phone {text!r}: not a valid number" + ("" if region else " (no region given)"))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
