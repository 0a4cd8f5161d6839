"""The email channel on loopback for tests: the real listener (aiosmtpd) and sender (aiosmtplib), the demo
pack's engine on SQLite, and an SMTP sink (tests/smtp_inbox.py) standing for the customer's mail server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar

import aiosmtplib
from sqlalchemy import select

from helpline.channels.email.service import EmailService, EmailSettings
from helpline.connectors.smtp_relay import SmtpRelay, SmtpTls
from helpline.pack.models import EmailChannelConfig
from helpline.runtime import Runtime
from helpline.store.models import EmailRecord, Message
from tests.smtp_inbox import Received, SmtpTestServer

SUPPORT = "support@brightbean.example"
T = TypeVar("T")


def settings(sink: SmtpTestServer, folder: Path, relay_port: int | None = None, **config: object) -> EmailSettings:
    return EmailSettings(address=SUPPORT, display_name="Brightbean", listen_port=0,
                         relay=SmtpRelay("127.0.0.1", relay_port or sink.port, SmtpTls.NONE, sender=SUPPORT),
                         config=EmailChannelConfig(attachments_folder=str(folder / "attachments"), **config))


def email(subject: str, body: str, sender: str = "Julia Campbell <julia.campbell@example.com>",
          message_id: str | None = None, headers: dict[str, str] | None = None,
          html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def parsed(received: Received) -> EmailMessage:
    message = message_from_bytes(received.message.as_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def plain_text(received: Received) -> str:
    body = parsed(received).get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


class EmailHarness:
    """Runs one scenario coroutine with the email service started on a fresh event loop."""

    def __init__(self, runtime: Runtime, sink: SmtpTestServer, settings: EmailSettings):
        self.runtime = runtime
        self.sink = sink
        self.settings = settings
        self.service: EmailService | None = None

    def run(self, scenario: Callable[[EmailHarness], Awaitable[T]]) -> T:
        async def main() -> T:
            self.service = EmailService(self.runtime, self.settings)
            await self.service.start()
            try:
                # a hang fails here, with the scenario's own stack, well before pytest-timeout's 300 s
                return await asyncio.wait_for(scenario(self), timeout=120)
            finally:
                await self.service.stop()

        return asyncio.run(main())

    async def send(self, message: EmailMessage, mail_from: str | None = None) -> None:
        assert self.service is not None and self.service.listener is not None
        port = self.service.listener.port
        if mail_from == "":  # the null reverse-path of bounces ("MAIL FROM:<>"), which send() would replace
            async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
                await client.sendmail("", [SUPPORT], message.as_bytes())
            return
        await aiosmtplib.send(message, hostname="127.0.0.1", port=port, sender=mail_from)

    def replies(self, to: str = "julia.campbell@example.com") -> list[Received]:
        with self.sink.inbox.lock:
            return [m for m in self.sink.inbox.messages if to in m.to]

    def records(self) -> list[EmailRecord]:
        with self.runtime.db.read_session() as session:
            found = list(session.scalars(select(EmailRecord).order_by(EmailRecord.id)))
            session.expunge_all()  # detached with what was loaded: readable after the session ends
            return found

    def customer_lines(self, conversation_id: str) -> list[str]:
        with self.runtime.db.read_session() as session:
            return [m.text for m in session.scalars(select(Message).where(
                Message.conversation_id == conversation_id, Message.role == "customer").order_by(Message.seq))]
