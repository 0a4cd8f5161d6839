"""Claiming due work once across nodes: the one way every durable job takes a row to work on.

Several nodes (or threads) may look for the same due rows at once: due callbacks to dial, queued messages to
send, team notices to post, ended contacts to score. Each row is taken by one conditional UPDATE — ``WHERE id =
:id AND <still claimable>`` setting who holds it and since when — and of several racing for it exactly the one
whose UPDATE changed a row wins. The caller commits right after, so the other nodes see the claim, and works
outside the transaction. A claim older than the job's timeout belongs to a node that died: the row is claimable
again (``free``). Finishing or giving the row back clears the claim (``release``), usually only when the node
still holds it (``held_by``): a node that was too slow may have lost its row to another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, or_, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from helpline.store.models import Base

RowT = TypeVar("RowT", bound=Base)

HOLDER_CHARS = 100  # the claimed_by columns' width


def holder(node: str) -> str:
    """The node's name as its claims store it (host:pid:random may be long)."""
    return node[:HOLDER_CHARS]


@dataclass(frozen=True)
class Claims(Generic[RowT]):
    """Where one table keeps a claim on a row: its id, who holds the row and since when."""

    model: type[RowT]
    id: InstrumentedAttribute[str]
    by: InstrumentedAttribute[str | None]
    at: InstrumentedAttribute[datetime | None]

    def lapsed(self, now: datetime, timeout: timedelta) -> ColumnElement[bool]:
        """The claim is older than ``timeout``: its node died (or is stuck), another may take the row."""
        return self.at < now - timeout

    def free(self, now: datetime, timeout: timedelta) -> ColumnElement[bool]:
        """Nobody holds the row, or its claim lapsed."""
        return or_(self.by.is_(None), self.lapsed(now, timeout))

    def claim(self, session: Session, candidates: Select[str] | Iterable[str], *,
              still: ColumnElement[bool], node: str, now: datetime, values: Mapping[str, Any] | None = None,
              skip_locked: bool = False) -> list[str]:
        """Claim each candidate for ``node`` by one conditional UPDATE (``still``: the row is still due and
        free, checked again in the UPDATE since another node may have taken it after the candidates were read),
        also setting ``values`` (e.g. a status); the ids won, in the candidates' order. ``skip_locked``: on
        PostgreSQL read the candidates ``FOR UPDATE SKIP LOCKED``, so racing nodes mostly pick different rows."""
        if isinstance(candidates, Select):
            if skip_locked and session.get_bind().dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            ids = list(session.scalars(candidates))
        else:
            ids = list(candidates)
        won: list[str] = []
        for row_id in ids:
            result = session.execute(
                update(self.model).where(self.id == row_id, still)
                .values({self.by.key: holder(node), self.at.key: now, **(values or {})})
                .execution_options(synchronize_session=False))
            if getattr(result, "rowcount", 0) == 1:  # 0: another node claimed it first
                won.append(row_id)
        return won

    def claim_rows(self, session: Session, candidates: Select[str] | Iterable[str], *,
                   still: ColumnElement[bool], node: str, now: datetime, values: Mapping[str, Any] | None = None,
                   skip_locked: bool = False) -> list[RowT]:
        """``claim``, returning the rows won as they are now (the session may hold them as read before)."""
        rows = (session.get(self.model, row_id, populate_existing=True)
                for row_id in self.claim(session, candidates, still=still, node=node, now=now, values=values,
                                         skip_locked=skip_locked))
        return [row for row in rows if row is not None]

    def held_by(self, row: RowT, node: str) -> bool:
        return bool(getattr(row, self.by.key) == holder(node))

    def release(self, row: RowT) -> None:
        """Nobody holds the row any more (finished, or given back to be taken again)."""
        setattr(row, self.by.key, None)
        setattr(row, self.at.key, None)
