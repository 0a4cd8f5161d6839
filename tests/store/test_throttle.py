"""The database adapter of verification attempt limits (issue 10, finding 2) on SQLite and PostgreSQL:
atomic counting under concurrency (threads, and processes on PostgreSQL), lockouts that double, the
audit entries, the supervisor alerts, bounded growth."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpline.conversation.attempts import record_key
from helpline.conversation.ports import ClientIdentity, ClientKind, RecordKey
from helpline.pack.models import AttemptLimits
from helpline.store.db import Database
from helpline.store.models import AuditEntry, VerificationAttempt, VerificationFailure
from helpline.store.throttle import ALERT_ENTITY, ATTEMPT_ENTITY, AttemptLimiter, key_hash, recent_alerts

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
SAMUEL = record_key(["person_name", "postcode"], {"person_name": "Samuel Rogers", "postcode": "78600"},
                    ["postcode"])
ADDRESS = ClientIdentity(ClientKind.IP, "203.0.113.7")
OTHER_ADDRESS = ClientIdentity(ClientKind.IP, "198.51.100.9")


def attempt(db: Database, limiter: AttemptLimiter, record: RecordKey, clients: Sequence[ClientIdentity],
            now: datetime = NOW, succeed: bool = False, hold: float = 0.0,
            alerts: list[str] | None = None) -> bool:
    """One verification attempt in its own transaction, as a turn makes it: True when the lookup may run."""
    with db.session() as session:
        throttle = limiter.bind(session, now, "ai:conversation:test",
                                on_alert=(lambda: alerts.append("published")) if alerts is not None else None)
        permit = throttle.check(record, clients)
        if not permit.allowed:
            return False
        time.sleep(hold)  # the lookup
        if succeed:
            throttle.record_success(permit)
        else:
            throttle.record_failure(permit, ("person_name", "postcode"))
        return True


def counter(db: Database, key: RecordKey | ClientIdentity) -> VerificationAttempt | None:
    with db.session() as session:
        return session.get(VerificationAttempt, key_hash(key))


def test_a_record_is_locked_after_its_limit_then_again_for_twice_as_long(db: Database) -> None:
    limiter = AttemptLimiter(AttemptLimits())  # 5 a record in 15 minutes; lockout 15 minutes, doubling
    assert [attempt(db, limiter, SAMUEL, [ADDRESS]) for _ in range(7)] == [True] * 5 + [False] * 2
    # another client, another conversation: still refused for this record
    assert not attempt(db, limiter, SAMUEL, [OTHER_ADDRESS], now=NOW + timedelta(minutes=14))
    # the lockout ends 15 minutes after the fifth failure
    assert attempt(db, limiter, SAMUEL, [OTHER_ADDRESS], now=NOW + timedelta(minutes=15), succeed=True)
    later = NOW + timedelta(minutes=16)
    assert [attempt(db, limiter, SAMUEL, [OTHER_ADDRESS], now=later) for _ in range(6)] == [True] * 5 + [False]
    assert not attempt(db, limiter, SAMUEL, [OTHER_ADDRESS], now=later + timedelta(minutes=29))
    assert attempt(db, limiter, SAMUEL, [OTHER_ADDRESS], now=later + timedelta(minutes=30))  # 30 = 2 x 15
    row = counter(db, SAMUEL)
    assert row is not None and row.lockouts == 2


def test_a_client_is_limited_across_records(db: Database) -> None:
    limiter = AttemptLimiter(AttemptLimits(per_client=10))
    names = [record_key(["email"], {"email": f"guess{i}@example.com"}, ()) for i in range(12)]
    assert [attempt(db, limiter, name, [ADDRESS]) for name in names] == [True] * 10 + [False] * 2
    # a refused attempt counts nothing on the record it named, and another address is not affected
    untouched = counter(db, names[11])
    assert untouched is None or untouched.attempts == 0
    assert attempt(db, limiter, names[11], [OTHER_ADDRESS])


def test_shared_keys_have_their_own_higher_limit(db: Database) -> None:
    limiter = AttemptLimiter(AttemptLimits(per_client=2, per_shared_client=4, per_record=50))
    site = ClientIdentity(ClientKind.WIDGET_KEY, "key-1")
    results = [attempt(db, limiter, SAMUEL, [ClientIdentity(ClientKind.IP, f"10.0.0.{i}"), site])
               for i in range(5)]
    assert results == [True] * 4 + [False]  # every visitor of the site counts against its key


def test_a_success_gives_its_attempt_back(db: Database) -> None:
    limiter = AttemptLimiter(AttemptLimits(per_record=2))
    assert attempt(db, limiter, SAMUEL, [ADDRESS])
    for _ in range(3):
        assert attempt(db, limiter, SAMUEL, [ADDRESS], succeed=True)
    row = counter(db, SAMUEL)
    assert row is not None and row.attempts == 1 and row.blocked_until is None


def test_failures_are_audited_masked_and_without_the_factor_guessed(db: Database) -> None:
    limiter = AttemptLimiter(AttemptLimits(per_record=2))
    for _ in range(3):
        attempt(db, limiter, SAMUEL, [ClientIdentity(ClientKind.CALLER, "+15125550126")])
    with db.session() as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.entity == ATTEMPT_ENTITY)
                                       .order_by(AuditEntry.id)))
        assert [e.detail["outcome"] for e in entries] == ["failed", "failed", "refused"]
        first = entries[0]
        assert first.actor == "ai:conversation:test" and first.entity_id == key_hash(SAMUEL)[:16]
        assert first.detail["record"] == "R… S…" and first.detail["method"] == ["person_name", "postcode"]
        assert first.detail["clients"] == ["caller •••• 0126"]
        assert entries[2].detail["refused_by"] == "record"
        stored = " ".join(str(e.detail) for e in entries) + " ".join(
            r.key_hash for r in session.scalars(select(VerificationAttempt)))
        for secret in ("78600", "Samuel", "Rogers", "samuel", "rogers", "5125550126"):
            assert secret not in stored


def test_a_lockout_alerts_the_supervisor_after_commit_only(db: Database) -> None:
    limiter = AttemptLimiter(AttemptLimits(per_record=2))
    published: list[str] = []
    attempt(db, limiter, SAMUEL, [ADDRESS], alerts=published)
    assert published == []
    with pytest.raises(RuntimeError), db.session() as session:  # a turn that rolls back alerts nobody
        throttle = limiter.bind(session, NOW, "ai:conversation:test", on_alert=lambda: published.append("x"))
        throttle.record_failure(throttle.check(SAMUEL, [ADDRESS]), ("person_name", "postcode"))
        assert throttle.alerts
        raise RuntimeError("the turn failed")
    assert published == []
    attempt(db, limiter, SAMUEL, [ADDRESS], alerts=published)
    assert published == ["published"]
    with db.session() as session:
        texts = [a.text for a in recent_alerts(session, NOW - timedelta(hours=1))]
    assert len(texts) == 1 and texts[0].startswith("Verification locked for record R… S… after 2 failed attempts")


def test_one_client_failing_on_many_records_alerts(db: Database) -> None:
    limiter = AttemptLimiter(AttemptLimits(alert_records_per_client=5))
    published: list[str] = []
    for i in range(7):
        attempt(db, limiter, record_key(["email"], {"email": f"guess{i}@example.com"}, ()), [ADDRESS],
                alerts=published)
    with db.session() as session:
        alerts = list(session.scalars(select(AuditEntry).where(AuditEntry.entity == ALERT_ENTITY)))
    assert [a.detail["alert"] for a in alerts] == ["records_from_one_client"]  # once, not on every next failure
    assert alerts[0].detail["text"] == ("Ip 203.0.113.7 failed verification on 5 different customer records "
                                        "within 15 minutes.")
    assert published == ["published"]


def test_one_record_failed_on_by_many_clients_alerts(db: Database) -> None:
    limiter = AttemptLimiter(AttemptLimits(alert_clients_per_record=3))
    for i in range(3):
        attempt(db, limiter, SAMUEL, [ClientIdentity(ClientKind.IP, f"10.0.0.{i}")])
    with db.session() as session:
        alerts = list(session.scalars(select(AuditEntry).where(AuditEntry.entity == ALERT_ENTITY)))
    assert [a.detail["alert"] for a in alerts] == ["clients_on_one_record"]
    assert "3 different clients failed verification on the record R… S…" in alerts[0].detail["text"]


def test_old_counters_and_failures_are_pruned(db: Database) -> None:
    limiter = AttemptLimiter(AttemptLimits())
    for i in range(20):
        attempt(db, limiter, record_key(["email"], {"email": f"old{i}@example.com"}, ()),
                [ClientIdentity(ClientKind.IP, f"10.1.0.{i}")])
    limiter._pruned_at = None
    attempt(db, limiter, SAMUEL, [ADDRESS], now=NOW + timedelta(days=2))
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(VerificationAttempt)) == 2  # Samuel and the address
        assert session.scalar(select(func.count()).select_from(VerificationFailure)) == 1


@pytest.mark.parametrize("guessers", [24])
def test_racing_threads_never_get_more_lookups_than_the_limit(db: Database, guessers: int) -> None:
    if db.url == "sqlite:///:memory:":
        pytest.skip("one shared connection: no concurrent transactions to race")
    limiter = AttemptLimiter(AttemptLimits())
    start = threading.Barrier(guessers)

    def guess(i: int) -> bool:
        start.wait()
        return attempt(db, limiter, SAMUEL, [ClientIdentity(ClientKind.IP, f"10.2.0.{i}")], hold=0.01)

    with ThreadPoolExecutor(guessers) as pool:
        allowed = sum(pool.map(guess, range(guessers)))
    assert allowed == 5
    with db.session() as session:
        failures = session.scalar(select(func.count()).select_from(VerificationFailure))
    assert failures == 5


def _guess_in_process(url: str, threads: int, go: float) -> int:
    """A separate server process: its own engine and connection pool, racing the other one."""
    database = Database(url)
    limiter = AttemptLimiter(AttemptLimits())
    try:
        time.sleep(max(0.0, go - time.time()))
        with ThreadPoolExecutor(threads) as pool:
            return sum(pool.map(lambda i: attempt(database, limiter, SAMUEL, [ADDRESS], hold=0.01), range(threads)))
    finally:
        database.dispose()


@pytest.mark.postgres
def test_two_processes_on_postgresql_never_get_more_lookups_than_the_limit(postgres_url: str) -> None:
    database = Database(postgres_url)
    with database.session() as session:
        session.execute(VerificationAttempt.__table__.delete())
        session.execute(VerificationFailure.__table__.delete())
    database.dispose()
    context = multiprocessing.get_context("spawn")
    go = time.time() + 6.0  # both processes start guessing together, once imported
    with context.Pool(2) as pool:
        allowed = sum(pool.starmap(_guess_in_process, [(postgres_url, 8, go), (postgres_url, 8, go)]))
    assert allowed == 5
