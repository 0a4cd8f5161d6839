"""Database handle: sessions, SQLite pragmas, in-memory sharing, default URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from helpline.store.db import Database, default_url
from helpline.store.models import Ticket
from helpline.store.repositories import TicketRepository


def test_sqlite_file_pragmas(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'nested' / 'h.db'}")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    assert (tmp_path / "nested" / "h.db").exists()
    db.dispose()


def test_memory_database_is_shared_between_sessions() -> None:
    db = Database("sqlite:///:memory:")
    db.migrate()
    with db.session() as session:
        TicketRepository(session).create(actor="system", channel="chat")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
    assert db.ping()


def test_session_rolls_back_on_error() -> None:
    db = Database("sqlite:///:memory:")
    db.migrate()
    with pytest.raises(RuntimeError), db.session() as session:
        TicketRepository(session).create(actor="system", channel="chat")
        raise RuntimeError("boom")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_foreign_keys_enforced_on_sqlite() -> None:
    db = Database("sqlite:///:memory:")
    db.migrate()
    with pytest.raises(Exception, match="FOREIGN KEY"), db.session() as session:
        TicketRepository(session).create(actor="system", channel="chat", conversation_id="no-such-conversation")


def test_default_url_creates_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_url() == "sqlite:///./var/helpline.db"
    assert (tmp_path / "var").is_dir()


def test_ping_reports_an_unreachable_database() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    assert db.ping() is False
