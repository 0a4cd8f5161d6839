"""The durable send queue: one row per message Helpline sends on its own (``outbound_messages``).

A message is enqueued once per de-duplication key (planning the same recap twice, on two nodes or after a
restart, is a no-op), claimed by one node at a time (``store/claims.py``: a conditional UPDATE, after
``FOR UPDATE SKIP LOCKED`` on PostgreSQL so racing nodes pass over each other's rows instead of queueing on
them), sent outside any transaction, and then marked sent, queued again with backoff, failed, or blocked by
an opt-out. A claim older than the claim timeout belongs to a node that died: it is taken over, so a message
is sent at least once (the send and the "sent" mark are not one transaction).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from helpline.outbound.ports import DeliveryResult, MessagePurpose, OutboundChannel, OutboundMessage
from helpline.store.claims import Claims
from helpline.store.models import OutboundMessageRecord, new_id
from helpline.store.repositories import AuditLog

AUDIT_ENTITY = "outbound_message"
# A message is sent by one node at a time; its status says whether it is claimed (sending), so a claim is free
# once the message is due again or its sending node died.
OUTBOUND_CLAIMS = Claims(OutboundMessageRecord, OutboundMessageRecord.id, OutboundMessageRecord.claimed_by,
                         OutboundMessageRecord.claimed_at)
MAX_ERROR_CHARS = 500


class OutboundStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how far apart a failed send is retried: base × factor^(attempt-1), capped."""

    max_attempts: int = 5
    base: timedelta = timedelta(minutes=1)
    factor: float = 4.0
    cap: timedelta = timedelta(hours=6)
    claim_timeout: timedelta = timedelta(minutes=10)  # a node sending longer than this has died

    def delay_after(self, attempts: int) -> timedelta:
        seconds = self.base.total_seconds() * self.factor ** max(attempts - 1, 0)
        return timedelta(seconds=min(seconds, self.cap.total_seconds()))


def message_of(record: OutboundMessageRecord, ticket_number: int | None = None) -> OutboundMessage:
    """The port's message for a queued row."""
    return OutboundMessage(
        channel=OutboundChannel(record.channel), to=record.to, text=record.text,
        purpose=MessagePurpose(record.purpose), subject=record.subject, html=record.html,
        headers=dict(record.headers or {}), conversation_id=record.conversation_id, ticket_number=ticket_number,
    )


class OutboundQueue:
    """The queue's reads and writes, in the caller's session (commit right after a claim)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.audit = AuditLog(session)

    # --- enqueueing ------------------------------------------------------------------------------

    def enqueue(self, message: OutboundMessage, *, dedupe_key: str, actor: str, now: datetime,
                not_before: datetime | None = None, ticket_id: str | None = None,
                customer_id: str | None = None) -> OutboundMessageRecord | None:
        """Queue ``message`` unless one with ``dedupe_key`` exists already (then None). Never raises for the
        duplicate: the unique key settles a race between nodes inside the database."""
        return self._insert(message, dedupe_key=dedupe_key, actor=actor, now=now, status=OutboundStatus.QUEUED,
                            not_before=not_before, ticket_id=ticket_id, customer_id=customer_id, reason="")

    def record_unsendable(self, message: OutboundMessage, *, dedupe_key: str, reason: str, actor: str,
                          now: datetime, ticket_id: str | None = None,
                          customer_id: str | None = None) -> OutboundMessageRecord | None:
        """Keep a message that cannot go (no address on file) as cancelled, with why: nothing is dropped
        silently, and the planner does not try it again."""
        return self._insert(message, dedupe_key=dedupe_key, actor=actor, now=now, status=OutboundStatus.CANCELLED,
                            not_before=None, ticket_id=ticket_id, customer_id=customer_id, reason=reason)

    def _insert(self, message: OutboundMessage, *, dedupe_key: str, actor: str, now: datetime, status: str,
                not_before: datetime | None, ticket_id: str | None, customer_id: str | None,
                reason: str) -> OutboundMessageRecord | None:
        row_id = new_id()
        values = {
            "id": row_id, "channel": str(message.channel), "to": message.to, "purpose": str(message.purpose),
            "subject": message.subject, "text": message.text, "html": message.html, "headers": dict(message.headers),
            "dedupe_key": dedupe_key[:200], "status": str(status), "attempts": 0,
            "next_attempt_at": not_before or now, "last_error": reason[:MAX_ERROR_CHARS],
            "conversation_id": message.conversation_id, "ticket_id": ticket_id, "customer_id": customer_id,
            "created_at": now,
        }
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        # RETURNING tells whether the row went in (the driver's rowcount is -1 for this statement on psycopg)
        statement = (insert(OutboundMessageRecord).values(**values)
                     .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OutboundMessageRecord.id))
        if self.session.execute(statement).scalar_one_or_none() is None:
            return None
        record = self.session.get(OutboundMessageRecord, row_id)
        if record is not None:
            self.audit.record(actor, "create", AUDIT_ENTITY, row_id, customer_id,
                              {"purpose": str(message.purpose), "channel": str(message.channel), "status": status,
                               "ticket_id": ticket_id}, at=now)
        return record

    def exists(self, dedupe_key: str) -> bool:
        query = select(OutboundMessageRecord.id).where(OutboundMessageRecord.dedupe_key == dedupe_key[:200])
        return self.session.scalar(query) is not None

    # --- claiming and finishing ------------------------------------------------------------------

    def claim_due(self, now: datetime, *, node: str, channels: Sequence[OutboundChannel], actor: str,
                  claim_timeout: timedelta, limit: int = 20) -> builtins.list[OutboundMessageRecord]:
        """Claim queued messages that are due on ``channels`` (and sends abandoned by a dead node) for
        ``node``: each by one conditional UPDATE, so of several nodes racing exactly one wins. Commit right
        after, so the other nodes see the claim."""
        if not channels:
            return []
        due = or_(
            (OutboundMessageRecord.status == OutboundStatus.QUEUED) & (OutboundMessageRecord.next_attempt_at <= now),
            (OutboundMessageRecord.status == OutboundStatus.SENDING) & OUTBOUND_CLAIMS.lapsed(now, claim_timeout),
        )
        query = (select(OutboundMessageRecord.id)
                 .where(due, OutboundMessageRecord.channel.in_([str(c) for c in channels]))
                 .order_by(OutboundMessageRecord.next_attempt_at).limit(max(1, min(limit, 500))))
        return OUTBOUND_CLAIMS.claim_rows(self.session, query, still=due, node=node, now=now,
                                          values={"status": OutboundStatus.SENDING}, skip_locked=True)

    def claim_queued(self, row_id: str, *, node: str, now: datetime) -> bool:
        """Claim one queued message to send it at once (a channel's relay that just queued it); False when
        another node has it already."""
        return bool(OUTBOUND_CLAIMS.claim(self.session, [row_id], still=OutboundMessageRecord.status ==
                                          OutboundStatus.QUEUED, node=node, now=now,
                                          values={"status": OutboundStatus.SENDING}))

    def _held(self, row_id: str, node: str) -> OutboundMessageRecord | None:
        """The message, if ``node`` is still sending it (None when another node took it over meanwhile)."""
        record = self.session.get(OutboundMessageRecord, row_id, populate_existing=True)
        if record is None or record.status != OutboundStatus.SENDING or not OUTBOUND_CLAIMS.held_by(record, node):
            return None
        return record

    def finish(self, row_id: str, result: DeliveryResult, *, node: str, now: datetime, policy: RetryPolicy,
               actor: str) -> OutboundMessageRecord | None:
        """Count the attempt and record its result: sent; failed for good (permanent, or out of attempts);
        else queued again after the backoff. None when another node took the message over meanwhile."""
        record = self._held(row_id, node)
        if record is None:
            return None
        record.attempts = (record.attempts or 0) + 1
        OUTBOUND_CLAIMS.release(record)
        if result.delivered:
            record.status = OutboundStatus.SENT
            record.provider_id = (result.provider_id or "")[:300] or None
            record.sent_at = now
            record.last_error = ""
        elif result.permanent or record.attempts >= policy.max_attempts:
            record.status = OutboundStatus.FAILED
            record.last_error = (result.error or "not delivered")[:MAX_ERROR_CHARS]
        else:
            record.status = OutboundStatus.QUEUED
            record.next_attempt_at = now + policy.delay_after(record.attempts)
            record.last_error = (result.error or "not delivered")[:MAX_ERROR_CHARS]
        self.session.flush()
        self.audit.record(actor, "update", AUDIT_ENTITY, record.id, record.customer_id,
                          {"status": record.status, "attempts": record.attempts}, at=now)
        return record

    def block(self, row_id: str, reason: str, *, node: str, now: datetime, actor: str) -> OutboundMessageRecord | None:
        """The customer opted out of this channel: kept as blocked, with why, never sent."""
        record = self._held(row_id, node)
        if record is None:
            return None
        record.status = OutboundStatus.BLOCKED
        record.last_error = reason[:MAX_ERROR_CHARS]
        OUTBOUND_CLAIMS.release(record)
        self.session.flush()
        self.audit.record(actor, "update", AUDIT_ENTITY, record.id, record.customer_id, {"status": record.status},
                          at=now)
        return record

    # --- people's actions ------------------------------------------------------------------------

    def cancel(self, row_id: str, *, actor: str, now: datetime) -> OutboundMessageRecord | None:
        """A queued message a person decided not to send; None if it is no longer queued."""
        result = self.session.execute(
            update(OutboundMessageRecord)
            .where(OutboundMessageRecord.id == row_id, OutboundMessageRecord.status == OutboundStatus.QUEUED)
            .values(status=OutboundStatus.CANCELLED, last_error=f"cancelled by {actor}"[:MAX_ERROR_CHARS])
            .execution_options(synchronize_session=False))
        if getattr(result, "rowcount", 0) != 1:
            return None
        record = self.session.get(OutboundMessageRecord, row_id, populate_existing=True)
        if record is not None:
            self.audit.record(actor, "update", AUDIT_ENTITY, row_id, record.customer_id, {"status": "cancelled"},
                              at=now)
        return record

    def retry(self, row_id: str, *, actor: str, now: datetime) -> OutboundMessageRecord | None:
        """Send a failed message again now (its attempts start over); None if it had not failed."""
        result = self.session.execute(
            update(OutboundMessageRecord)
            .where(OutboundMessageRecord.id == row_id, OutboundMessageRecord.status == OutboundStatus.FAILED)
            .values(status=OutboundStatus.QUEUED, attempts=0, next_attempt_at=now)
            .execution_options(synchronize_session=False))
        if getattr(result, "rowcount", 0) != 1:
            return None
        record = self.session.get(OutboundMessageRecord, row_id, populate_existing=True)
        if record is not None:
            self.audit.record(actor, "update", AUDIT_ENTITY, row_id, record.customer_id, {"status": "queued"}, at=now)
        return record

    # --- reading ---------------------------------------------------------------------------------

    def get(self, row_id: str) -> OutboundMessageRecord | None:
        return self.session.get(OutboundMessageRecord, row_id)

    def list(self, *, actor: str, status: str | None = None, ticket_id: str | None = None,
             purpose: str | None = None, limit: int = 100, offset: int = 0) -> builtins.list[OutboundMessageRecord]:
        """Newest first. Reading them is reading customer data: audited."""
        query = select(OutboundMessageRecord)
        if status is not None:
            query = query.where(OutboundMessageRecord.status == OutboundStatus(status))
        if ticket_id is not None:
            query = query.where(OutboundMessageRecord.ticket_id == ticket_id)
        if purpose is not None:
            query = query.where(OutboundMessageRecord.purpose == MessagePurpose(purpose))
        query = (query.order_by(OutboundMessageRecord.created_at.desc(), OutboundMessageRecord.id)
                 .limit(max(1, min(limit, 500))).offset(max(offset, 0)))
        found = builtins.list(self.session.scalars(query))
        self.audit.record(actor, "read", AUDIT_ENTITY, "*", None, {"ids": [m.id for m in found]})
        return found

    def counts(self) -> dict[str, int]:
        """How many messages are in each status (every status present, zero or not)."""
        rows = self.session.execute(select(OutboundMessageRecord.status, func.count())
                                    .group_by(OutboundMessageRecord.status))
        found = {str(status): int(count) for status, count in rows}
        return {str(status): found.get(str(status), 0) for status in OutboundStatus}

    def sent_to(self, channel: OutboundChannel, address: str, purpose: MessagePurpose,
                since: datetime) -> builtins.list[OutboundMessageRecord]:
        """Messages of ``purpose`` sent to ``address`` since ``since``, newest first (a survey's answer is
        matched to the latest survey sent to whoever answered)."""
        query = (select(OutboundMessageRecord)
                 .where(OutboundMessageRecord.channel == str(channel), OutboundMessageRecord.to == address,
                        OutboundMessageRecord.purpose == str(purpose),
                        OutboundMessageRecord.status == OutboundStatus.SENT, OutboundMessageRecord.sent_at >= since)
                 .order_by(OutboundMessageRecord.sent_at.desc()))
        return builtins.list(self.session.scalars(query))
