"""Loop and noise safety: which emails get no automatic answer, and a per-sender rate limit.

Never answer an auto-reply (RFC 3834 Auto-Submitted, the vendors' X-Autoreply and X-Auto-Response-Suppress),
a bounce (empty Return-Path, MAILER-DAEMON), bulk or list mail (Precedence bulk/list/junk, List-Id,
List-Unsubscribe: Chatwoot's "replies to newsletters"), or ourselves. The rate limit catches what those
headers miss: two robots answering each other, or one sender flooding. With Redis configured (several nodes)
the count is shared, so a flood spread over the nodes' listeners and mailboxes meets one limit; else it is kept
in this process.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum

from helpline.adapters.redis_shared import SharedRedis
from helpline.api.limits import RateLimit, RedisSlidingWindow
from helpline.channels.email.parsing import InboundEmail

ROBOT_LOCAL_PARTS = ("mailer-daemon", "postmaster", "no-reply", "noreply", "do-not-reply", "donotreply", "bounce",
                     "bounces")
BULK_PRECEDENCE = ("bulk", "list", "junk", "auto_reply")
SENDER_WINDOW_SECONDS = 3600.0


class Noise(StrEnum):
    """Why an email gets no automatic answer."""

    AUTO_SUBMITTED = "auto-submitted"
    AUTO_REPLY = "auto-reply"
    BULK = "bulk or list mail"
    BOUNCE = "bounce"
    OURSELVES = "from our own address"
    ROBOT_SENDER = "from a robot address"


def noise(email: InboundEmail, own_addresses: Collection[str], envelope_sender: str | None = None) -> Noise | None:
    """The reason this email must not be answered automatically, or None when a person wrote it to us."""
    headers = email.headers
    # first: a bounce also says Auto-Submitted, and a bounce about our reply is recorded on its ticket
    if email.is_delivery_report or headers.get("return-path", "").strip() == "<>" or envelope_sender in ("", "<>"):
        return Noise.BOUNCE
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and not auto.startswith("no"):
        return Noise.AUTO_SUBMITTED
    if any(name in headers for name in ("x-autoreply", "x-autorespond", "x-autoresponder")) \
            or headers.get("x-auto-response-suppress", "").strip().lower() in ("all", "oof", "autoreply"):
        return Noise.AUTO_REPLY
    if headers.get("precedence", "").strip().lower() in BULK_PRECEDENCE \
            or "list-id" in headers or "list-unsubscribe" in headers:
        return Noise.BULK
    own = {address.lower() for address in own_addresses}
    if email.sender in own or (envelope_sender or "").lower() in own:
        return Noise.OURSELVES
    if email.sender.split("@", 1)[0] in ROBOT_LOCAL_PARTS:
        return Noise.ROBOT_SENDER
    return None


def sender_key(sender: str) -> str:
    """The key a sender is counted under in Redis: a hash, so the shared store holds no address."""
    return hashlib.sha256(sender.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]


@dataclass
class SenderRateLimit:
    """At most ``limit`` answered emails per sender per ``window_seconds``: across the nodes when ``shared`` is
    given (``across_nodes``), else in this process."""

    limit: int
    window_seconds: float = SENDER_WINDOW_SECONDS
    clock: Callable[[], float] = time.monotonic
    shared: RateLimit | None = None
    _seen: dict[str, deque[float]] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def across_nodes(cls, shared: SharedRedis | None, limit: int,
                     window_seconds: float = SENDER_WINDOW_SECONDS) -> SenderRateLimit:
        """In Redis when the nodes share one (if Redis fails, RedisSlidingWindow counts on this node), else here."""
        if shared is None:
            return cls(limit, window_seconds)
        return cls(limit, window_seconds, shared=RedisSlidingWindow(
            shared.client, shared.key("limit", "email-senders", ""), limit, window_seconds))

    def allow(self, sender: str) -> bool:
        """Count one email from ``sender``; False when over the limit (not counted then)."""
        if self.shared is not None:
            return self.shared.allow(sender_key(sender))
        now = self.clock()
        with self._guard:
            times = self._seen.setdefault(sender.lower(), deque())
            while times and now - times[0] >= self.window_seconds:
                times.popleft()
            if len(times) >= self.limit:
                return False
            times.append(now)
            if len(self._seen) > 10_000:  # forget the quiet ones so the table stays small
                for quiet in [s for s, t in self._seen.items() if not t]:
                    del self._seen[quiet]
            return True
