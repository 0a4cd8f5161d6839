"""A shared counter double for the failed-authentication limits of the API and the SMS webhooks."""

from __future__ import annotations

from typing import Any

from helpline.api.limits import SlidingWindow


class CountingCounter:
    """A shared counter that notes every call made to it (each would be a Redis round trip)."""

    def __init__(self, inner: SlidingWindow) -> None:
        self.inner = inner
        self.limit, self.window = inner.limit, inner.window
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)
        return counted
