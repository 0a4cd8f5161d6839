"""Idempotency keys in the database, so a retried API request is answered once whichever node it reaches.

A request carrying a key is *claimed* first: one atomic ``INSERT … ON CONFLICT DO NOTHING`` on (scope, key),
committed at once, so of two concurrent requests with one key exactly one runs; the other finds the row. The row
is ``running`` (held until ``locked_until``) while its request runs, then ``done`` with the answer it got, kept
until ``expires_at`` (24 h). A request that ended without an answer worth keeping (a server error, "busy, try
again") is *released*: the row goes, and a retry runs afresh. A node that died mid-request leaves its row
``running``: once the hold has passed, a retry takes the row over and runs (it cannot know whether the first
attempt got as far as its effect; the hold is long enough that a live request is never run twice).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from helpline.store.db import Database
from helpline.store.models import IdempotencyRecord, utcnow

KEEP_FOR = timedelta(hours=24)  # the draft's and Stripe's: a day to retry in
HOLD_FOR = timedelta(minutes=5)  # longer than any request runs (a slow local model's turn included)
RETRY_AFTER_AT_MOST = 5  # seconds a concurrent duplicate is told to wait before asking again
PRUNE_EVERY = timedelta(minutes=10)  # per process: expired keys are deleted at most this often, on a claim


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    headers: Sequence[tuple[str, str]]
    body: str  # UTF-8 text (the API answers JSON); an answer that is not text is not kept


@dataclass(frozen=True)
class Claimed:
    """This request runs: finish the claim with its answer, or release it."""


@dataclass(frozen=True)
class Replay:
    """The key was used for this very request, which was answered: give that answer again."""

    answer: StoredAnswer


@dataclass(frozen=True)
class Mismatch:
    """The key was used for a different request (another body, or another endpoint)."""


@dataclass(frozen=True)
class Running:
    """The first request with the key is still running."""

    retry_after_seconds: int


Claim = Claimed | Replay | Mismatch | Running


class IdempotencyKeys:
    """Claims, answers and releases of idempotency keys, per scope (the API key that sent them)."""

    def __init__(self, db: Database, *, keep_for: timedelta = KEEP_FOR, hold_for: timedelta = HOLD_FOR,
                 prune_every: timedelta = PRUNE_EVERY, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.keep_for = keep_for
        self.hold_for = hold_for
        self.prune_every = prune_every
        self.clock = clock
        self._pruned_at: datetime | None = None
        self._prune_guard = threading.Lock()

    def claim(self, scope: str, key: str, fingerprint: str) -> Claim:
        now = self.clock()
        self._prune_now_and_then(now)
        fresh = {"fingerprint": fingerprint, "state": "running", "locked_until": now + self.hold_for,
                 "status_code": None, "response_headers": None, "response_body": None, "created_at": now,
                 "expires_at": now + self.keep_for}
        with self.db.session() as session:
            if _insert(session, scope, key, fresh):
                return Claimed()
            row = session.scalars(select(IdempotencyRecord).where(IdempotencyRecord.scope == scope,
                                                                  IdempotencyRecord.key == key)).one_or_none()
            if row is None:  # pruned between the two statements: as good as never used
                return Claimed() if _insert(session, scope, key, fresh) else Running(1)
            if row.expires_at <= now:
                return self._take_over(session, scope, key, fresh, now)
            if row.fingerprint != fingerprint:
                return Mismatch()
            if row.state == "done" and row.status_code is not None:
                headers = [(str(name), str(value)) for name, value in row.response_headers or []]
                return Replay(StoredAnswer(row.status_code, headers, row.response_body or ""))
            if row.locked_until is not None and row.locked_until <= now:
                return self._take_over(session, scope, key, fresh, now)
            held = ((row.locked_until or now) - now).total_seconds()
            return Running(min(RETRY_AFTER_AT_MOST, max(1, math.ceil(held))))

    @staticmethod
    def _take_over(session: Session, scope: str, key: str, fresh: dict[str, Any], now: datetime) -> Claim:
        """Reclaim an expired key, or one whose node died; of several requests doing so, one wins."""
        record = IdempotencyRecord
        stale = or_(record.expires_at <= now, and_(record.state == "running", record.locked_until <= now))
        taken = session.execute(update(record).where(record.scope == scope, record.key == key, stale)
                                .values(**fresh).execution_options(synchronize_session=False))
        return Claimed() if _rows(taken) == 1 else Running(1)

    def finish(self, scope: str, key: str, fingerprint: str, answer: StoredAnswer) -> None:
        """Keep the answer of a claimed request, for its retries."""
        record = IdempotencyRecord
        with self.db.session() as session:
            session.execute(update(record).where(record.scope == scope, record.key == key,
                                                 record.fingerprint == fingerprint, record.state == "running")
                            .values(state="done", locked_until=None, status_code=answer.status,
                                    response_headers=[list(h) for h in answer.headers], response_body=answer.body)
                            .execution_options(synchronize_session=False))

    def release(self, scope: str, key: str, fingerprint: str) -> None:
        """Forget a claimed request that got no answer worth keeping: a retry with the key runs afresh."""
        record = IdempotencyRecord
        with self.db.session() as session:
            session.execute(delete(record).where(record.scope == scope, record.key == key,
                                                 record.fingerprint == fingerprint, record.state == "running")
                            .execution_options(synchronize_session=False))

    def prune(self, now: datetime | None = None) -> int:
        """Delete the keys past their day; how many went."""
        with self.db.session() as session:
            gone = session.execute(delete(IdempotencyRecord)
                                   .where(IdempotencyRecord.expires_at <= (now or self.clock()))
                                   .execution_options(synchronize_session=False))
            return _rows(gone)

    def _prune_now_and_then(self, now: datetime) -> None:
        with self._prune_guard:
            if self._pruned_at is not None and now - self._pruned_at < self.prune_every:
                return
            self._pruned_at = now
        self.prune(now)


ERASED_STATUS = 410
ERASED_BODY = json.dumps({"error": {
    "code": "gone", "message": "this answer was erased with a customer's personal data; the request was done"}})


def erase_answers_mentioning(session: Session, needles: Collection[str]) -> int:
    """A customer's erasure reaches the answers kept for retries: each one holding any of ``needles`` (their
    contact details, names, ids of their conversations and tickets; case aside) is replaced by a 410 saying so.
    The key stays taken, so a retry still does not run the request again. How many were replaced."""
    wanted = sorted({n.lower() for n in needles if n and len(n) >= 3})
    if not wanted:
        return 0
    record = IdempotencyRecord
    mentions = or_(*(func.lower(record.response_body).contains(n, autoescape=True) for n in wanted))
    erased = session.execute(update(record).where(record.state == "done", mentions)
                             .values(status_code=ERASED_STATUS, response_body=ERASED_BODY,
                                     response_headers=[["content-type", "application/json"]])
                             .execution_options(synchronize_session=False))
    return _rows(erased)


def _insert(session: Session, scope: str, key: str, values: dict[str, Any]) -> bool:
    """Insert the key's row unless it exists (atomically, on either backend); True if this call inserted it."""
    table = IdempotencyRecord.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT run through the ORM session
    inserted = session.execute(dialect.insert(table).values(scope=scope, key=key, **values)
                               .on_conflict_do_nothing(index_elements=[table.c.scope, table.c.key])
                               .returning(table.c.key))
    return inserted.first() is not None


def _rows(result: Any) -> int:
    count: int = result.rowcount
    return count
