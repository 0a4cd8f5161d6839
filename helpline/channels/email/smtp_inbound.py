"""The inbound SMTP listener (`helpline serve --smtp-port N`, aiosmtpd) for a domain whose MX or forwarding
points at Helpline. It runs on the server's own event loop.

The email is handled before the DATA reply: 250 means it is in the conversation (answered or not); a failure
of ours is 451, so the sending server keeps it and tries again (nothing is lost). It only ever accepts mail
for our own domains when they are set: it is no relay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from helpline.channels.email.channel import EmailChannel

log = logging.getLogger(__name__)


class InboundHandler:
    """aiosmtpd's handler hooks (the names are aiosmtpd's)."""

    def __init__(self, channel: EmailChannel, domains: Collection[str] = ()):
        self.channel = channel
        self.domains = {d.lower() for d in domains}

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        domain = address.rpartition("@")[2].lower()
        if self.domains and domain not in self.domains:
            return "550 5.7.1 Relaying denied: we only accept mail for our own addresses"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode("utf-8", "surrogateescape")
        try:
            handled = await self.channel.receive(raw, envelope_sender=envelope.mail_from)
        except Exception:
            log.exception("an inbound email could not be handled; the sender will retry")
            return "451 4.3.0 Temporary failure, please try again later"
        log.info("inbound email: %s", handled.outcome.value)
        return "250 2.0.0 OK"


class SmtpListener:
    def __init__(self, channel: EmailChannel, host: str, port: int, domains: Collection[str] = (),
                 max_message_bytes: int = 25_000_000, hostname: str | None = None):
        self.handler = InboundHandler(channel, domains)
        self.host = host
        self.port = port
        self.max_message_bytes = max_message_bytes
        self.hostname = hostname
        self._server: asyncio.Server | None = None

    def _protocol(self) -> Any:
        return SMTP(self.handler, data_size_limit=self.max_message_bytes, enable_SMTPUTF8=True,
                    hostname=self.hostname, ident="Helpline ESMTP", timeout=60)

    async def start(self) -> None:
        self._server = await asyncio.get_running_loop().create_server(self._protocol, self.host, self.port)
        if self.port == 0:  # an ephemeral port (tests): report the one the system picked
            self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
