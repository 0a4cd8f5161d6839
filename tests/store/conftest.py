"""Database fixtures: every repository test runs on SQLite in memory, SQLite on disk and PostgreSQL.

PostgreSQL gets a fresh schema per test session (random name, reached through ``search_path``) that
is dropped at the end. If the server is down the PostgreSQL cases are skipped, unless
HELPLINE_REQUIRE_POSTGRES is set, in which case they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from helpline.store.db import Database
from helpline.store.models import Base

POSTGRES_URL = os.environ.get("HELPLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


def postgres_admin() -> Engine:
    """An engine on the test server, or skip (fail when HELPLINE_REQUIRE_POSTGRES is set)."""
    admin = create_engine(make_url(POSTGRES_URL), connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}: {exc}".strip()
        if os.environ.get("HELPLINE_REQUIRE_POSTGRES"):
            pytest.fail(f"{reason} (HELPLINE_REQUIRE_POSTGRES is set)")
        pytest.skip(reason)
    return admin


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated, throw-away schema on the test server; its URL sets the search_path."""
    admin = postgres_admin()
    schema = f"helpline_test_{secrets.token_hex(6)}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = with_search_path(POSTGRES_URL, schema)
        database = Database(url)
        database.migrate()
        database.dispose()
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _empty_postgres(database: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite-memory", "sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each backend."""
    if request.param == "postgres":
        database = Database(request.getfixturevalue("postgres_url"))
        _empty_postgres(database)
        try:
            yield database
        finally:
            _empty_postgres(database)
            database.dispose()
        return
    url = "sqlite:///:memory:" if request.param == "sqlite-memory" else f"sqlite:///{tmp_path / 'helpline.db'}"
    database = Database(url)
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()
