"""The outbound SMTP relay, read once from the environment: one-time codes (connectors/codes.py) and the email
channel's replies (channels/email/sender.py) go through the same relay.

  HELPLINE_SMTP_RELAY       host:port (`helpline serve --smtp-relay`); else the older pair
  HELPLINE_SMTP_HOST / HELPLINE_SMTP_PORT
  HELPLINE_SMTP_TLS         "starttls" (default), "tls" (implicit, 465) or "none" (loopback relays and tests only)
  HELPLINE_SMTP_FROM        the From address (default helpline@<host>)
  HELPLINE_SMTP_USER / HELPLINE_SMTP_PASSWORD   optional login
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

RELAY_ENV = "HELPLINE_SMTP_RELAY"
HOST_ENV = "HELPLINE_SMTP_HOST"
PORT_ENV = "HELPLINE_SMTP_PORT"
TLS_ENV = "HELPLINE_SMTP_TLS"
FROM_ENV = "HELPLINE_SMTP_FROM"
USER_ENV = "HELPLINE_SMTP_USER"
PASSWORD_ENV = "HELPLINE_SMTP_PASSWORD"


class SmtpTls(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


DEFAULT_PORTS = {SmtpTls.STARTTLS: 587, SmtpTls.TLS: 465, SmtpTls.NONE: 25}


def parse_host_port(text: str, default_port: int | None = None) -> tuple[str, int]:
    """"mail.example.com:587" (or "[::1]:25") -> (host, port); ValueError naming the problem."""
    text = text.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        if default_port is None:
            raise ValueError(f"{text!r} is not HOST:PORT")
        host, port_text = text, str(default_port)
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT (a port from 1 to 65535)")
    return host, int(port_text)


@dataclass(frozen=True)
class SmtpRelay:
    host: str
    port: int
    tls: SmtpTls = SmtpTls.STARTTLS
    sender: str = ""  # the From address of what is sent through it
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpRelay | None:
        """The relay from the environment, or None when none is set; ValueError for a bad setting."""
        env = os.environ if env is None else env
        tls_text = env.get(TLS_ENV, "").strip().lower() or SmtpTls.STARTTLS.value
        if tls_text not in {t.value for t in SmtpTls}:
            raise ValueError(f"{TLS_ENV} must be starttls, tls or none")
        tls = SmtpTls(tls_text)
        relay = env.get(RELAY_ENV, "").strip()
        if relay:
            host, port = parse_host_port(relay, DEFAULT_PORTS[tls])
        else:
            host = env.get(HOST_ENV, "").strip()
            if not host:
                return None
            port = int(env.get(PORT_ENV) or DEFAULT_PORTS[tls])
        return cls(host=host, port=port, tls=tls, sender=env.get(FROM_ENV) or f"helpline@{host}",
                   username=env.get(USER_ENV) or None, password=env.get(PASSWORD_ENV) or None)
