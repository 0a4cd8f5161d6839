"""Verification attempt limits in the database (issue 10, finding 2): the engine's VerificationThrottle port.

Each attempt is counted *before* its lookup runs, with one atomic ``INSERT … ON CONFLICT DO UPDATE …
RETURNING`` per key (the customer record, each client identity), in the turn's own transaction: on
PostgreSQL the row stays locked until the turn commits, so concurrent attempts on one key (from any
server process) get consecutive numbers and never more than the limit are looked up; SQLite serialises
writing transactions (``BEGIN IMMEDIATE``). Keys are taken in one order (by hash), so two turns never
wait on each other crosswise. A key that reaches its limit is locked out, each next lockout twice as long.
Only SHA-256 digests of the keys are stored; the audit log gets masked labels, never the factor guessed.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, event, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from helpline.conversation.ports import (
    AttemptKey,
    AttemptPermit,
    ClientIdentity,
    ClientKind,
    RecordKey,
)
from helpline.pack.expressions import mask
from helpline.pack.models import AttemptLimits
from helpline.store.models import AuditEntry, UTCDateTime, VerificationAttempt, VerificationFailure
from helpline.store.repositories import AuditLog

ATTEMPT_ENTITY = "verification"  # audit entity of each failed or refused attempt
ALERT_ENTITY = "verification_alert"  # audit entity of a supervisor alert
PRUNE_EVERY = timedelta(minutes=1)  # per process: old counters and failures are deleted at most this often
NO_CLIENT = ""  # the client hash of a failure from a conversation without client identity


def key_hash(key: AttemptKey) -> str:
    kind = "record" if isinstance(key, RecordKey) else key.kind.value
    return hashlib.sha256(f"{kind}\x1f{key.value}".encode()).hexdigest()


def client_label(client: ClientIdentity) -> str:
    """How the audit log and the console name a client: a caller's number masked, the rest as they are."""
    if client.kind is ClientKind.CALLER:
        return f"caller {mask(client.value, 'phone')}"
    return f"{client.kind.value.replace('_', ' ')} {client.value[:64]}"


@dataclass(frozen=True)
class _Counted:
    """One key of an attempt: what it is, its digest, its limit and the attempt's number on it."""

    key: AttemptKey
    digest: str
    limit: int
    number: int = 0

    @property
    def kind(self) -> str:
        return "record" if isinstance(self.key, RecordKey) else self.key.kind.value

    @property
    def label(self) -> str:
        return f"record {self.key.label}" if isinstance(self.key, RecordKey) else client_label(self.key)


@dataclass
class AttemptLimiter:
    """Made once per process from the pack's limits; binds a throttle to each turn's session."""

    limits: AttemptLimits
    _pruned_at: datetime | None = None
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def bind(self, session: Session, now: datetime, actor: str,
             on_alert: Callable[[], None] | None = None) -> DatabaseThrottle:
        return DatabaseThrottle(self, session, now, actor, on_alert)

    def limit_for(self, key: AttemptKey) -> int:
        if isinstance(key, RecordKey):
            return self.limits.per_record
        return self.limits.per_shared_client if key.shared else self.limits.per_client

    def prune_if_due(self, session: Session, now: datetime) -> None:
        """Bounded growth: counters idle for longer than the longest lockout, and failures older than the
        window, are deleted (at most once a minute per process; before any key is locked in the turn)."""
        with self._guard:
            if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
                return
            self._pruned_at = now
        limits = self.limits
        idle = now - timedelta(minutes=max(limits.window_minutes, limits.max_lockout_minutes))
        session.execute(delete(VerificationAttempt).where(
            VerificationAttempt.updated_at < idle,
            or_(VerificationAttempt.blocked_until.is_(None), VerificationAttempt.blocked_until < now)))
        session.execute(delete(VerificationFailure).where(
            VerificationFailure.at < now - timedelta(minutes=limits.window_minutes)))


class DatabaseThrottle:
    """The VerificationThrottle of one turn, in that turn's transaction."""

    def __init__(self, limiter: AttemptLimiter, session: Session, now: datetime, actor: str,
                 on_alert: Callable[[], None] | None):
        self.limiter = limiter
        self.limits = limiter.limits
        self.session = session
        self.now = now
        self.actor = actor
        self.on_alert = on_alert
        self.window = timedelta(minutes=self.limits.window_minutes)
        self.alerts: list[str] = []  # the alerts this turn raised (their texts)
        self._counted: dict[AttemptPermit, list[_Counted]] = {}

    # --- the port --------------------------------------------------------------------------------

    def check(self, record: RecordKey, clients: Sequence[ClientIdentity]) -> AttemptPermit:
        self.limiter.prune_if_due(self.session, self.now)
        keys: dict[str, _Counted] = {}
        every: list[AttemptKey] = [record, *clients]
        for key in every:
            digest = key_hash(key)
            keys.setdefault(digest, _Counted(key, digest, self.limiter.limit_for(key)))
        counted: list[_Counted] = []
        refused_by: _Counted | None = None
        for item in sorted(keys.values(), key=lambda c: c.digest):  # one order for every turn: no deadlock
            number = self._reserve(item)
            if number is None or number > item.limit:
                if number is not None:
                    self._lock(item)  # over its limit without a lockout (an attempt never reported)
                refused_by = item
                break
            counted.append(_Counted(item.key, item.digest, item.limit, number))
        permit = AttemptPermit(allowed=refused_by is None, record=record, clients=tuple(clients))
        if refused_by is not None:
            for item in counted:
                self._give_back(item)
            self._audit_attempt(permit, "refused", (), refused_by=refused_by.kind)
            return permit
        self._counted[permit] = counted
        return permit

    def record_failure(self, permit: AttemptPermit, method: Sequence[str]) -> None:
        counted = self._counted.pop(permit, [])
        if not counted:
            return
        record_digest = key_hash(permit.record)
        for client in permit.clients or (None,):
            self.session.add(VerificationFailure(at=self.now, record_hash=record_digest,
                                                 client_hash=key_hash(client) if client else NO_CLIENT))
        attempt = next((c.number for c in counted if c.digest == record_digest), 0)
        self._audit_attempt(permit, "failed", method, attempt=attempt)
        for item in counted:
            if item.number >= item.limit:
                until = self._lock(item)
                if until is not None:
                    self._alert(f"{item.kind}:{item.digest[:16]}", "locked",
                                f"Verification locked for {item.label} after {item.limit} failed attempts in "
                                f"{self.limits.window_minutes} minutes, until {until:%Y-%m-%d %H:%M} UTC.",
                                until=until.isoformat())
        self._burst_alerts(permit, record_digest)

    def record_success(self, permit: AttemptPermit) -> None:
        self.release(permit)

    def release(self, permit: AttemptPermit) -> None:
        for item in self._counted.pop(permit, []):
            self._give_back(item)

    # --- counting ------------------------------------------------------------------------------

    def _reserve(self, item: _Counted) -> int | None:
        """Count one attempt on the key; its number in the window, or None while the key is locked out."""
        table = VerificationAttempt.__table__
        now = literal(self.now, UTCDateTime())
        stale = table.c.window_start <= self.now - self.window
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).values(
            key_hash=item.digest, kind=item.kind, window_start=self.now, attempts=1, lockouts=0,
            blocked_until=None, updated_at=self.now)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.key_hash],
            set_={"attempts": case((stale, 1), else_=table.c.attempts + 1),
                  "window_start": case((stale, now), else_=table.c.window_start),
                  "updated_at": now},
            where=or_(table.c.blocked_until.is_(None), table.c.blocked_until <= now),
        ).returning(table.c.attempts)
        number: int | None = self.session.execute(statement).scalar_one_or_none()
        return number

    def _give_back(self, item: _Counted) -> None:
        self.session.execute(update(VerificationAttempt).where(
            VerificationAttempt.key_hash == item.digest, VerificationAttempt.attempts > 0,
        ).values(attempts=VerificationAttempt.attempts - 1))

    def _lock(self, item: _Counted) -> datetime | None:
        """Lock the key out (each lockout twice the last, up to the maximum); None if it already was."""
        row = self.session.execute(select(VerificationAttempt.lockouts).where(
            VerificationAttempt.key_hash == item.digest)).scalar_one_or_none()
        if row is None:
            return None
        minutes = min(self.limits.lockout_minutes * 2 ** min(row, 20), self.limits.max_lockout_minutes)
        until = self.now + timedelta(minutes=minutes)
        locked = self.session.execute(update(VerificationAttempt).where(
            VerificationAttempt.key_hash == item.digest,
            or_(VerificationAttempt.blocked_until.is_(None), VerificationAttempt.blocked_until <= self.now),
        ).values(blocked_until=until, lockouts=VerificationAttempt.lockouts + 1, attempts=0, window_start=until,
                 updated_at=self.now))
        return until if getattr(locked, "rowcount", 0) else None

    # --- audit and alerts --------------------------------------------------------------------------

    def _audit_attempt(self, permit: AttemptPermit, outcome: str, method: Sequence[str], **extra: Any) -> None:
        record = permit.record
        AuditLog(self.session).record(
            self.actor, "read", ATTEMPT_ENTITY, key_hash(record)[:16], None,
            {"outcome": outcome, "record": record.label, "record_fields": list(record.fields),
             "method": list(method), "clients": [client_label(c) for c in permit.clients], **extra},
            at=self.now)

    def _burst_alerts(self, permit: AttemptPermit, record_digest: str) -> None:
        since = self.now - self.window
        for client in permit.clients:
            digest = key_hash(client)
            records = self.session.scalar(select(func.count(func.distinct(VerificationFailure.record_hash))).where(
                VerificationFailure.client_hash == digest, VerificationFailure.at >= since)) or 0
            if records >= self.limits.alert_records_per_client:
                self._alert(f"{client.kind.value}:{digest[:16]}", "records_from_one_client",
                            f"{client_label(client).capitalize()} failed verification on {records} different "
                            f"customer records within {self.limits.window_minutes} minutes.")
        clients = self.session.scalar(select(func.count(func.distinct(VerificationFailure.client_hash))).where(
            VerificationFailure.record_hash == record_digest, VerificationFailure.client_hash != NO_CLIENT,
            VerificationFailure.at >= since)) or 0
        if clients >= self.limits.alert_clients_per_record:
            self._alert(f"record:{record_digest[:16]}", "clients_on_one_record",
                        f"{clients} different clients failed verification on the record {permit.record.label} "
                        f"within {self.limits.window_minutes} minutes.")

    def _alert(self, subject: str, kind: str, text: str, **extra: Any) -> None:
        """One alert per subject and kind within the window: an audit entry and, after commit, the live bus."""
        entity_id = f"{kind}:{subject}"
        already = self.session.scalar(select(AuditEntry.id).where(
            AuditEntry.entity == ALERT_ENTITY, AuditEntry.entity_id == entity_id,
            AuditEntry.at >= self.now - self.window).limit(1))
        if already is not None and kind != "locked":
            return
        AuditLog(self.session).record(self.actor, "create", ALERT_ENTITY, entity_id, None,
                                      {"alert": kind, "text": text, **extra}, at=self.now)
        if not self.alerts and self.on_alert is not None:
            event.listen(self.session, "after_commit", lambda _session: self._published(), once=True)
        self.alerts.append(text)

    def _published(self) -> None:
        if self.on_alert is not None:
            self.on_alert()


@dataclass(frozen=True)
class AlertView:
    at: datetime
    text: str


def recent_alerts(session: Session, since: datetime, limit: int = 10) -> list[AlertView]:
    """The newest verification alerts, for the console (reading the audit log is not itself audited)."""
    rows = session.scalars(select(AuditEntry).where(AuditEntry.entity == ALERT_ENTITY, AuditEntry.at >= since)
                           .order_by(AuditEntry.id.desc()).limit(limit))
    return [AlertView(row.at, str((row.detail or {}).get("text", ""))) for row in rows]
