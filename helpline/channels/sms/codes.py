"""One-time codes by SMS (the engine's `CodeSender` port, conversation/ports.py), and a sender that tries
several (email first, then SMS: each declines contacts it cannot reach)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from helpline.application.opt_outs import normalise_address
from helpline.conversation.ports import CodeSender
from helpline.outbound.ports import DeliveryResult, MessagePurpose, MessageSender, OutboundChannel, OutboundMessage

T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to completion from synchronous code: on this thread when no event loop runs here (the
    engine's turn runs in a worker thread), else on a thread of its own (never blocking a running loop's
    thread on itself)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass(frozen=True)
class SmsCodeSender:
    sender: MessageSender
    business: str = "Helpline"

    def text(self, code: str) -> str:
        return (f"{self.business}: your verification code is {code}. It expires in a few minutes. "
                "Don't share it with anyone.")

    def send(self, contact: str, code: str) -> bool:
        if "@" in contact or not contact.strip():
            return False  # an email address: the email sender's
        message = OutboundMessage(OutboundChannel.SMS, normalise_address(OutboundChannel.SMS, contact),
                                  self.text(code), purpose=MessagePurpose.VERIFICATION_CODE)
        result: DeliveryResult = run_coroutine(self.sender.send(message))
        return result.delivered


@dataclass(frozen=True)
class CodeSenders:
    """The first of `senders` that delivers the code wins."""

    senders: Sequence[CodeSender]

    def send(self, contact: str, code: str) -> bool:
        return any(sender.send(contact, code) for sender in self.senders)

    def without(self, kind: type) -> list[CodeSender]:
        return [sender for sender in self.senders if not isinstance(sender, kind)]
