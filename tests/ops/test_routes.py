"""/metrics, /api/v1/ready and request ids on the app, over HTTP (TestClient) with the demo pack."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from helpline.api.app import create_app
from helpline.runtime import build_runtime
from helpline.store.db import Database
from helpline.store.repositories import ApiKeyRepository
from tests.conftest import DEMO, DemoModels, RuntimeFactory
from tests.ops.conftest import TcpRelay, queue_email
from tests.store.conftest import POSTGRES_URL, postgres_admin, with_search_path

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
Keys = dict[str, dict[str, str]]


def keys_for(db: Database) -> Keys:
    headers: Keys = {}
    with db.session() as session:
        for role in ("admin", "supervisor", "agent", "integration"):
            key, _ = ApiKeyRepository(session).create(role=role)
            headers[role] = {"Authorization": f"Bearer {key}"}
    return headers


@pytest.fixture()
def api(make_runtime: RuntimeFactory) -> Iterator[tuple[TestClient, Keys, Database]]:
    runtime = make_runtime(NOW)
    keys = keys_for(runtime.db)
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client, keys, runtime.db


def sample(body: str, name: str, **labels: str) -> float | None:
    """The value of one sample in the Prometheus text format."""
    rendered = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(rendered) + r"\}" if labels else "") + r" (\S+)$"
    found = re.search(pattern, body, re.MULTILINE)
    return float(found.group(1)) if found else None


def test_metrics_need_an_admin_or_integration_key(api: tuple[TestClient, Keys, Database]) -> None:
    client, keys, _db = api
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer hl_not-a-key"}).status_code == 401
    assert client.get("/metrics", headers=keys["agent"]).status_code == 403
    assert client.get("/metrics", headers=keys["supervisor"]).status_code == 403
    for role in ("admin", "integration"):
        reply = client.get("/metrics", headers=keys[role])
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/plain")


def test_metrics_count_a_turn_and_the_queues_and_carry_no_customer_data(
        api: tuple[TestClient, Keys, Database]) -> None:
    client, keys, db = api
    before = client.get("/metrics", headers=keys["admin"]).text
    assert sample(before, "helpline_turns_total", channel="chat") is None
    started = client.post("/api/v1/conversations", headers=keys["integration"], json={"channel": "chat"})
    conversation_id = started.json()["id"]
    text_ = "hi, I'm aisha.patel@example.com, call me on 07700 900123 about order BB-10160"
    assert client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=keys["integration"],
                       json={"text": text_}).status_code == 200
    queue_email(db, "aisha.patel@example.com", "Your recap", key="recap:metrics-test")

    body = client.get("/metrics", headers=keys["admin"]).text
    assert sample(body, "helpline_turns_total", channel="chat") == 1.0
    assert sample(body, "helpline_turn_seconds_count", channel="chat") == 1.0
    assert (sample(body, "helpline_turn_seconds_sum", channel="chat") or 0) > 0
    assert sample(body, "helpline_turn_errors_total", kind="engine") == 0.0
    assert sample(body, "helpline_outbound_queued", channel="email") == 1.0
    assert sample(body, "helpline_conversations_active", channel="chat") == 1.0
    assert sample(body, "helpline_callbacks_due") == 0.0
    assert sample(body, "helpline_team_questions_open") == 0.0
    assert sample(body, "helpline_database_up") == 1.0
    for secret in ("aisha", "example.com", "07700", "BB-10160", conversation_id):
        assert secret not in body

    # a message to a conversation that has ended is an error of its kind
    client.post(f"/api/v1/conversations/{conversation_id}/end", headers=keys["integration"])
    client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=keys["integration"],
                json={"text": "one more thing"})
    body = client.get("/metrics", headers=keys["admin"]).text
    assert sample(body, "helpline_turn_errors_total", kind="closed") == 1.0
    assert sample(body, "helpline_turns_total", channel="chat") == 1.0


def test_the_request_id_is_echoed_or_made(api: tuple[TestClient, Keys, Database]) -> None:
    client, _keys, _db = api
    assert client.get("/api/v1/health", headers={"X-Request-ID": "lb-7f3a.42"}).headers["x-request-id"] == "lb-7f3a.42"
    made = client.get("/api/v1/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", made)
    assert client.get("/api/v1/health").headers["x-request-id"] != made
    # an id that could forge a log line is not taken
    odd = client.get("/api/v1/health", headers={"X-Request-ID": "x\" level=error"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", odd)
    # errors carry it too: an unauthenticated call, a body over the limit
    assert "x-request-id" in client.get("/api/v1/tickets").headers
    assert "x-request-id" in client.post("/api/v1/conversations", content=b"x" * (2 << 20)).headers


def test_ready_on_sqlite_without_redis(api: tuple[TestClient, Keys, Database]) -> None:
    client, _keys, _db = api
    reply = client.get("/api/v1/ready")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ready", "database": "ok", "migrations": "ok", "redis": "not_configured"}
    assert client.get("/api/v1/ready?verbose=1").status_code == 422


@pytest.mark.postgres
def test_ready_fails_when_the_database_is_unreachable(demo_models: DemoModels, tmp_path: Path) -> None:
    admin = postgres_admin()
    schema = f"helpline_ready_{secrets.token_hex(5)}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    port = int(POSTGRES_URL.rsplit(":", 1)[1].split("/", 1)[0])
    try:
        with TcpRelay(port) as relay:
            url = with_search_path(POSTGRES_URL.replace(f":{port}/", f":{relay.port}/"), schema)
            runtime = build_runtime(DEMO, db_url=url, records_url=f"sqlite:///{tmp_path / 'records.db'}",
                                    models=demo_models.models)
            with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
                assert client.get("/api/v1/ready").json()["status"] == "ready"
                relay.cut()
                reply = client.get("/api/v1/ready")
                assert reply.status_code == 503
                assert reply.json()["status"] == "not_ready"
                assert reply.json()["database"] == "unavailable"
                assert client.get("/api/v1/health").status_code == 503  # liveness says so too
            runtime.db.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def test_ready_says_when_the_database_is_not_at_this_versions_migrations(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    with runtime.db.session() as session:  # as if this version's last migration had not run
        session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        reply = client.get("/api/v1/ready")
    assert reply.status_code == 503
    assert reply.json()["migrations"] == "not_at_head"
