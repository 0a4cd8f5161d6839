"""One turn at a time per conversation: within a process, and across processes on one database.

Two customers' turns never wait for each other; two turns on the *same* conversation (a resend after a
reconnect, a staff reply racing the customer, or posts reaching two server processes behind a load
balancer) run one after the other, each on the state the previous one stored. Nothing is refused for
being concurrent: a turn waits its turn, boundedly, and only a wait longer than that bound ends in
``ConversationBusy`` ("busy, retry shortly": HTTP 503 with Retry-After, the widget's ``slow_down``),
after which the client sends the same message again.

- In one process an in-process lock per conversation is the fast path (no database round trip to wait).
- Across processes the turn's transaction locks the conversation row first: ``SELECT … FOR UPDATE`` on
  PostgreSQL, under a ``lock_timeout`` so the wait is bounded. Everything the turn reads after that
  (the stored state, the last messages) is what the previous turn committed (READ COMMITTED reads
  each statement's latest committed data).
- SQLite has a single writer anyway: a turn's transaction is ``BEGIN IMMEDIATE`` (store/db.py), bounded
  by the busy timeout; SQLite deployments are one node.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from helpline.store.db import Database
from helpline.store.models import Conversation

# How long a turn waits for the one before it on the same conversation. A turn with a language model
# may take several seconds; a customer who waits longer than this is told to retry (and the client does).
TURN_WAIT_SECONDS = 20.0
BUSY_RETRY_AFTER_SECONDS = 2
# PostgreSQL error codes that mean "someone else holds it": lock_timeout, deadlock, serialisation failure.
_BUSY_SQLSTATES = {"55P03", "40P01", "40001"}


class ConversationBusy(RuntimeError):
    """Another turn held the conversation for longer than the bounded wait: send the message again shortly."""

    retry_after = BUSY_RETRY_AFTER_SECONDS


def is_busy_error(error: BaseException) -> bool:
    """Whether a database error is contention (a lock not granted in time), not a fault."""
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    message = str(original or error).lower()
    return "database is locked" in message or "database table is locked" in message


@dataclass
class _LockEntry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


class ConversationLocks:
    """One in-process lock per conversation *in use*: an entry lives only while a call holds or waits for
    it, so the map never grows with the number of ids ever seen (made-up ones included)."""

    def __init__(self, wait_seconds: float = TURN_WAIT_SECONDS) -> None:
        self.wait_seconds = wait_seconds
        self._locks: dict[str, _LockEntry] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, conversation_id: str) -> Iterator[None]:
        with self._guard:
            entry = self._locks.get(conversation_id)
            if entry is None:
                entry = self._locks[conversation_id] = _LockEntry()
            entry.users += 1
        try:
            if not entry.lock.acquire(timeout=self.wait_seconds):
                raise ConversationBusy(conversation_id)
            try:
                yield
            finally:
                entry.lock.release()
        finally:
            with self._guard:
                entry.users -= 1
                if entry.users == 0:
                    del self._locks[conversation_id]

    def __len__(self) -> int:
        with self._guard:
            return len(self._locks)


@contextmanager
def conversation_transaction(db: Database, conversation_id: str,
                             wait_seconds: float = TURN_WAIT_SECONDS) -> Iterator[Session]:
    """A transaction in which this process alone, among all processes on the database, changes the
    conversation: its row is locked before anything is read. Lock waits beyond ``wait_seconds`` (and
    SQLite's "database is locked") become ``ConversationBusy``, never a server error."""
    try:
        with db.session() as session:
            if db.dialect == "postgresql":
                # SET LOCAL: for this transaction only; a pooled connection goes back unchanged.
                session.execute(text(f"SET LOCAL lock_timeout = '{int(wait_seconds * 1000)}ms'"))
                session.execute(select(Conversation.id).where(Conversation.id == conversation_id)
                                .with_for_update())
            yield session
    except OperationalError as error:
        if is_busy_error(error):
            raise ConversationBusy(conversation_id) from error
        raise
