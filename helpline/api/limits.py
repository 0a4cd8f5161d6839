"""Sliding-window counters per key (a client address, an account), bounded in memory.

Each key keeps at most ``limit`` timestamps, and at most ``max_keys`` keys are kept: the least
recently used is forgotten first. So a flood of distinct keys (random addresses, made-up ids) costs a
fixed amount of memory, never more. Counters live in the server process; the account lockout that must
hold across processes is in the database (``ConsoleUserRepository``). With several nodes, the same
counters live in Redis (``RedisSlidingWindow``, same methods), so a limit holds however requests are spread.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from typing import Any, Protocol

log = logging.getLogger(__name__)

DEFAULT_MAX_KEYS = 10_000


class RateLimit(Protocol):
    """At most ``limit`` events per key in any window (in this process, or across nodes)."""

    limit: int
    window: float

    def allow(self, key: str, now: float | None = None) -> bool: ...
    def hit(self, key: str, now: float | None = None) -> None: ...
    def blocked(self, key: str, now: float | None = None) -> bool: ...
    def release(self, key: str) -> None: ...
    def retry_after(self, key: str, now: float | None = None) -> int: ...


class SlidingWindow:
    """At most ``limit`` events per key in any ``window_seconds``."""

    def __init__(self, limit: int, window_seconds: float, max_keys: int = DEFAULT_MAX_KEYS):
        if limit < 1 or window_seconds <= 0 or max_keys < 1:
            raise ValueError("limit, window and max_keys must be positive")
        self.limit = limit
        self.window = window_seconds
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._guard = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque(maxlen=self.limit)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def allow(self, key: str, now: float | None = None) -> bool:
        """Count one event for ``key`` if it is under the limit; False (nothing counted) otherwise."""
        now = time.monotonic() if now is None else now
        with self._guard:
            hits = self._recent(key, now)
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def hit(self, key: str, now: float | None = None) -> None:
        """Count one event (a failure) whatever the count already is."""
        now = time.monotonic() if now is None else now
        with self._guard:
            self._recent(key, now).append(now)

    def blocked(self, key: str, now: float | None = None) -> bool:
        """True while ``key`` has used up its events in the window (nothing is counted)."""
        now = time.monotonic() if now is None else now
        with self._guard:
            if key not in self._hits:
                return False
            return len(self._recent(key, now)) >= self.limit

    def release(self, key: str) -> None:
        """Take back the latest event of ``key`` (an attempt that turned out fine)."""
        with self._guard:
            hits = self._hits.get(key)
            if hits:
                hits.pop()

    def retry_after(self, key: str, now: float | None = None) -> int:
        """Whole seconds until ``key`` may try again (0 if it may now)."""
        now = time.monotonic() if now is None else now
        with self._guard:
            hits = self._hits.get(key)
            if not hits or len(hits) < self.limit:
                return 0
            return max(1, math.ceil(hits[0] + self.window - now))

    def __len__(self) -> int:
        return len(self._hits)


# One round trip, atomically: drop events older than the window, then count / add. Time is the Redis
# server's, so nodes whose clocks differ still share one window. Returns {allowed, count, oldest_ms, now_ms}.
_WINDOW_SCRIPT = """
local key, window_ms, limit, mode, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now_ms - window_ms)
local count = redis.call('ZCARD', key)
local allowed = 0
if mode == 'hit' or (mode == 'allow' and count < limit) then
  redis.call('ZADD', key, now_ms, member)
  redis.call('PEXPIRE', key, window_ms)
  count = count + 1
  allowed = 1
elseif mode == 'release' then
  redis.call('ZPOPMAX', key)
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {allowed, count, oldest[2] or now_ms, now_ms}
"""


class RedisSlidingWindow:
    """``SlidingWindow`` kept in Redis, shared by every node: one sorted set per key, expiring with its
    window (memory stays bounded by the keys active in the last window). ``now`` arguments are ignored:
    the Redis server's clock is the one clock. If Redis fails, this node falls back to its own counters
    (logged): a limit per node is better than refusing every customer."""

    def __init__(self, client: Any, prefix: str, limit: int, window_seconds: float):
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit and window must be positive")
        self.client = client
        self.prefix = prefix
        self.limit = limit
        self.window = window_seconds
        self.fallback = SlidingWindow(limit, window_seconds)
        self._script = client.register_script(_WINDOW_SCRIPT)

    def _run(self, key: str, mode: str) -> tuple[bool, int, float] | None:
        try:
            allowed, count, oldest_ms, now_ms = self._script(
                keys=[self.prefix + key], args=[int(self.window * 1000), self.limit, mode, secrets.token_hex(8)])
        except Exception as error:
            log.warning("Redis rate limit unavailable (%s); counting on this node only", type(error).__name__)
            return None
        retry = max(0.0, (float(oldest_ms) + self.window * 1000 - float(now_ms)) / 1000)
        return bool(allowed), int(count), retry

    def allow(self, key: str, now: float | None = None) -> bool:
        result = self._run(key, "allow")
        return self.fallback.allow(key) if result is None else result[0]

    def hit(self, key: str, now: float | None = None) -> None:
        if self._run(key, "hit") is None:
            self.fallback.hit(key)

    def blocked(self, key: str, now: float | None = None) -> bool:
        result = self._run(key, "count")
        return self.fallback.blocked(key) if result is None else result[1] >= self.limit

    def release(self, key: str) -> None:
        if self._run(key, "release") is None:
            self.fallback.release(key)

    def retry_after(self, key: str, now: float | None = None) -> int:
        result = self._run(key, "count")
        if result is None:
            return self.fallback.retry_after(key)
        _allowed, count, retry = result
        return 0 if count < self.limit else max(1, math.ceil(retry))
