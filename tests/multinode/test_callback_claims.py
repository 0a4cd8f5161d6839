"""A due callback is dialled by one node only: claimed in the database, attempts kept across restarts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from helpline.store.db import Database
from helpline.store.repositories import CallbackRepository

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
RETRY = timedelta(minutes=10)
TIMEOUT = timedelta(hours=1)
ROUNDS = 20


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_databases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[Database, Database]]:
    """Two Database handles (two pools, as two nodes have) on one migrated database."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_schema")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('claims') / 'helpline.db'}"
    first = Database(url)
    first.migrate()
    second = Database(url)
    yield first, second
    first.dispose()
    second.dispose()


def _schedule(db: Database, count: int) -> list[str]:
    with db.session() as session:
        repo = CallbackRepository(session)
        return [repo.schedule(actor="test", due_at=NOW - timedelta(minutes=1), reason="order",
                              phone="+13125550123", now=NOW).id for _ in range(count)]


def _claim(db: Database, node: str, now: datetime = NOW) -> list[str]:
    with db.session() as session:
        return [c.id for c in CallbackRepository(session).claim_due(now, node=node, retry_after=RETRY,
                                                                    claim_timeout=TIMEOUT, actor="test")]


def test_two_claimers_racing_claim_each_due_callback_once(two_databases: tuple[Database, Database]) -> None:
    node_a, node_b = two_databases
    ids = _schedule(node_a, ROUNDS)
    claimed: list[str] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(ROUNDS):
            barrier = threading.Barrier(2)

            def race(db: Database, node: str, barrier: threading.Barrier = barrier) -> list[str]:
                barrier.wait()
                return _claim(db, node)

            for future in [pool.submit(race, node_a, "a"), pool.submit(race, node_b, "b")]:
                claimed += future.result()
    assert sorted(claimed) == sorted(ids)  # every callback claimed, none twice
    assert _claim(node_a, "a") == [] and _claim(node_b, "b") == []


def test_attempts_are_kept_and_an_abandoned_claim_is_taken_over(two_databases: tuple[Database, Database]) -> None:
    node_a, node_b = two_databases
    [callback_id] = _schedule(node_a, 1)
    assert _claim(node_a, "a") == [callback_id]
    with node_a.session() as session:  # one attempt made (the line was busy): claim released
        assert CallbackRepository(session).finish_attempt(callback_id, node="a", now=NOW).attempts == 1
    assert _claim(node_b, "b") == []  # not again before the retry interval
    later = NOW + RETRY
    assert _claim(node_b, "b", later) == [callback_id]
    # node b dies mid-call: nobody else dials it while its claim is fresh, then node a takes it over
    assert _claim(node_a, "a", later + TIMEOUT / 2) == []
    assert _claim(node_a, "a", later + TIMEOUT + timedelta(seconds=1)) == [callback_id]
    restarted = Database(node_a.url)  # a restarted node reads the count from the database
    try:
        with restarted.session() as session:
            repo = CallbackRepository(session)
            assert repo.finish_attempt(callback_id, node="a", now=later + TIMEOUT).attempts == 2
    finally:
        restarted.dispose()
