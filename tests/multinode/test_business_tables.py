"""The SQL connector's business tables live with the configured database, seeded once (issue 12)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from helpline.connectors.business_tables import business_schema
from helpline.runtime import Runtime, build_runtime
from tests.conftest import DEMO, DemoModels
from tests.store.conftest import postgres_admin

ORDER = "BB-10160"


def _close(runtime: Runtime) -> None:
    runtime.db.dispose()
    if runtime.operations.sql is not None:
        runtime.operations.sql.engine.dispose()


def _status(runtime: Runtime) -> str:
    assert runtime.operations.sql is not None
    with runtime.operations.sql.engine.connect() as conn:
        return str(conn.execute(text("SELECT status FROM orders WHERE id = :id"), {"id": ORDER}).scalar())


def _mark_cancelled(runtime: Runtime) -> None:
    assert runtime.operations.sql is not None
    with runtime.operations.sql.engine.begin() as conn:
        conn.execute(text("UPDATE orders SET status = 'cancelled' WHERE id = :id"), {"id": ORDER})


@pytest.fixture()
def business_schema_dropped(postgres_schema: str) -> Iterator[str]:
    yield postgres_schema
    admin = postgres_admin()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{business_schema(make_url(postgres_schema))}" CASCADE'))
    admin.dispose()


@pytest.mark.postgres
def test_two_nodes_starting_together_share_one_seeded_set_of_orders(business_schema_dropped: str,
                                                                   demo_models: DemoModels) -> None:
    url = business_schema_dropped
    barrier = threading.Barrier(2)

    def start_node() -> Runtime:
        barrier.wait()
        return build_runtime(DEMO, db_url=url, models=demo_models.models)

    with ThreadPoolExecutor(max_workers=2) as pool:
        node_a, node_b = (f.result() for f in [pool.submit(start_node), pool.submit(start_node)])
    try:
        assert node_a.records_url == node_b.records_url
        assert make_url(node_a.records_url).get_backend_name() == "postgresql"
        assert _status(node_b) != "cancelled"
        _mark_cancelled(node_a)
        assert _status(node_b) == "cancelled"  # the same orders on both nodes
        restarted = build_runtime(DEMO, db_url=url, models=demo_models.models)
        try:
            assert _status(restarted) == "cancelled"  # a node starting again does not re-seed over changes
        finally:
            _close(restarted)
    finally:
        _close(node_a)
        _close(node_b)


def test_sqlite_business_tables_sit_beside_the_database_not_the_working_folder(
        tmp_path: Path, demo_models: DemoModels, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    runtime = build_runtime(DEMO, db_url=f"sqlite:///{tmp_path / 'data' / 'helpline.db'}", models=demo_models.models)
    try:
        records = Path(str(make_url(runtime.records_url).database))
        assert records.parent == tmp_path / "data" and records.exists()
        assert not (elsewhere / "var").exists()
        _mark_cancelled(runtime)
    finally:
        _close(runtime)
    again = build_runtime(DEMO, db_url=f"sqlite:///{tmp_path / 'data' / 'helpline.db'}", models=demo_models.models)
    try:
        assert _status(again) == "cancelled"
    finally:
        _close(again)
