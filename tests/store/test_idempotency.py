"""Idempotency keys on each backend: one claim wins, the answer is replayed, a different request with the key is
refused, a key past its day or whose node died is taken over, and released keys run again."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from helpline.store.db import Database
from helpline.store.idempotency import (
    Claimed,
    IdempotencyKeys,
    Mismatch,
    Replay,
    Running,
    StoredAnswer,
    erase_answers_mentioning,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ANSWER = StoredAnswer(201, [("content-type", "application/json")], '{"id": "c-1"}')


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_the_first_claim_runs_and_its_retry_gets_the_same_answer(db: Database) -> None:
    clock = Clock()
    keys = IdempotencyKeys(db, clock=clock)
    assert keys.claim("key-a", "msg-1", "fp1") == Claimed()
    assert isinstance(keys.claim("key-a", "msg-1", "fp1"), Running)  # still running: not run a second time
    keys.finish("key-a", "msg-1", "fp1", ANSWER)
    clock.now += timedelta(hours=23)
    assert keys.claim("key-a", "msg-1", "fp1") == Replay(ANSWER)
    assert keys.claim("key-a", "msg-1", "other body") == Mismatch()
    assert keys.claim("key-b", "msg-1", "fp1") == Claimed()  # another API key's "msg-1" is its own


def test_a_key_past_its_day_is_new_again(db: Database) -> None:
    clock = Clock()
    keys = IdempotencyKeys(db, clock=clock, prune_every=timedelta(days=7))  # so the old row is still there
    keys.claim("key-a", "msg-1", "fp1")
    keys.finish("key-a", "msg-1", "fp1", ANSWER)
    clock.now += timedelta(hours=24, seconds=1)
    assert keys.claim("key-a", "msg-1", "another request") == Claimed()


def test_expired_keys_are_pruned(db: Database) -> None:
    clock = Clock()
    keys = IdempotencyKeys(db, clock=clock)
    keys.claim("key-a", "msg-1", "fp1")
    keys.finish("key-a", "msg-1", "fp1", ANSWER)
    keys.claim("key-a", "msg-2", "fp2")
    clock.now += timedelta(hours=12)
    keys.claim("key-a", "msg-3", "fp3")
    keys.finish("key-a", "msg-3", "fp3", ANSWER)
    clock.now += timedelta(hours=12, seconds=1)
    assert keys.prune() == 2  # msg-1 and msg-2 are past their day; msg-3 is not
    assert keys.claim("key-a", "msg-3", "fp3") == Replay(ANSWER)


def test_a_released_key_runs_again_and_a_dead_node_s_claim_is_taken_over(db: Database) -> None:
    clock = Clock()
    keys = IdempotencyKeys(db, clock=clock, hold_for=timedelta(minutes=5))
    keys.claim("key-a", "msg-1", "fp1")
    keys.release("key-a", "msg-1", "fp1")  # e.g. a 503: the retry must run
    assert keys.claim("key-a", "msg-1", "fp1") == Claimed()
    clock.now += timedelta(minutes=4)
    assert isinstance(keys.claim("key-a", "msg-1", "fp1"), Running)
    clock.now += timedelta(minutes=2)  # the node that held it is gone
    assert keys.claim("key-a", "msg-1", "fp1") == Claimed()
    assert isinstance(keys.claim("key-a", "msg-1", "fp1"), Running)  # and only one retry took it


def test_concurrent_claims_of_one_key_let_exactly_one_run(db: Database) -> None:
    if db.engine.url.database in (None, "", ":memory:"):
        pytest.skip("one in-memory connection cannot be shared by threads")
    keys = IdempotencyKeys(db)
    barrier = threading.Barrier(6)
    results: list[object] = []

    def claim() -> None:
        barrier.wait()
        results.append(keys.claim("key-a", "same", "fp"))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(r, Claimed) for r in results) == 1
    assert all(isinstance(r, Claimed | Running) for r in results)


def test_erasing_a_customer_replaces_the_answers_that_name_them(db: Database) -> None:
    keys = IdempotencyKeys(db)
    about_her = StoredAnswer(200, [("content-type", "application/json")],
                             '{"replies": ["Thanks Aisha, I sent the code to Aisha.Patel@Example.com"]}')
    about_someone_else = StoredAnswer(200, [("content-type", "application/json")], '{"replies": ["Hi Tom"]}')
    for key, answer in (("her", about_her), ("him", about_someone_else)):
        keys.claim("key-a", key, "fp")
        keys.finish("key-a", key, "fp", answer)
    with db.session() as session:
        assert erase_answers_mentioning(session, {"aisha.patel@example.com", "x"}) == 1
    replayed = keys.claim("key-a", "her", "fp")
    assert isinstance(replayed, Replay) and replayed.answer.status == 410  # still not run again
    assert "aisha" not in replayed.answer.body.lower()
    assert keys.claim("key-a", "him", "fp") == Replay(about_someone_else)
