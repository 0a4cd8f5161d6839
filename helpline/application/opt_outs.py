"""Opt-outs, and the form of an address they are kept under, as the channels need them without reaching into the
store.

The opt-out table is the store's (store/opt_outs.py); ``OptOuts`` is the outbound ``ContactPreferences`` port over
it (an SMS STOP blocks every text, an email unsubscribe only notices), with which the SMS channel also records the
keywords and reads whether a number has opted out. Addresses are compared normalised: E.164 for phones, lower case for
emails, anything that does not parse (a short code, an alphanumeric sender) as typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpline.outbound.ports import OutboundChannel
from helpline.store.db import Database
from helpline.store.opt_outs import OptOutRepository, StoredContactPreferences, normalise_address
from helpline.store.validation import normalise_phone

__all__ = ["OptOuts", "normalise_address", "sms_address"]


def sms_address(sender: str, region: str | None = None) -> str:
    """A texting number in E.164 where it parses (a national number too, given the business's ``region``); a
    short code or an alphanumeric sender as given (trimmed)."""
    try:
        return normalise_phone(sender, region)
    except ValueError:
        return normalise_address(OutboundChannel.SMS, sender)


@dataclass
class OptOuts(StoredContactPreferences):
    """The opt-out table as the channels use it: what may be sent, the keywords recorded, and who opted out."""

    db: Database

    def opted_out(self, channel: OutboundChannel, address: str) -> bool:
        """Whether ``address`` has opted out of ``channel`` (and not back in since)."""
        with self.db.read_session() as session:
            return OptOutRepository(session).is_opted_out(channel, address)
