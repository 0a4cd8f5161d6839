"""The job loop's lifecycle: periodic runs, a failed run not stopping the job, and stopping that lets the run in
progress finish but waits no longer than the drain time."""

from __future__ import annotations

import asyncio
import threading
import time

from helpline.ops.jobs import JobLoop, PeriodicJob, in_daemon_thread


class Runs:
    def __init__(self) -> None:
        self.ran: list[str] = []
        self.outcomes: list[tuple[str, bool]] = []

    def job_ran(self, job: str, seconds: float, failed: bool) -> None:
        self.outcomes.append((job, failed))


def test_jobs_run_on_their_period_and_a_failure_does_not_stop_them() -> None:
    runs = Runs()
    calls = {"flaky": 0}

    async def steady() -> None:
        runs.ran.append("steady")

    async def flaky() -> None:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise RuntimeError("the first run fails")
        runs.ran.append("flaky")

    async def scenario() -> None:
        loop = JobLoop([PeriodicJob("steady", steady, 0.05, 0.0), PeriodicJob("flaky", flaky, 0.05, 0.0)],
                       observer=runs)
        running = asyncio.create_task(loop.run())
        await asyncio.sleep(0.4)
        loop.stop()
        await asyncio.wait_for(running, 5)

    asyncio.run(scenario())
    assert runs.ran.count("steady") >= 3 and runs.ran.count("flaky") >= 2
    assert ("flaky", True) in runs.outcomes and ("flaky", False) in runs.outcomes


def test_stopping_lets_the_current_run_finish_and_starts_no_new_one() -> None:
    finished: list[float] = []
    started = threading.Event()

    def slow_database_work() -> None:
        started.set()
        time.sleep(0.6)
        finished.append(time.monotonic())

    async def job() -> None:
        await in_daemon_thread(slow_database_work)

    async def scenario() -> float:
        loop = JobLoop([PeriodicJob("slow", job, 0.01, 0.0)], drain_seconds=5)
        running = asyncio.create_task(loop.run())
        while not started.is_set():
            await asyncio.sleep(0.01)
        loop.stop()
        await asyncio.wait_for(running, 5)
        assert loop.abandoned == []
        return time.monotonic()

    returned = asyncio.run(scenario())
    assert len(finished) == 1  # the run in progress finished; no new one started after stop()
    assert returned >= finished[0]


def test_a_run_longer_than_the_drain_time_is_abandoned_within_it() -> None:
    release = threading.Event()

    async def stuck() -> None:
        await in_daemon_thread(lambda: release.wait(30))

    async def scenario() -> tuple[float, list[str]]:
        loop = JobLoop([PeriodicJob("stuck", stuck, 1.0, 0.0)], drain_seconds=0.3)
        running = asyncio.create_task(loop.run())
        await asyncio.sleep(0.1)
        began = time.monotonic()
        loop.stop()
        await asyncio.wait_for(running, 5)
        return time.monotonic() - began, loop.abandoned

    took, abandoned = asyncio.run(scenario())
    release.set()
    assert abandoned == ["stuck"]
    assert took < 2.0  # bounded by the drain time, not by the job
