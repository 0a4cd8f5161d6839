"""What several Helpline nodes share through Redis (``helpline serve --redis-url``): the event bus and the
widget's message de-duplication (rate limits: ``api/limits.py: RedisSlidingWindow``).

Everything lives under one key prefix (``helpline:`` by default), so several deployments, or tests, can
share a Redis server. Redis holds no customer data here: conversation ids, event kinds, a widget's
client-generated message ids, and counters per client address (deleted when their window passes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

from helpline.application.bus import EventBus

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "helpline:"
BUS_CHANNEL = "bus"
RECONNECT_SECONDS = 1.0
IN_FLIGHT_SECONDS = 120  # a message being posted; a node that dies mid-post frees it after this
STORED_SECONDS = 24 * 3600  # a stored message's client id is remembered this long (resends come in seconds)
Claim = Literal["new", "done", "busy"]


@dataclass(frozen=True)
class SharedRedis:
    """A Redis client (thread-safe, pooled) and the key prefix of this deployment."""

    client: Any  # redis.Redis: typed loosely so the module imports without the client's stubs
    prefix: str = DEFAULT_PREFIX

    @classmethod
    def connect(cls, url: str, prefix: str = DEFAULT_PREFIX) -> SharedRedis:
        """Connect and check the server answers, so a wrong URL fails at start, not at the first chat."""
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5, health_check_interval=30)
        client.ping()
        return cls(client, prefix)

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def close(self) -> None:
        self.client.close()


class RedisEventBus(EventBus):
    """``EventBus`` across nodes: a notice is published on a Redis channel and every node (this one too)
    hands it to its own subscribers. Notices stay best-effort, as the bus promises: subscribers re-read the
    database, so a notice lost while Redis reconnects delays a live view, never loses a message. If Redis
    cannot be reached, the notice is still given to this node's own subscribers."""

    def __init__(self, shared: SharedRedis) -> None:
        super().__init__()
        self.shared = shared
        self.channel = shared.key(BUS_CHANNEL)
        self._stop = threading.Event()
        self._pubsub = self._subscribed()  # subscribed before the first publish can happen
        self._thread = threading.Thread(target=self._listen, name="redis-bus", daemon=True)
        self._thread.start()

    def _subscribed(self) -> Any:
        pubsub = self.shared.client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(self.channel)
        return pubsub

    def publish(self, conversation_id: str, kind: str = "message") -> None:
        payload = json.dumps({"conversation_id": conversation_id, "kind": kind})
        try:
            self.shared.client.publish(self.channel, payload)
        except Exception as error:  # Redis down: at least this node's live views hear of it
            log.warning("Redis publish failed (%s); notice delivered on this node only", type(error).__name__)
            super().publish(conversation_id, kind)

    def _deliver(self, message: dict[str, Any]) -> None:
        try:
            notice = json.loads(message["data"])
            conversation_id, kind = notice["conversation_id"], notice["kind"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed notice on %s", self.channel)
            return
        if isinstance(conversation_id, str) and isinstance(kind, str):
            super().publish(conversation_id, kind)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "message":
                    self._deliver(message)
            except Exception as error:
                if self._stop.is_set():
                    return
                log.warning("Redis bus connection lost (%s); reconnecting", type(error).__name__)
                self._stop.wait(RECONNECT_SECONDS)
                with contextlib.suppress(Exception):
                    self._pubsub.close()
                with contextlib.suppress(Exception):
                    self._pubsub = self._subscribed()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self._pubsub.close()


class RedisClientIds:
    """The widget's "is this message already stored?" across nodes: a resend after a reconnect may reach
    another node. One key per (conversation, client id): ``flight`` while it is being posted, ``stored``
    once it is; both expire, so the keys stay bounded."""

    def __init__(self, shared: SharedRedis) -> None:
        self.shared = shared

    def _key(self, conversation_id: str, client_id: str) -> str:
        return self.shared.key("widget-msg", conversation_id, client_id)

    def claim(self, conversation_id: str, client_id: str) -> Claim:
        key = self._key(conversation_id, client_id)
        client = self.shared.client
        if client.set(key, "flight", nx=True, ex=IN_FLIGHT_SECONDS):
            return "new"
        value = client.get(key)
        return "done" if value in (b"stored", "stored") else "busy"

    def settle(self, conversation_id: str, client_id: str, stored: bool) -> None:
        key = self._key(conversation_id, client_id)
        if stored:
            self.shared.client.set(key, "stored", ex=STORED_SECONDS)
        else:
            self.shared.client.delete(key)
