"""Finding 2 (issue 10): verification attempts are limited per customer record and per client across
conversations, channels, service instances and processes (docs/security.md, "Verification attempt limits")."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from helpline.conversation.ports import ClientIdentity, ClientKind
from helpline.conversation.state import ConversationState
from helpline.runtime import Runtime, build_runtime
from helpline.store.models import AuditEntry, Conversation
from helpline.store.repositories import ApiKeyRepository, WidgetKeyRepository
from tests.conftest import DEMO, DemoModels
from tests.console.conftest import Console, anon, as_role, console  # noqa: F401 (fixtures)
from tests.store.conftest import POSTGRES_URL, postgres_admin, with_search_path

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def _clients(runtime: Runtime, conversation_id: str) -> list[tuple[str, str]]:
    with runtime.db.session() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        return [(c.kind.value, c.value) for c in ConversationState.from_json(conversation.state).clients]


def test_a_widget_chat_counts_against_its_address_and_its_key(console: Console, anon: TestClient) -> None:  # noqa: F811
    with console.runtime.db.session() as session:
        key = WidgetKeyRepository(session).create(label="site")
    with anon.websocket_connect(f"/widget/ws?key={key.public_key}") as ws:
        ws.send_text(json.dumps({"type": "hello"}))
        welcome: dict[str, Any] = {}
        while welcome.get("type") != "welcome":
            welcome = json.loads(ws.receive_text())
    assert _clients(console.runtime, welcome["conversation_id"]) == [("ip", "testclient"), ("widget_key", key.id)]


def test_an_api_conversation_counts_against_its_key(console: Console, anon: TestClient) -> None:  # noqa: F811
    with console.runtime.db.session() as session:
        plaintext, key = ApiKeyRepository(session).create(role="integration")
    started = anon.post("/api/v1/conversations", headers={"Authorization": f"Bearer {plaintext}"})
    assert started.status_code == 201
    assert _clients(console.runtime, started.json()["id"]) == [("api_key", key.prefix)]


def test_a_supervisor_sees_the_lockout_on_the_live_page(console: Console,  # noqa: F811
                                                         as_role: dict[str, tuple[TestClient, str]]) -> None:  # noqa: F811
    service = console.runtime.conversations
    for conversation in range(2):
        started = service.start()
        service.post(started.id, "where is my order?")
        for n in range(3):
            service.post(started.id, f"Samuel Rogers 7860{conversation * 3 + n}")
    supervisor, _ = as_role["supervisor"]
    agent, _ = as_role["agent"]
    assert "Verification locked for record R… S… after 5 failed attempts" in supervisor.get("/console/live/rows").text
    assert "Verification alert" in supervisor.get("/console/live").text
    assert "Verification alert" not in agent.get("/console/live/rows").text


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def helpline_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite-file":
        yield f"sqlite:///{tmp_path / 'helpline.db'}"
        return
    admin = postgres_admin()
    schema = f"helpline_limits_{secrets.token_hex(5)}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_search_path(POSTGRES_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def test_two_services_on_one_database_never_look_up_more_than_the_limit(
        helpline_url: str, demo_models: DemoModels, tmp_path: Path) -> None:
    """Two ConversationService instances (as two server processes have) on one database; 12 conversations
    from 12 addresses guess Samuel Rogers's ZIP at the same moment: 5 lookups, not 12."""
    runtimes = [build_runtime(DEMO, db_url=helpline_url, records_url=f"sqlite:///{tmp_path / 'records.db'}",
                              models=demo_models.models, clock=lambda: NOW) for _ in range(2)]
    try:
        waiting = []
        for n in range(12):
            service = runtimes[n % 2].conversations
            started = service.start(clients=(ClientIdentity(ClientKind.IP, f"10.3.0.{n}"),))
            assert service.post(started.id, "where is my order?").state["awaiting"] == "verification"
            waiting.append((service, started.id, f"Samuel Rogers 786{n:02d}"))
        go = threading.Barrier(len(waiting))

        def guess(item: tuple[Any, str, str]) -> list[str]:
            service, conversation_id, answer = item
            go.wait()
            return list(service.post(conversation_id, answer).replies)

        with ThreadPoolExecutor(len(waiting)) as pool:
            replies = list(pool.map(guess, waiting))
        with runtimes[0].db.session() as session:
            lookups = session.scalars(select(AuditEntry).where(AuditEntry.entity == "operation:find_customer"))
            assert len(list(lookups)) == 5
        assert sum(any("paused checks" in line for line in turn) for turn in replies) == 7
    finally:
        for runtime in runtimes:
            runtime.db.dispose()
            if runtime.operations.sql is not None:
                runtime.operations.sql.engine.dispose()
