"""Finding 5: no 500 on bad numbers, dates or text, on SQLite and PostgreSQL; bodies are limited before they
are read; the OpenAPI document lists the errors the API answers (issue 10; docs/security.md)."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from helpline.api.app import create_app
from helpline.runtime import Runtime, build_runtime
from helpline.store.repositories import ApiKeyRepository
from tests.conftest import DEMO, DemoModels
from tests.store.conftest import POSTGRES_URL, postgres_admin, with_search_path

ROLES = ("admin", "supervisor", "agent", "integration")
MAX_BODY_BYTES = 1024 * 1024  # helpline.api.edge.MAX_BODY_BYTES, the documented limit


@dataclass
class Stack:
    app: FastAPI
    runtime: Runtime
    keys: dict[str, str]
    backend: str

    def auth(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stack(request: pytest.FixtureRequest, demo_models: DemoModels, tmp_path: Path) -> Iterator[Stack]:
    """The whole app on a copy of the demo pack, Helpline's database on SQLite or PostgreSQL, a key per role
    and one conversation (so ticket 1001 exists)."""
    schema = ""
    admin = None
    if request.param == "postgres":
        admin = postgres_admin()
        schema = f"helpline_edge_{secrets.token_hex(5)}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db_url = with_search_path(POSTGRES_URL, schema)
    else:
        db_url = f"sqlite:///{tmp_path / 'helpline.db'}"
    pack = tmp_path / "pack"
    shutil.copytree(DEMO, pack, ignore=shutil.ignore_patterns("*.db"))
    runtime = build_runtime(pack, db_url=db_url, records_url=f"sqlite:///{tmp_path / 'records.db'}",
                            models=demo_models.models)
    with runtime.db.session() as session:
        repo = ApiKeyRepository(session)
        keys = {role: repo.create(role=role)[0] for role in ROLES}
    runtime.conversations.start(channel="chat", actor="test")
    try:
        yield Stack(create_app(runtime, sweep_every_seconds=None), runtime, keys, request.param)
    finally:
        runtime.db.dispose()
        if runtime.operations.sql:
            runtime.operations.sql.engine.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


@pytest.fixture()
def client(stack: Stack) -> Iterator[TestClient]:
    with TestClient(stack.app, raise_server_exceptions=False) as test_client:
        yield test_client


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()["error"]
    return body


def test_numbers_past_the_columns_are_not_server_errors(stack: Stack, client: TestClient) -> None:
    auth = stack.auth()
    assert client.get("/api/v1/tickets/1001", headers=auth).status_code == 200
    for number in (2**31, 2**63, 2**64 + 1, 10**30):
        _error(client.get(f"/api/v1/tickets/{number}", headers=auth), 404)
        _error(client.get(f"/api/v1/tickets/{number}/emails/recap", headers=auth), 404)
        _error(client.patch(f"/api/v1/tickets/{number}", json={"notes": "x"}, headers=auth), 404)
    for offset in (2**31, 2**63, 2**64):
        for path in ("/api/v1/tickets", "/api/v1/callbacks", "/api/v1/audit"):
            _error(client.get(path, params={"offset": offset}, headers=auth), 422)
    assert client.get("/api/v1/tickets", params={"offset": 1000}, headers=auth).status_code == 200


def test_dates_at_the_edge_of_the_calendar(client: TestClient, stack: Stack) -> None:
    auth = stack.auth()
    for bad in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "0.5", "1700000000", "yesterday",
                "2026-13-01"):
        fields = _error(client.get("/api/v1/tickets", params={"created_from": bad}, headers=auth), 422)["fields"]
        assert fields[0]["field"] == "query.created_from"
        _error(client.get("/api/v1/callbacks", params={"due_before": bad}, headers=auth), 422)
    for good in ("0001-01-01T00:00:00Z", "2026-11-20", "2026-11-20T16:00:00+01:00", "9999-12-31T00:00:00"):
        assert client.get("/api/v1/tickets", params={"created_from": good}, headers=auth).status_code == 200, good
        assert client.get("/api/v1/tickets", params={"created_to": good}, headers=auth).status_code == 200, good


def test_nul_characters_are_refused_everywhere(client: TestClient, stack: Stack) -> None:
    auth = stack.auth()
    conversation = client.post("/api/v1/conversations", json={}, headers=auth).json()["id"]
    _error(client.get("/api/v1/tickets", params={"q": "a\x00b"}, headers=auth), 422)
    _error(client.get("/api/v1/tickets", params={"category": "\x00"}, headers=auth), 422)
    _error(client.get("/api/v1/audit", params={"actor": "x\x00"}, headers=auth), 422)
    _error(client.get("/api/v1/tickets/10%0001", headers=auth), 422)
    _error(client.get("/api/v1/conversations/ab%00cd", headers=auth), 422)
    _error(client.patch("/api/v1/tickets/1001", json={"notes": "a\x00b"}, headers=auth), 422)
    _error(client.patch("/api/v1/tickets/1001", json={"tags": ["ok", "\x00"]}, headers=auth), 422)
    _error(client.post("/api/v1/incidents", json={"title": "t\x00", "message": "m"}, headers=auth), 422)
    _error(client.post(f"/api/v1/conversations/{conversation}/messages", json={"text": "hi\x00"},
                       headers=auth), 422)
    # A lone UTF-16 surrogate cannot be stored either (a valid pair is just an emoji).
    _error(client.patch("/api/v1/tickets/1001", content=b'{"notes": "a\\ud800b"}',
                        headers={**auth, "content-type": "application/json"}), 422)
    ok = client.patch("/api/v1/tickets/1001", content=b'{"notes": "\\ud83d\\ude00 \\\\u0000"}',
                      headers={**auth, "content-type": "application/json"})
    assert ok.status_code == 200 and ok.json()["notes"] == "\U0001f600 \\u0000"
    # Console forms too.
    assert client.get("/console/tickets", params={"q": "\x00"}).status_code == 422


def test_a_body_over_the_limit_is_refused_before_it_is_read(stack: Stack, client: TestClient) -> None:
    auth = stack.auth()
    huge = {"notes": "x" * (MAX_BODY_BYTES + 10)}
    _error(client.patch("/api/v1/tickets/1001", json=huge, headers=auth), 413)
    _error(client.post("/api/v1/incidents", json={"title": "t", "message": "m" * 10 * 2**20}, headers=auth), 413)
    # At the ASGI level: with a declared length nothing is read; without one, reading stops at the limit.
    for declared in (True, False):
        consumed = asyncio.run(_send_big_body(stack.app, 10 * 2**20, declared))
        assert consumed <= (0 if declared else MAX_BODY_BYTES + 65536), consumed


async def _send_big_body(app: FastAPI, size: int, declare_length: bool) -> int:
    chunk = b"a" * 65536
    consumed = 0
    sent: list[dict[str, Any]] = []
    headers = [(b"content-type", b"application/json"), (b"authorization", b"Bearer nope")]
    if declare_length:
        headers.append((b"content-length", str(size).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/v1/incidents", "raw_path": b"/api/v1/incidents", "query_string": b"",
             "headers": headers, "client": ("127.0.0.1", 1), "server": ("test", 80), "root_path": "",
             "app": app, "state": {}}

    async def receive() -> dict[str, Any]:
        nonlocal consumed
        if consumed >= size:
            return {"type": "http.disconnect"}
        consumed += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": consumed < size}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    return consumed


def test_the_openapi_document_lists_every_error_answered(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    error_ref = "#/components/schemas/ErrorOut"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if path == "/api/v1/health":
                continue
            where = f"{method.upper()} {path}"
            for status in ("401", "403", "422", "429"):
                assert status in responses, f"{where} does not document {status}"
            if "{" in path:
                assert "404" in responses, f"{where} does not document 404"
            if "requestBody" in operation:
                assert "413" in responses, f"{where} does not document 413"
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": error_ref}, f"{where} {status}: {schema}"
    assert "409" in document["paths"]["/api/v1/tickets/{ticket_ref}"]["patch"]["responses"]
    assert "409" in document["paths"]["/api/v1/conversations/{conversation_id}/messages"]["post"]["responses"]
    assert "HTTPValidationError" not in document.get("components", {}).get("schemas", {})
