"""Claiming due work once across nodes (store/claims.py), on SQLite and PostgreSQL: of two nodes racing for the
same rows each row goes to one; a claim that lapsed (its node died) is taken over; a release frees the row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from helpline.store.claims import Claims
from helpline.store.db import Database
from helpline.store.models import TeamNotice

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
TIMEOUT = timedelta(minutes=2)
NOTICES = Claims(TeamNotice, TeamNotice.id, TeamNotice.claimed_by, TeamNotice.claimed_at)


def _pending(db: Database, count: int) -> list[str]:
    with db.session() as session:
        notices = [TeamNotice(kind="question", ref_id=f"q{n}") for n in range(count)]
        session.add_all(notices)
        session.flush()
        return [n.id for n in notices]


def _claim(db: Database, node: str, now: datetime) -> list[str]:
    with db.session() as session:
        free = NOTICES.free(now, TIMEOUT)
        return NOTICES.claim(session, select(TeamNotice.id).where(TeamNotice.posted_at.is_(None), free)
                             .order_by(TeamNotice.created_at), still=free, node=node, now=now, skip_locked=True)


def test_racing_nodes_each_get_a_row_once(db: Database) -> None:
    ids = _pending(db, 3)
    with db.session() as first, db.session() as second:
        # both read the same candidates before either claims: only the conditional UPDATE decides
        free = NOTICES.free(NOW, TIMEOUT)
        won_first = NOTICES.claim(first, ids, still=free, node="node-a", now=NOW)
        first.commit()
        won_second = NOTICES.claim(second, ids, still=free, node="node-b", now=NOW)
    assert sorted(won_first) == sorted(ids)
    assert won_second == []
    assert _claim(db, "node-c", NOW + timedelta(seconds=30)) == []  # held, not lapsed


def test_a_lapsed_claim_is_taken_over_and_a_release_frees_the_row(db: Database) -> None:
    (row_id,) = _pending(db, 1)
    assert _claim(db, "node-a", NOW) == [row_id]
    later = NOW + TIMEOUT + timedelta(seconds=1)
    assert _claim(db, "node-b" * 30, later) == [row_id]  # node-a died; the long name is cut to the column
    with db.session() as session:
        notice = session.get(TeamNotice, row_id)
        assert notice is not None
        assert not NOTICES.held_by(notice, "node-a") and NOTICES.held_by(notice, "node-b" * 30)
        NOTICES.release(notice)
    assert _claim(db, "node-c", later) == [row_id]
