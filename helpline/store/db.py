"""The database handle: one Engine and session factory per ``Database``, never a module global."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
# Durability of a file-backed SQLite database (docs/security.md). "full" (the default) syncs the WAL on
# every commit, so a turn acknowledged to the customer survives a power cut; "extra" also syncs the
# directory; "normal" is faster but a power cut (not a crash of the process) may lose the last commits.
SQLITE_SYNCHRONOUS_ENV = "HELPLINE_SQLITE_SYNCHRONOUS"
SQLITE_SYNCHRONOUS_LEVELS = ("full", "extra", "normal")
DEFAULT_SQLITE_SYNCHRONOUS = "full"
MIGRATION_LOCK_KEY = 0x48_4C_4D_49_47  # "HLMIG": the advisory lock nodes take to migrate one at a time
_MIGRATING = threading.Lock()
# Set while a ``Database.read_session`` opens its transaction: on SQLite it begins DEFERRED (a WAL reader
# never waits for the writer nor blocks it) instead of IMMEDIATE.
_READING: ContextVar[bool] = ContextVar("helpline_db_reading", default=False)


def sqlite_synchronous(value: str | None = None) -> str:
    """The SQLite ``synchronous`` level to use: ``value``, else $HELPLINE_SQLITE_SYNCHRONOUS, else full."""
    chosen = (value or os.environ.get(SQLITE_SYNCHRONOUS_ENV) or DEFAULT_SQLITE_SYNCHRONOUS).strip().lower()
    if chosen not in SQLITE_SYNCHRONOUS_LEVELS:
        raise ValueError(f"invalid SQLite synchronous level {chosen!r} (from {SQLITE_SYNCHRONOUS_ENV}): "
                         f"expected one of {', '.join(SQLITE_SYNCHRONOUS_LEVELS)}")
    return chosen


def default_url() -> str:
    """SQLite in ./var: the offline, zero-configuration default."""
    Path("var").mkdir(parents=True, exist_ok=True)
    return "sqlite:///./var/helpline.db"


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)


def _install_sqlite_hooks(engine: Engine, file_backed: bool, synchronous: str) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; SQLAlchemy's documented
    # recipe takes over BEGIN so nested transactions (used for ticket numbering) behave.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            if file_backed:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so a reader that later writes waits on
        # busy_timeout instead of failing with "database is locked" mid-transaction. A read session
        # only reads: a deferred transaction, so readers never queue behind a turn being written.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if file_backed and not _READING.get() else "BEGIN")


class Database:
    """An Engine plus a session factory.

    ``session()`` yields a Session that commits when the block ends normally and rolls back on error.
    ``synchronous`` (SQLite files only) is the durability level; see ``sqlite_synchronous``.
    """

    def __init__(self, url: str, *, echo: bool = False, synchronous: str | None = None) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        self.synchronous = sqlite_synchronous(synchronous) if self.dialect == "sqlite" else None
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            if _is_memory(parsed):
                # One shared connection, or every session would see its own empty database.
                kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
            else:
                if parsed.database:
                    Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
                kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(parsed, **kwargs)
        if self.dialect == "sqlite":
            _install_sqlite_hooks(self.engine, file_backed=not _is_memory(parsed),
                                  synchronous=self.synchronous or DEFAULT_SQLITE_SYNCHRONOUS)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reads only (no audit entries, no changes): on SQLite its transaction is deferred,
        so it neither takes nor waits for the database's single write lock. Anything written in it is
        rolled back, never kept; a read that must be followed by a write belongs in ``session()``."""
        reading = _READING.set(True)
        session = self._sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()
            _READING.reset(reading)

    def migrate(self, revision: str = "head") -> None:
        """Run ``alembic upgrade`` from the migrations shipped inside the package (no alembic.ini)."""
        from alembic import command

        # Alembic's context is process-global (one migration at a time per process), and nodes starting
        # together on one PostgreSQL must not both create the tables: the second waits, then finds them.
        with _MIGRATING, self.engine.begin() as connection:
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            command.upgrade(self.alembic_config(connection), revision)

    def alembic_config(self, connection: Connection | None = None) -> Config:
        """An Alembic Config pointing at the packaged migrations, optionally bound to a connection."""
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        # ConfigParser treats % as interpolation; URL-encoded characters must be escaped.
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        if connection is not None:
            config.attributes["connection"] = connection
        return config

    def ping(self) -> bool:
        """True when the database answers a trivial query (for the health check)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"
