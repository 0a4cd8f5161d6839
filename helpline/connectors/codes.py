"""One-time code delivery (the `CodeSender` port): email over SMTP, with the standard library's smtplib.

Configured from the environment (or the CLI, which sets the same variables), read by connectors/smtp_relay.py:
  HELPLINE_SMTP_RELAY       host:port (or the older HELPLINE_SMTP_HOST + HELPLINE_SMTP_PORT); no relay: no
                            sender, so step-up by code is unavailable. Port default 587 STARTTLS, 465 TLS, 25 none
  HELPLINE_SMTP_FROM        the From address (default helpline@<host>)
  HELPLINE_SMTP_USER / HELPLINE_SMTP_PASSWORD   optional login
  HELPLINE_SMTP_TLS         "starttls" (default), "tls" or "none" (loopback relays and tests only)

The code itself is never logged: failures are logged with the masked address only.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage

from helpline.connectors.smtp_relay import SmtpRelay
from helpline.pack.expressions import mask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpCodeSender:
    host: str
    port: int = 587
    sender: str = ""
    username: str | None = None
    password: str | None = None
    tls: str = "starttls"  # starttls | tls | none
    business: str = "Helpline"
    timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, business: str = "Helpline") -> SmtpCodeSender | None:
        relay = SmtpRelay.from_env(os.environ if env is None else env)  # HELPLINE_SMTP_RELAY, else HOST/PORT
        if relay is None:
            return None
        return cls(host=relay.host, port=relay.port, sender=relay.sender, username=relay.username,
                   password=relay.password, tls=relay.tls.value, business=business)

    def message(self, contact: str, code: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = contact
        message["Subject"] = f"Your {self.business} verification code"
        message.set_content(
            f"Your {self.business} verification code is {code}.\n\n"
            "Type it into the chat to confirm it's you. It expires in a few minutes.\n"
            "If you didn't ask for it, ignore this email: nobody can change your account without it.\n")
        return message

    def send(self, contact: str, code: str) -> bool:
        if "@" not in contact:
            return False  # this adapter delivers email only; an SMS adapter implements the same port
        try:
            if self.tls == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                        context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.tls == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(self.message(contact, code))
            return True
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("one-time code to %s not sent: %s", mask(contact, "email"), type(exc).__name__)
            return False
