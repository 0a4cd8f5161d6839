"""The email channel composed and run: settings (flags > environment > `email:` in business.yaml), then
the channel, its inbound listener and mailbox poller, and the relay of console replies. `helpline serve`
builds it (cli/main.py); tests build it the same way on loopback.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from helpline.channels.email.attachments import AttachmentStore
from helpline.channels.email.channel import EmailChannel
from helpline.channels.email.imap import ImapPoller, ImapUrl
from helpline.channels.email.reply import ReplyComposer
from helpline.channels.email.safety import SenderRateLimit
from helpline.channels.email.sender import SmtpSender
from helpline.channels.email.smtp_inbound import SmtpListener
from helpline.channels.email.staff import StaffReplyRelay
from helpline.connectors.smtp_relay import RELAY_ENV, TLS_ENV, SmtpRelay, SmtpTls, parse_host_port
from helpline.outbound.surveys import SurveyReplies
from helpline.pack.models import EmailChannelConfig
from helpline.runtime import Runtime

log = logging.getLogger(__name__)

IMAP_URL_ENV = "HELPLINE_IMAP_URL"
IMAP_PASSWORD_ENV = "HELPLINE_IMAP_PASSWORD"
ADDRESS_ENV = "HELPLINE_EMAIL_ADDRESS"


class EmailSettingsError(ValueError):
    """A setting of the email channel that cannot work, named."""


@dataclass(frozen=True)
class EmailSettings:
    address: str  # our support address
    display_name: str
    relay: SmtpRelay | None
    listen_host: str = "127.0.0.1"
    listen_port: int | None = None  # the inbound SMTP listener; None: none
    imap: ImapUrl | None = None
    imap_password: str = ""
    config: EmailChannelConfig = field(default_factory=EmailChannelConfig)

    @property
    def enabled(self) -> bool:
        return self.listen_port is not None or self.imap is not None

    @classmethod
    def resolve(cls, config: EmailChannelConfig, business_name: str, listen_host: str = "127.0.0.1",
                smtp_port: int | None = None, smtp_relay: str | None = None, smtp_tls: str | None = None,
                imap_url: str | None = None, env: Mapping[str, str] | None = None) -> EmailSettings:
        env = os.environ if env is None else env
        relay_env = dict(env)
        relay_text = smtp_relay or env.get(RELAY_ENV) or config.smtp_relay
        if relay_text:
            relay_env[RELAY_ENV] = relay_text
        tls = smtp_tls or env.get(TLS_ENV) or config.smtp_tls
        if tls:
            relay_env[TLS_ENV] = tls
        try:
            relay = SmtpRelay.from_env(relay_env)
            if relay_text:
                parse_host_port(relay_text, 25)
            imap_text = imap_url or env.get(IMAP_URL_ENV) or config.imap_url
            imap = ImapUrl.parse(imap_text) if imap_text else None
        except ValueError as exc:
            raise EmailSettingsError(str(exc)) from exc
        address = (env.get(ADDRESS_ENV) or config.address or (imap.username if imap and "@" in imap.username else "")
                   or (relay.sender if relay else ""))
        if (smtp_port or config.smtp_port or imap) and "@" not in address:
            raise EmailSettingsError("the email channel needs our support address: email.address in business.yaml "
                                     f"or {ADDRESS_ENV}")
        if relay is not None and address:
            relay = replace(relay, sender=address)
        return cls(address=address.lower(), display_name=config.display_name or business_name, relay=relay,
                   listen_host=listen_host, listen_port=smtp_port or config.smtp_port, imap=imap,
                   imap_password=env.get(IMAP_PASSWORD_ENV, ""), config=config)


class EmailService:
    """Everything the email channel runs, started and stopped with the server."""

    def __init__(self, runtime: Runtime, settings: EmailSettings):
        if settings.relay is None:
            raise EmailSettingsError("the email channel needs an outbound relay to answer: --smtp-relay HOST:PORT "
                                     "or HELPLINE_SMTP_RELAY")
        self.settings = settings
        config = settings.config
        self.sender = SmtpSender(settings.relay, settings.address, settings.display_name)
        wording = runtime.engine.wording
        business = runtime.pack.business
        names = {"business": {"name": business.name}, "persona": business.persona.model_dump()}
        # the engine's "anything else?" offers: said once, at the end of an email (reply.py)
        variants: Callable[[str], list[str]] = getattr(wording, "variants", lambda key: [])
        ask_once = {wording.render(v, names) for v in variants("anything_else")}
        self.channel = EmailChannel(
            runtime.conversations, self.sender, ReplyComposer(runtime.pack, ask_once), settings.address,
            attachments=AttachmentStore(Path(config.attachments_folder), config.max_attachment_bytes,
                                        config.max_attachments),
            rate_limit=SenderRateLimit.across_nodes(runtime.shared, config.replies_per_sender_per_hour),
            surveys=SurveyReplies(runtime.db, runtime.conversations.clock, runtime.pack.business.name))
        self.listener = (SmtpListener(self.channel, settings.listen_host, settings.listen_port,
                                      domains=(settings.address.rpartition("@")[2],),
                                      max_message_bytes=config.max_message_bytes)
                         if settings.listen_port is not None else None)
        self.poller = (ImapPoller(settings.imap, settings.imap_password, self.channel.receive,
                                  poll_seconds=config.imap_poll_seconds) if settings.imap is not None else None)
        self.staff = StaffReplyRelay(self.channel)

    async def start(self) -> None:
        if self.listener is not None:
            await self.listener.start()
        if self.poller is not None:
            self.poller.start()
        self.staff.start()

    async def stop(self) -> None:
        await self.staff.stop()
        if self.poller is not None:
            await self.poller.stop()
        if self.listener is not None:
            await self.listener.stop()

    def describe(self) -> str:
        parts = []
        if self.listener is not None:
            parts.append(f"SMTP on {self.listener.host}:{self.listener.port} for {self.settings.address}")
        if self.settings.imap is not None:
            imap = self.settings.imap
            parts.append(f"mailbox {imap.username}@{imap.host}:{imap.port}/{imap.folder}")
        relay = self.settings.relay
        if relay is not None:
            parts.append(f"replies via {relay.host}:{relay.port} ({relay.tls.value})")
        return "; ".join(parts)


__all__ = ["EmailService", "EmailSettings", "EmailSettingsError", "SmtpTls"]
