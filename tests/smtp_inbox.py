"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives: one-time codes in tests are read
from the email the agent actually sent, as a customer would."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from helpline.connectors.codes import SmtpCodeSender


@dataclass
class Received:
    to: list[str]
    message: Message

    @property
    def body(self) -> str:
        payload = self.message.get_payload(decode=True)
        return payload.decode() if isinstance(payload, bytes) else str(self.message.get_payload())


@dataclass
class Inbox:
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the aiosmtpd hook
        with self.lock:
            self.messages.append(Received(list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def last_code(self, to: str | None = None) -> str:
        with self.lock:
            mail = [m for m in self.messages if to is None or to in m.to]
        assert mail, f"no email received{' for ' + to if to else ''}"
        found = re.search(r"\b(\d{6})\b", mail[-1].body)
        assert found, f"no code in {mail[-1].body!r}"
        return found.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpTestServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpTestServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def sender(self) -> SmtpCodeSender:
        return SmtpCodeSender(host="127.0.0.1", port=self.port, sender="helpline@test.invalid", tls="none",
                              business="Brightbean")
