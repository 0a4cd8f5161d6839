"""A circuit breaker: a model that keeps failing is not called again until a cool-down has passed.

Without it every turn would wait for a full timeout (seconds) against a dead or overloaded server before
falling back to the embedded understanding; with it, once the breaker is open a turn costs ~0 ms.

    closed     calls go through; `failure_threshold` consecutive failures open the breaker
    open       calls are refused at once; after `cooldown_s` the next caller becomes the probe (half-open)
    half-open  exactly one call (the probe) goes through, every other caller is refused; the probe's success
               closes the breaker, its failure opens it for another cool-down

Thread-safe. The clock is injected so tests move time instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 5, cooldown_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cooldown_s < 0:
            raise ValueError("cooldown_s must not be negative")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        """The state as a caller would find it now (an open breaker whose cool-down is over reads half-open)."""
        with self._lock:
            if self._state is BreakerState.OPEN and self._cooled_down():
                return BreakerState.HALF_OPEN
            return self._state

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._consecutive_failures

    def seconds_until_probe(self) -> float:
        """How long an open breaker still refuses calls (0 when closed or ready for a probe)."""
        with self._lock:
            if self._state is not BreakerState.OPEN:
                return 0.0
            return max(0.0, self._opened_at + self.cooldown_s - self._clock())

    def allow(self) -> bool:
        """May a call go through now? A True in half-open makes the caller the probe: it must report back
        with `record_success` or `record_failure`."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.OPEN:
                if not self._cooled_down():
                    return False
                self._state = BreakerState.HALF_OPEN
                self._probe_in_flight = False
            if self._probe_in_flight:
                return False
            self._probe_in_flight = True
            return True

    def record_success(self) -> None:
        with self._lock:
            self._state = BreakerState.CLOSED
            self._consecutive_failures = 0
            self._probe_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._consecutive_failures += 1
            if self._state is BreakerState.HALF_OPEN or self._consecutive_failures >= self.failure_threshold:
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
                self._probe_in_flight = False

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self.cooldown_s

    def __repr__(self) -> str:
        return f"CircuitBreaker(state={self.state}, failures={self.consecutive_failures}/{self.failure_threshold})"
