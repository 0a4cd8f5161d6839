"""In-process publish/subscribe of "this conversation changed" notices, for live views and the widget.

The notice carries only the conversation id and what kind of change happened: subscribers read the
new messages from the database (after the last ``seq`` they have shown), so a notice that is missed,
repeated or reordered can never lose or duplicate a message. Publishing happens after the turn's
transaction commits, from any thread; each subscriber is an asyncio queue on its own event loop.
With several server processes this would be Redis or PostgreSQL LISTEN/NOTIFY behind the same API.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

QUEUE_LIMIT = 1000


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

    def publish(self, conversation_id: str, kind: str = "message") -> None:
        event = ConversationChanged(conversation_id, kind)
        with self._guard:
            targets = [s for s in self._subscriptions if s.conversation_id in (None, conversation_id)]
        for subscription in targets:
            with contextlib.suppress(RuntimeError):  # the subscriber's loop has closed
                subscription.loop.call_soon_threadsafe(subscription._offer, event)

    @property
    def subscriber_count(self) -> int:
        with self._guard:
            return len(self._subscriptions)
