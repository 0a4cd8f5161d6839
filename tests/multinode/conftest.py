"""Several Helpline nodes on one PostgreSQL and one Redis (issue 12), each test on its own namespace.

PostgreSQL: a throw-away schema per test (reached through ``search_path``), dropped at the end; the
server missing skips the test unless HELPLINE_REQUIRE_POSTGRES is set (tests/store/conftest.py).
Redis: a random key prefix per test, its keys deleted at the end; the server missing skips the test
unless HELPLINE_REQUIRE_REDIS is set (.ci/run sets both).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests.store.conftest import POSTGRES_URL, postgres_admin, with_search_path

REDIS_URL = os.environ.get("HELPLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "redis: needs the Redis server on 127.0.0.1:6379")


def redis_or_skip() -> str:
    """The test server's URL, or skip (fail when HELPLINE_REQUIRE_REDIS is set)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except Exception as exc:
        reason = f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}: {exc}"
        if os.environ.get("HELPLINE_REQUIRE_REDIS"):
            pytest.fail(f"{reason} (HELPLINE_REQUIRE_REDIS is set)")
        pytest.skip(reason)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture()
def redis_prefix() -> Iterator[tuple[str, str]]:
    """(URL, a fresh key prefix); every key under the prefix is deleted afterwards."""
    import redis

    url = redis_or_skip()
    prefix = f"helpline-test-{secrets.token_hex(6)}:"
    yield url, prefix
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _schemas(count: int) -> Iterator[list[str]]:
    admin = postgres_admin()
    names = [f"helpline_nodes_{secrets.token_hex(5)}" for _ in range(count)]
    with admin.begin() as conn:
        for name in names:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield [with_search_path(POSTGRES_URL, name) for name in names]
    finally:
        with admin.begin() as conn:
            for name in names:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture()
def postgres_schema() -> Iterator[str]:
    """The URL of a fresh, empty schema on the test server (not migrated)."""
    yield from (urls[0] for urls in _schemas(1))


@pytest.fixture()
def postgres_pair() -> Iterator[tuple[str, str]]:
    """Two fresh schemas: Helpline's records and the business tables."""
    for urls in _schemas(2):
        yield urls[0], urls[1]
