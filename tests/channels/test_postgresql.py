"""The same conversation on PostgreSQL: Helpline's records and the business tables both on the server."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from helpline.runtime import build_runtime
from helpline.store.models import Ticket
from tests.conftest import DEMO, DemoModels
from tests.store.conftest import POSTGRES_URL, postgres_admin, with_search_path

pytestmark = pytest.mark.postgres


@pytest.fixture()
def two_schemas() -> Iterator[tuple[str, str]]:
    admin = postgres_admin()
    names = [f"helpline_conv_{secrets.token_hex(5)}", f"helpline_biz_{secrets.token_hex(5)}"]
    with admin.begin() as conn:
        for name in names:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield with_search_path(POSTGRES_URL, names[0]), with_search_path(POSTGRES_URL, names[1])
    finally:
        with admin.begin() as conn:
            for name in names:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


def test_cancel_conversation_on_postgresql(two_schemas: tuple[str, str], demo_models: DemoModels) -> None:
    helpline_url, records_url = two_schemas
    now = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    runtime = build_runtime(DEMO, db_url=helpline_url, records_url=records_url, models=demo_models.models,
                            clock=lambda: now)
    try:
        service = runtime.conversations
        started = service.start(actor="test")
        first = service.post(started.id, "cancel BB-10160 please, aisha.patel@example.com, ordered by mistake",
                             actor="test")
        assert first.state["awaiting"] == "confirm"
        service.post(started.id, "yes", actor="test")
        service.end(started.id, actor="test")
        assert runtime.operations.sql is not None
        with runtime.operations.sql.engine.connect() as conn:
            assert conn.execute(text("SELECT status FROM orders WHERE id = 'BB-10160'")).scalar() == "cancelled"
        with runtime.db.session() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == started.id)).one()
            assert ticket.status == "resolved" and "Cancelled order BB-10160" in ticket.resolution
    finally:
        runtime.db.dispose()
        if runtime.operations.sql is not None:
            runtime.operations.sql.engine.dispose()
