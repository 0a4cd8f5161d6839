"""Channels without a live session (email, SMS) send what a conversation gains outside the customer's own messages —
a console person's replies, a colleague's answer relayed by the agent — by listening on the event bus, and sweep
every so often in case a notice was missed (a node that started late, a notice published on another node)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

from helpline.application.bus import EventBus

log = logging.getLogger(__name__)


class BusRelay(ABC):
    name = "relay"  # for the task's name and the log
    kinds: tuple[str, ...] = ("message",)  # the bus notices that may bring a line to send

    def __init__(self, bus: EventBus, sweep_seconds: float = 30.0) -> None:
        self.bus = bus
        self.sweep_seconds = sweep_seconds
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    def sweep(self) -> list[str]:
        """The conversations to look at when no notice came for a while (runs in a worker thread)."""

    @abstractmethod
    async def relay(self, conversation_id: str) -> int:
        """Send what this conversation has that was not sent yet; how many were sent."""

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        with self.bus.subscribe() as subscription:
            while True:
                event = await subscription.get(self.sweep_seconds)
                try:
                    if event is None:
                        targets = await asyncio.to_thread(self.sweep)
                    else:
                        targets = [event.conversation_id] if event.kind in self.kinds else []
                    for conversation_id in targets:
                        await self.relay(conversation_id)
                except Exception:  # one bad conversation must not stop the relay for the others
                    log.exception("%s failed", self.name)
