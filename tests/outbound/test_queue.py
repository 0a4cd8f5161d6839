"""The durable send queue: claimed once across nodes, retried with backoff, de-duplicated by key, opt-outs
honoured and recorded."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from helpline.outbound.ports import DeliveryResult, MessagePurpose, OutboundChannel, OutboundMessage
from helpline.outbound.queue import OutboundQueue, RetryPolicy
from helpline.outbound.runner import OutboundRunner
from helpline.store.db import Database
from helpline.store.models import OutboundMessageRecord
from tests.outbound.conftest import OptOuts, RecordingSender

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROUNDS = 20
POLICY = RetryPolicy(max_attempts=3, base=timedelta(minutes=1), factor=4, cap=timedelta(hours=1),
                     claim_timeout=timedelta(minutes=10))


def _message(to: str = "aisha.patel@example.com", channel: OutboundChannel = OutboundChannel.EMAIL) -> OutboundMessage:
    return OutboundMessage(channel=channel, to=to, text="Your order was cancelled.", purpose=MessagePurpose.RECAP,
                           subject="Your request 1042")


def _enqueue(db: Database, key: str, message: OutboundMessage | None = None) -> str | None:
    with db.session() as session:
        record = OutboundQueue(session).enqueue(message or _message(), dedupe_key=key, actor="test", now=NOW)
        return record.id if record is not None else None


def _record(db: Database, row_id: str) -> OutboundMessageRecord:
    with db.session() as session:
        record = session.get(OutboundMessageRecord, row_id)
        assert record is not None
        return record


def _claim(db: Database, node: str, now: datetime = NOW) -> list[str]:
    with db.session() as session:
        return [r.id for r in OutboundQueue(session).claim_due(now, node=node, channels=[OutboundChannel.EMAIL],
                                                               actor="test", claim_timeout=POLICY.claim_timeout)]


def test_two_workers_racing_claim_each_message_once(two_databases: tuple[Database, Database]) -> None:
    node_a, node_b = two_databases
    ids = [_enqueue(node_a, f"recap:{i}") for i in range(ROUNDS)]
    claimed: list[str] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(ROUNDS):
            barrier = threading.Barrier(2)

            def race(db: Database, node: str, barrier: threading.Barrier = barrier) -> list[str]:
                barrier.wait()
                return _claim(db, node)

            for future in [pool.submit(race, node_a, "a"), pool.submit(race, node_b, "b")]:
                claimed += future.result()
    assert sorted(claimed) == sorted(i for i in ids if i)  # every message claimed, none twice
    assert _claim(node_a, "a") == [] and _claim(node_b, "b") == []


def test_two_runners_racing_send_each_message_once(two_databases: tuple[Database, Database]) -> None:
    node_a, _ = two_databases
    for i in range(ROUNDS):
        _enqueue(node_a, f"survey:{i}", _message(to=f"customer{i}@example.com"))
    senders = [RecordingSender(), RecordingSender()]
    runners = [OutboundRunner(db, {OutboundChannel.EMAIL: sender}, OptOuts(), node=node, policy=POLICY,
                              clock=lambda: NOW) for db, sender, node in zip(two_databases, senders, "ab", strict=True)]

    def run(runner: OutboundRunner) -> None:
        for _ in range(5):
            asyncio.run(runner.run_once())

    threads = [threading.Thread(target=run, args=(runner,)) for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    delivered = [m.to for sender in senders for m in sender.sent]
    assert sorted(delivered) == sorted(f"customer{i}@example.com" for i in range(ROUNDS))
    with node_a.session() as session:
        assert OutboundQueue(session).counts()["sent"] == ROUNDS


def test_the_same_key_is_queued_once(two_databases: tuple[Database, Database]) -> None:
    node_a, node_b = two_databases
    first = _enqueue(node_a, "recap:ticket-1")
    assert first is not None
    assert _enqueue(node_b, "recap:ticket-1") is None  # another node planning the same recap: nothing added
    with node_a.session() as session:
        assert OutboundQueue(session).counts()["queued"] == 1


def test_a_failed_send_is_retried_with_growing_backoff_then_failed(two_databases: tuple[Database, Database]) -> None:
    db, _ = two_databases
    row_id = _enqueue(db, "recap:retry")
    assert row_id is not None
    refused = DeliveryResult(delivered=False, error="451 try again later")
    sender = RecordingSender(results=[refused, refused, refused])
    clock = {"now": NOW}
    runner = OutboundRunner(db, {OutboundChannel.EMAIL: sender}, OptOuts(), node="a", policy=POLICY,
                            clock=lambda: clock["now"])

    assert asyncio.run(runner.run_once()).retrying == 1
    record = _record(db, row_id)
    assert (record.status, record.attempts, record.last_error) == ("queued", 1, "451 try again later")
    assert record.next_attempt_at == NOW + timedelta(minutes=1)

    clock["now"] = NOW + timedelta(seconds=59)  # not before the backoff
    assert asyncio.run(runner.run_once()).retrying == 0 and len(sender.sent) == 1
    clock["now"] = NOW + timedelta(minutes=1)
    asyncio.run(runner.run_once())
    record = _record(db, row_id)
    assert record.attempts == 2 and record.next_attempt_at == clock["now"] + timedelta(minutes=4)  # 1 min x 4

    clock["now"] += timedelta(minutes=4)
    assert asyncio.run(runner.run_once()).failed == 1  # the third and last attempt
    assert _record(db, row_id).status == "failed"
    clock["now"] += timedelta(days=1)
    asyncio.run(runner.run_once())
    assert len(sender.sent) == 3  # never again on its own

    with db.session() as session:  # a person retries it from the console: it goes, and is sent
        assert OutboundQueue(session).retry(row_id, actor="console:test", now=clock["now"]) is not None
    assert asyncio.run(runner.run_once()).sent == 1
    assert _record(db, row_id).status == "sent" and _record(db, row_id).provider_id == "<4@test>"


def test_a_permanent_failure_is_not_retried(two_databases: tuple[Database, Database]) -> None:
    db, _ = two_databases
    row_id = _enqueue(db, "recap:bad-address")
    assert row_id is not None
    sender = RecordingSender(results=[DeliveryResult(delivered=False, error="550 no such user", permanent=True)])
    runner = OutboundRunner(db, {OutboundChannel.EMAIL: sender}, OptOuts(), node="a", policy=POLICY, clock=lambda: NOW)
    assert asyncio.run(runner.run_once()).failed == 1
    record = _record(db, row_id)
    assert (record.status, record.attempts, record.last_error) == ("failed", 1, "550 no such user")


def test_an_opted_out_address_is_blocked_and_recorded_not_sent(two_databases: tuple[Database, Database]) -> None:
    db, _ = two_databases
    blocked_id = _enqueue(db, "survey:1", _message(to="+15125550126", channel=OutboundChannel.SMS))
    allowed_id = _enqueue(db, "survey:2", _message(to="+12105550157", channel=OutboundChannel.SMS))
    assert blocked_id and allowed_id
    sender = RecordingSender(channel=OutboundChannel.SMS)
    runner = OutboundRunner(db, {OutboundChannel.SMS: sender}, OptOuts({(OutboundChannel.SMS, "+15125550126")}),
                            node="a", policy=POLICY, clock=lambda: NOW)
    report = asyncio.run(runner.run_once())
    assert (report.sent, report.blocked) == (1, 1)
    assert [m.to for m in sender.sent] == ["+12105550157"]
    record = _record(db, blocked_id)
    assert record.status == "blocked" and "opted out" in record.last_error


def test_an_abandoned_send_is_taken_over_after_the_claim_timeout(two_databases: tuple[Database, Database]) -> None:
    node_a, node_b = two_databases
    row_id = _enqueue(node_a, "recap:crash")
    assert _claim(node_a, "a") == [row_id]  # node a dies before sending
    assert _claim(node_b, "b", NOW + POLICY.claim_timeout / 2) == []
    assert _claim(node_b, "b", NOW + POLICY.claim_timeout + timedelta(seconds=1)) == [row_id]
    with node_a.session() as session:  # node a's late result no longer counts: b holds the message
        result = OutboundQueue(session).finish(row_id, DeliveryResult(delivered=True), node="a", now=NOW,
                                               policy=POLICY, actor="test")
    assert result is None and _record(node_a, row_id).status == "sending"


def test_no_sender_for_a_channel_leaves_its_messages_queued(two_databases: tuple[Database, Database]) -> None:
    db, _ = two_databases
    row_id = _enqueue(db, "reminder:1", _message(to="+15125550126", channel=OutboundChannel.SMS))
    runner = OutboundRunner(db, {OutboundChannel.EMAIL: RecordingSender()}, OptOuts(), node="a", policy=POLICY,
                            clock=lambda: NOW)
    asyncio.run(runner.run_once())
    assert row_id and _record(db, row_id).status == "queued"
