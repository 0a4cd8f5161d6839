"""The contract between whatever decides to send a message and the channels that deliver it.

Email (`channels/email`) and SMS (`channels/sms`) implement `MessageSender`; the durable send queue
(`outbound/`) and the channels' own replies call it. `ContactPreferences` is asked before any message that the
customer did not just ask for (a notice, a survey, a reminder): SMS STOP and email unsubscribes are honoured
on every path, not only by the channel that received them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class OutboundChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class MessagePurpose(StrEnum):
    """Why a message is sent. A `REPLY` answers what the customer just wrote and is sent even after an opt-out
    of notices (SMS STOP still blocks it: carriers require that); every other purpose is a notice."""

    REPLY = "reply"
    VERIFICATION_CODE = "verification_code"
    RECAP = "recap"
    APOLOGY = "apology"
    SURVEY = "survey"
    OUTAGE_NOTICE = "outage_notice"
    CALLBACK_REMINDER = "callback_reminder"
    STAFF_REPLY = "staff_reply"


@dataclass(frozen=True)
class OutboundMessage:
    channel: OutboundChannel
    to: str  # an email address, or a phone number in E.164
    text: str
    purpose: MessagePurpose = MessagePurpose.REPLY
    subject: str | None = None  # email only
    html: str | None = None  # email only: the HTML alternative of `text`
    headers: Mapping[str, str] = field(default_factory=dict)  # email only: In-Reply-To, References, …
    conversation_id: str | None = None
    ticket_number: int | None = None


@dataclass(frozen=True)
class DeliveryResult:
    delivered: bool
    provider_id: str | None = None  # Message-ID of the email, the SMS provider's message sid
    error: str | None = None  # why not, in words a supervisor can act on (never the message text)
    permanent: bool = False  # retrying will not help (bad address, opted out, rejected by the provider)


class MessageSender(Protocol):
    """Delivers one message on one channel. Never raises for a delivery failure: it returns the result."""

    channel: OutboundChannel

    async def send(self, message: OutboundMessage) -> DeliveryResult: ...


class ContactPreferences(Protocol):
    """Opt-outs per channel and address (SMS STOP/START, email unsubscribe)."""

    def allows(self, channel: OutboundChannel, address: str, purpose: MessagePurpose) -> bool: ...
