"""Privacy tests run on the store's databases: SQLite in memory, SQLite on disk and PostgreSQL."""

from __future__ import annotations

from tests.store.conftest import db, postgres_url  # noqa: F401 (fixtures)
