"""Opt-outs per channel and address, and the `ContactPreferences` every sender asks (outbound/ports.py).

SMS STOP blocks everything sent to that number, replies included (carriers require it; the provider would refuse
anyway); an email unsubscribe blocks notices (recaps, surveys, outage notices, reminders) but not a reply to what
the customer just wrote, nor a code they asked for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from helpline.outbound.ports import ContactPreferences, MessagePurpose, OutboundChannel
from helpline.store.db import Database
from helpline.store.models import ContactOptOut, utcnow
from helpline.store.repositories import _Repository
from helpline.store.validation import normalise_email, normalise_phone

OPTED_OUT = "opted_out"
OPTED_IN = "opted_in"
# An opt-out outlives the erasure of its customer (the legal record that the address must not be contacted), but
# then holds only this key: the SHA-256 of the address, so "may we text +1512…?" is still answered and the
# address itself is not kept (docs/security.md, "Retention and erasure").
KEYED_PREFIX = "sha256:"
_KEY_DOMAIN = "helpline:opt-out:"

# What an email unsubscribe still lets through: answers to the customer's own message or request.
EMAIL_ALWAYS_ALLOWED = frozenset({MessagePurpose.REPLY, MessagePurpose.STAFF_REPLY, MessagePurpose.VERIFICATION_CODE})


def normalise_address(channel: OutboundChannel, address: str) -> str:
    """E.164 for phones, lower case for emails; an address that does not parse (a short code, an alphanumeric
    sender) is kept as typed, trimmed, so it can still be opted out."""
    address = address.strip()
    try:
        return normalise_email(address) if channel is OutboundChannel.EMAIL else normalise_phone(address)
    except ValueError:
        return address.lower() if channel is OutboundChannel.EMAIL else address


def keyed_address(channel: OutboundChannel, normalised: str) -> str:
    """The key an erased customer's opt-out is kept under instead of their (normalised) address."""
    digest = hashlib.sha256(f"{_KEY_DOMAIN}{channel.value}:{normalised}".encode()).hexdigest()
    return f"{KEYED_PREFIX}{digest}"


class OptOutRepository(_Repository):
    def get(self, channel: OutboundChannel, address: str) -> ContactOptOut | None:
        normalised = normalise_address(channel, address)
        # the plain row first, should both exist (an erasure keys the row; set() then updates the keyed one)
        rows = sorted(self.session.scalars(select(ContactOptOut).where(
            ContactOptOut.channel == channel.value,
            ContactOptOut.address.in_([normalised, keyed_address(channel, normalised)]))),
            key=lambda row: row.address.startswith(KEYED_PREFIX))
        return rows[0] if rows else None

    def is_opted_out(self, channel: OutboundChannel, address: str) -> bool:
        row = self.get(channel, address)
        return row is not None and row.status == OPTED_OUT

    def set(self, channel: OutboundChannel, address: str, opted_out: bool, *, keyword: str, actor: str,
            now: datetime | None = None) -> ContactOptOut:
        """Record an opt-out (or opt-in), audited; two at once for one address leave one row."""
        normalised = normalise_address(channel, address)
        status = OPTED_OUT if opted_out else OPTED_IN
        at = now or utcnow()
        row = self.get(channel, normalised)
        if row is None:
            try:
                with self.session.begin_nested():
                    row = ContactOptOut(channel=channel.value, address=normalised, status=status,
                                        keyword=keyword[:40], updated_at=at)
                    self.session.add(row)
            except IntegrityError:  # another process recorded one meanwhile: update theirs
                row = self.get(channel, normalised)
                if row is None:
                    raise
        row.status, row.keyword, row.updated_at = status, keyword[:40], at
        self.audit.record(actor, "update", "contact_opt_out", f"{channel.value}:{normalised}",
                          detail={"status": status, "keyword": keyword[:40]}, at=at)
        return row


@dataclass
class StoredContactPreferences(ContactPreferences):
    """`ContactPreferences` over the opt-out table (one short read per question)."""

    db: Database

    def allows(self, channel: OutboundChannel, address: str, purpose: MessagePurpose) -> bool:
        with self.db.read_session() as session:
            opted_out = OptOutRepository(session).is_opted_out(channel, address)
        if not opted_out:
            return True
        return channel is OutboundChannel.EMAIL and purpose in EMAIL_ALWAYS_ALLOWED

    def opt_out(self, channel: OutboundChannel, address: str, keyword: str, actor: str) -> None:
        with self.db.session() as session:
            OptOutRepository(session).set(channel, address, True, keyword=keyword, actor=actor)

    def opt_in(self, channel: OutboundChannel, address: str, keyword: str, actor: str) -> None:
        with self.db.session() as session:
            OptOutRepository(session).set(channel, address, False, keyword=keyword, actor=actor)
