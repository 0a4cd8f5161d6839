"""Where the SQL connector's business tables (the stand-in system of record: orders, customers…) live, and
creating and seeding them once: with the configured database by default, so every node on it sees the same
orders (docs/deployment.md)."""

from __future__ import annotations

import fcntl
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from helpline.connectors.sql import SqlOperations
from helpline.pack.loader import BusinessPack
from helpline.store.db import default_url

log = logging.getLogger(__name__)

BUSINESS_SCHEMA = "helpline_business"
SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*(\S+)")
SEEDING_LOCK_KEY = 0x48_4C_42_55_53  # "HLBUS": one advisory lock id for seeding the business tables


def _slug(pack: BusinessPack) -> str:
    return re.sub(r"[^a-z0-9]+", "-", pack.business.name.lower()).strip("-") or "business"


def default_records_url(pack: BusinessPack, db_url: str | None = None) -> str:
    """Where the built-in business tables (the SQL connector's orders, customers…) live unless a records
    URL is given: with the configured database, so every node on it sees the same orders.

    PostgreSQL: the same database, in a schema of their own (``helpline_business``, or ``<schema>_business``
    when the URL's search_path names Helpline's schema), so pack SQL keeps its plain table names.
    SQLite: a file beside Helpline's database file (not beside the working folder). Not the same file:
    the connector writes (a cancellation) while the turn's transaction holds SQLite's one write lock.
    """
    url = make_url(db_url or default_url())
    if url.get_backend_name() == "postgresql":
        return records_url_in_schema(url, business_schema(url))
    database = url.database
    if not database or database == ":memory:" or "mode=memory" in str(url):
        Path("var").mkdir(exist_ok=True)
        return f"sqlite:///var/{_slug(pack)}-records.db"
    folder = Path(database).expanduser().parent
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / f'{_slug(pack)}-records.db'}"


def _options(url: URL) -> str:
    """The URL's libpq `options` (PostgreSQL run-time settings such as `-csearch_path=...`), as one string."""
    options = url.query.get("options")
    return " ".join(options) if isinstance(options, tuple) else (options or "")


def _search_path(url: URL) -> str | None:
    match = SEARCH_PATH.search(_options(url))
    return match.group(1).split(",")[0].strip().strip('"') if match else None


def business_schema(url: URL) -> str:
    """The business tables' schema for Helpline's database URL."""
    helpline_schema = _search_path(url)
    return f"{helpline_schema}_business" if helpline_schema else BUSINESS_SCHEMA


def records_url_in_schema(url: URL, schema: str) -> str:
    """``url`` with its search_path replaced by ``schema`` (other connection options kept)."""
    rest = SEARCH_PATH.sub("", _options(url)).strip()
    query = dict(url.query)
    query["options"] = f"{rest} -csearch_path={schema}".strip()
    return url.set(query=query).render_as_string(hide_password=False)


@contextmanager
def _seeding_lock(records_url: str, create_schema: str | None) -> Iterator[None]:
    """Only one node at a time creates and seeds the business tables: two nodes starting together would
    otherwise both find a table missing and both create it (one failing). PostgreSQL: an advisory lock
    (and the schema made under it); SQLite: a lock file beside the database file."""
    url = make_url(records_url)
    if url.get_backend_name() == "postgresql":
        admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with admin.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SEEDING_LOCK_KEY})
                try:
                    if create_schema:
                        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{create_schema}"'))
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SEEDING_LOCK_KEY})
        finally:
            admin.dispose()
        return
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    with open(f"{Path(url.database).expanduser()}.seed-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_business_tables(pack: BusinessPack, records_url: str | None, db_url: str | None) -> tuple[str,
                                                                                                   SqlOperations]:
    """The SQL connector on its tables, created and seeded from the pack's files once (never overwritten:
    a node starting again keeps every change made since)."""
    chosen = records_url or default_records_url(pack, db_url)
    create_schema = None
    if records_url is None and make_url(chosen).get_backend_name() == "postgresql":
        create_schema = business_schema(make_url(db_url or default_url()))
    legacy = Path("var") / f"{_slug(pack)}-records.db"
    if records_url is None and legacy.exists() and make_url(chosen).database != str(legacy) \
            and not chosen.endswith(f"var/{legacy.name}"):
        log.warning("the business tables are now kept with the configured database (%s); %s is no longer "
                    "used. To keep using it, pass records_url=sqlite:///%s.", make_url(chosen)
                    .render_as_string(hide_password=True), legacy, legacy.resolve())
    with _seeding_lock(chosen, create_schema):
        return chosen, SqlOperations.open(chosen, pack.root, pack.operations.tables)
