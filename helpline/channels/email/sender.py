"""`SmtpSender`: the email `MessageSender` (outbound/ports.py) over aiosmtplib, through the configured relay.

Every email has a Message-ID (ours, or the one the caller chose so it could record the thread first), the
thread headers the caller gives (In-Reply-To, References), `Auto-Submitted: auto-replied` on what the AI
writes (RFC 3834: other robots must not answer it) and plain text with an HTML alternative. Failures are
returned, never raised: a 5xx or a refused recipient is permanent, a timeout or 4xx is worth retrying.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

import aiosmtplib

from helpline.connectors.smtp_relay import SmtpRelay, SmtpTls
from helpline.outbound.ports import DeliveryResult, MessagePurpose, OutboundChannel, OutboundMessage
from helpline.pack.expressions import mask

log = logging.getLogger(__name__)

# headers a caller may set; anything else in OutboundMessage.headers is ignored
THREAD_HEADERS = ("Message-ID", "In-Reply-To", "References", "Reply-To", "List-Unsubscribe",
                  "List-Unsubscribe-Post")
AUTO_SUBMITTED = {MessagePurpose.STAFF_REPLY: None, MessagePurpose.REPLY: "auto-replied"}  # else auto-generated


@dataclass
class SmtpSender:
    relay: SmtpRelay
    from_address: str
    from_name: str = ""
    timeout: float = 15.0
    channel: OutboundChannel = OutboundChannel.EMAIL

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2] or "helpline.invalid"

    def new_message_id(self) -> str:
        return make_msgid(domain=self.domain)

    def build(self, message: OutboundMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = formataddr((self.from_name, self.from_address)) if self.from_name else self.from_address
        email["To"] = message.to
        email["Subject"] = message.subject or ""
        email["Date"] = formatdate(localtime=False, usegmt=True)
        for name in THREAD_HEADERS:
            value = message.headers.get(name)
            if value and "\n" not in value and "\r" not in value:
                email[name] = value
        if "Message-ID" not in email:
            email["Message-ID"] = self.new_message_id()
        auto = AUTO_SUBMITTED.get(message.purpose, "auto-generated")
        if auto:
            email["Auto-Submitted"] = auto
            email["X-Auto-Response-Suppress"] = "All"  # Exchange's own way of saying "no out-of-office to this"
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        if message.channel != OutboundChannel.EMAIL or "@" not in message.to:
            return DeliveryResult(False, error="not an email address", permanent=True)
        try:
            email = self.build(message)
        except ValueError as exc:  # an address or header the email library refuses
            return DeliveryResult(False, error=f"the email could not be built: {exc}", permanent=True)
        message_id = str(email["Message-ID"])
        relay = self.relay
        try:
            await aiosmtplib.send(
                email, hostname=relay.host, port=relay.port, username=relay.username, password=relay.password,
                use_tls=relay.tls == SmtpTls.TLS, start_tls=relay.tls == SmtpTls.STARTTLS,
                tls_context=ssl.create_default_context() if relay.tls != SmtpTls.NONE else None,
                timeout=self.timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return self._failed(message, "the relay refused the address", exc, permanent=True, message_id=message_id)
        except aiosmtplib.SMTPResponseException as exc:
            return self._failed(message, f"the relay answered {exc.code} {exc.message}", exc,
                                permanent=500 <= exc.code < 600, message_id=message_id)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return self._failed(message, f"the relay {relay.host}:{relay.port} could not be reached", exc,
                                permanent=False, message_id=message_id)
        return DeliveryResult(True, provider_id=message_id)

    @staticmethod
    def _failed(message: OutboundMessage, why: str, exc: Exception, permanent: bool,
                message_id: str) -> DeliveryResult:
        log.warning("email to %s not sent: %s (%s)", mask(message.to, "email"), why, type(exc).__name__)
        return DeliveryResult(False, provider_id=message_id, error=why, permanent=permanent)
