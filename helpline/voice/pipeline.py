"""Processors and the pipeline that links them.

Each processor runs as its own task reading its own queue, so a slow stage (speech recognition,
synthesis) never holds up the one before it. System frames skip the queues: they are handled at once
by every processor in their direction, and an `Interruption` empties the queues it passes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from helpline.voice.frames import Direction, Frame, Interruption, SystemFrame

log = logging.getLogger(__name__)


class Processor:
    """One stage. Override `process`; call `push` to send frames on (either direction)."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self._next: Processor | None = None
        self._previous: Processor | None = None
        self._queue: asyncio.Queue[tuple[Frame, Direction]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def link(self, following: Processor) -> None:
        self._next = following
        following._previous = self

    async def process(self, frame: Frame, direction: Direction) -> None:
        """Handle one frame. The default passes everything on unchanged."""
        await self.push(frame, direction)

    async def push(self, frame: Frame, direction: Direction = Direction.DOWNSTREAM) -> None:
        target = self._next if direction is Direction.DOWNSTREAM else self._previous
        if target is not None:
            await target.receive(frame, direction)

    async def receive(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, SystemFrame):
            if isinstance(frame, Interruption):
                self._drain()
            await self._safely(frame, direction)
        else:
            self._queue.put_nowait((frame, direction))

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    async def _safely(self, frame: Frame, direction: Direction) -> None:
        try:
            await self.process(frame, direction)
        except Exception:
            # One bad frame (garbled audio, a model error) must not end the call.
            log.exception("%s failed on %s", self.name, type(frame).__name__)

    async def _run(self) -> None:
        while True:
            frame, direction = await self._queue.get()
            await self._safely(frame, direction)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"voice:{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            # wait() rather than awaiting the task: our own caller's cancellation must not be swallowed
            await asyncio.wait({task})

    async def idle(self) -> None:
        """Wait until this processor's queue is empty (for tests and orderly shutdown)."""
        while not self._queue.empty():
            await asyncio.sleep(0.005)


class Pipeline:
    """Processors linked in order; frames enter at the head (downstream) or the tail (upstream)."""

    def __init__(self, processors: Sequence[Processor]) -> None:
        if not processors:
            raise ValueError("a pipeline needs at least one processor")
        self.processors = list(processors)
        for before, after in zip(self.processors, self.processors[1:], strict=False):
            before.link(after)

    async def start(self) -> None:
        for processor in self.processors:
            await processor.start()

    async def stop(self) -> None:
        for processor in self.processors:
            await processor.stop()

    async def send(self, frame: Frame) -> None:
        await self.processors[0].receive(frame, Direction.DOWNSTREAM)

    async def send_upstream(self, frame: Frame) -> None:
        await self.processors[-1].receive(frame, Direction.UPSTREAM)

    async def idle(self) -> None:
        for _ in range(3):  # a frame may move on after a queue was seen empty
            for processor in self.processors:
                await processor.idle()
            await asyncio.sleep(0.01)
