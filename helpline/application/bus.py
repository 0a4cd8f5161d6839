"""In-process publish/subscribe of "this conversation changed" notices, for live views and the widget.

The notice carries only the conversation id and what kind of change happened: subscribers read the
new messages from the database (after the last ``seq`` they have shown), so a notice that is missed,
repeated or reordered can never lose or duplicate a message. Publishing happens after the turn's
transaction commits, from any thread; each subscriber is an asyncio queue on its own event loop.
With several server processes ``adapters/redis_shared.py: RedisEventBus`` carries the notices.

Notices that concern no conversation (the business pack was edited in the console: ``PACK_CHANGED``) go
to *listeners* instead: plain callables run on the publishing thread, or on the Redis listener's thread,
on every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)

QUEUE_LIMIT = 1000
PACK_CHANGED = "pack_changed"  # a node saved the pack's settings or replies; its id rides as conversation_id


@dataclass(frozen=True)
class ConversationChanged:
    conversation_id: str
    kind: str  # "message", "typing", "takeover", "handback", "ended", "started", "whisper"


class Subscription:
    def __init__(self, loop: asyncio.AbstractEventLoop, conversation_id: str | None):
        self.loop = loop
        self.conversation_id = conversation_id  # None: every conversation (the console's live list)
        self.queue: asyncio.Queue[ConversationChanged] = asyncio.Queue(QUEUE_LIMIT)

    def _offer(self, event: ConversationChanged) -> None:
        # A slow reader loses notices, never messages: it re-reads the transcript on the next one.
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(event)

    async def get(self, timeout: float) -> ConversationChanged | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class EventBus:
    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._listeners: dict[str, list[Callable[[ConversationChanged], None]]] = {}
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def subscribe(self, conversation_id: str | None = None) -> Iterator[Subscription]:
        """Call from a coroutine: notices arrive on the running loop's queue."""
        subscription = Subscription(asyncio.get_running_loop(), conversation_id)
        with self._guard:
            self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            with self._guard:
                self._subscriptions.discard(subscription)

    def listen(self, kind: str, listener: Callable[[ConversationChanged], None]) -> None:
        """Call ``listener`` with every notice of ``kind`` (for the process's lifetime)."""
        with self._guard:
            self._listeners.setdefault(kind, []).append(listener)

    def publish(self, conversation_id: str, kind: str = "message") -> None:
        event = ConversationChanged(conversation_id, kind)
        with self._guard:
            listeners = list(self._listeners.get(kind, ()))
            targets = [] if kind == PACK_CHANGED else \
                [s for s in self._subscriptions if s.conversation_id in (None, conversation_id)]
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # one failing listener must not stop the notice reaching the others
                log.exception("listener for %s notices failed", kind)
        for subscription in targets:
            with contextlib.suppress(RuntimeError):  # the subscriber's loop has closed
                subscription.loop.call_soon_threadsafe(subscription._offer, event)

    @property
    def subscriber_count(self) -> int:
        with self._guard:
            return len(self._subscriptions)
