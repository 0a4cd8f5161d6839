"""Sliding-window counters per key (a client address, an account), bounded in memory.

Each key keeps at most ``limit`` timestamps, and at most ``max_keys`` keys are kept: the least
recently used is forgotten first. So a flood of distinct keys (random addresses, made-up ids) costs a
fixed amount of memory, never more. Counters live in the server process; the account lockout that must
hold across processes is in the database (``ConsoleUserRepository``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque

DEFAULT_MAX_KEYS = 10_000


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
