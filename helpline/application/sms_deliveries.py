"""Every text sent, with the provider's id and status (``sms_deliveries``), as the SMS channel needs it without
reaching into the store: recorded after each send, updated by the provider's status callbacks."""

from __future__ import annotations

from dataclasses import dataclass

from helpline.store.db import Database
from helpline.store.sms import SmsDeliveryRepository


@dataclass(frozen=True)
class SentText:
    """What the channel records about one text it tried to send."""

    to: str
    purpose: str
    status: str  # accepted | rejected | failed | blocked, then the provider's
    provider_id: str | None = None
    conversation_id: str | None = None
    ticket_number: int | None = None
    error: str = ""
    error_code: str | None = None
    segments: int = 1
    encoding: str = "GSM-7"


@dataclass(frozen=True)
class DeliveryStatus:
    """A recorded text after a status callback: where it went and the conversation it belongs to, if any."""

    to: str
    conversation_id: str | None
    status: str


@dataclass(frozen=True)
class SmsDeliveries:
    db: Database

    def record(self, text: SentText) -> None:
        """Keep the text's outcome (a conversation erased meanwhile keeps the delivery, not the link)."""
        with self.db.session() as session:
            SmsDeliveryRepository(session).record(
                to=text.to, purpose=text.purpose, status=text.status, provider_id=text.provider_id,
                conversation_id=text.conversation_id, ticket_number=text.ticket_number, error=text.error,
                error_code=text.error_code, segments=text.segments, encoding=text.encoding)

    def update_status(self, provider_id: str, status: str, error_code: str | None) -> DeliveryStatus | None:
        """A provider's status callback for the text it calls ``provider_id``; None when that text is not ours. A
        final status is never overwritten by an earlier one arriving late."""
        with self.db.session() as session:
            row = SmsDeliveryRepository(session).update_status(provider_id, status, error_code)
            if row is None:
                return None
            return DeliveryStatus(row.to, row.conversation_id, row.status)
