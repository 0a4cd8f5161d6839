"""Periodic background jobs and the loop that runs them until told to stop, then drains.

Every job Helpline runs in the background (the send queue, team notices, retention, the idle sweeper) claims
its work in the database, so it is safe on any number of workers; what this module adds is the lifecycle:
each job runs on its own period on one asyncio loop; ``stop`` makes every loop take no new run, lets a run
in progress finish within ``drain_seconds`` and abandons it after that (its claim lapses and another worker
takes the work over). Blocking jobs run on daemon threads, so an abandoned one never holds the process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_DRAIN_SECONDS = 30.0


class JobObserver(Protocol):
    """Told how each run went (metrics); never raises into the loop."""

    def job_ran(self, job: str, seconds: float, failed: bool) -> None: ...


@dataclass(frozen=True)
class PeriodicJob:
    """``run`` every ``every_seconds``, the first time ``first_after_seconds`` after start."""

    name: str
    run: Callable[[], Awaitable[object]]
    every_seconds: float
    first_after_seconds: float = 1.0


async def in_daemon_thread(function: Callable[[], T]) -> T:
    """``function()`` on a daemon thread of its own: the loop stays free, and a run abandoned at shutdown does
    not keep the process alive (asyncio's default executor would be joined at exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def hand_back(result: T | None, error: BaseException | None) -> None:
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the loop closed: the run was abandoned at shutdown, nobody awaits it any more
            log.info("an abandoned background run finished after its loop closed")

    def target() -> None:
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting coroutine, which logs it
            hand_back(None, exc)
        else:
            hand_back(result, None)

    threading.Thread(target=target, name=getattr(function, "__name__", "job"), daemon=True).start()
    return await future


class JobLoop:
    """Runs ``jobs`` on the current event loop until ``stop()``; ``run()`` returns once drained."""

    def __init__(self, jobs: Sequence[PeriodicJob], *, drain_seconds: float = DEFAULT_DRAIN_SECONDS,
                 observer: JobObserver | None = None) -> None:
        self.jobs = list(jobs)
        self.drain_seconds = drain_seconds
        self.observer = observer
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.abandoned: list[str] = []  # jobs still running when the drain time was up

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        running: dict[str, bool] = {job.name: False for job in self.jobs}
        tasks = [asyncio.create_task(self._every(job, running), name=f"job:{job.name}") for job in self.jobs]
        try:
            await self._stopping.wait()
        finally:
            # No loop starts a new run now; the runs in progress get drain_seconds to finish.
            _done, pending = await asyncio.wait(tasks, timeout=self.drain_seconds) if tasks else (set(), set())
            self.abandoned = sorted(name for name, busy in running.items() if busy)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("stopped without waiting further for: %s (their claims lapse and another worker "
                            "takes the work over)", ", ".join(self.abandoned) or "?")
                await asyncio.gather(*pending, return_exceptions=True)

    def stop(self) -> None:
        """Stop taking new runs (safe from any thread, and from a signal handler)."""
        loop, stopping = self._loop, self._stopping
        if loop is None or stopping is None:
            return
        if loop.is_closed():
            return
        try:
            running_here = asyncio.get_running_loop() is loop
        except RuntimeError:
            running_here = False
        if running_here:
            stopping.set()
        else:
            loop.call_soon_threadsafe(stopping.set)

    async def _every(self, job: PeriodicJob, running: dict[str, bool]) -> None:
        assert self._stopping is not None
        wait = job.first_after_seconds
        while True:
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)
                return  # stopping: take no new run
            except TimeoutError:
                pass
            wait = job.every_seconds
            running[job.name] = True
            started = time.perf_counter()
            failed = False
            try:
                await job.run()
            except asyncio.CancelledError:
                raise
            except Exception:  # one failed run never stops the job; the next run retries
                failed = True
                log.exception("background job %s failed", job.name)
            finally:
                running[job.name] = False
            if self.observer is not None:
                self.observer.job_ran(job.name, time.perf_counter() - started, failed)
