"""Idempotency-Key on API posts: a retried request is answered once, on real SQLite databases (the keys' table
is also tested on PostgreSQL in tests/store/test_idempotency.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from helpline.api.app import create_app
from helpline.api.edge import EdgeGuard
from helpline.api.errors import install_error_handlers
from helpline.api.idempotency import IdempotencyGuard, fingerprint, parse_key
from helpline.api.records import records_router
from helpline.store.db import Database
from helpline.store.models import Conversation, Incident, Message
from helpline.store.repositories import ApiKeyRepository
from tests.conftest import RuntimeFactory

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
Keys = dict[str, dict[str, str]]


@pytest.fixture()
def api(make_runtime: RuntimeFactory) -> Iterator[tuple[TestClient, Keys, Database]]:
    runtime = make_runtime(NOW)
    headers: Keys = {}
    with runtime.db.session() as session:
        for name, role in (("widget", "integration"), ("sdk", "integration"), ("agent", "agent")):
            key, _ = ApiKeyRepository(session).create(role=role)
            headers[name] = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(runtime, sweep_every_seconds=None), raise_server_exceptions=False) as client:
        yield client, headers, runtime.db


def _customer_lines(db: Database, conversation_id: str) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation_id, Message.role == "customer")) or 0


def test_a_resent_message_is_answered_once(api: tuple[TestClient, Keys, Database]) -> None:
    client, keys, db = api
    widget = keys["widget"]
    started = client.post("/api/v1/conversations", headers={**widget, "Idempotency-Key": "start-1"},
                          json={"channel": "chat"})
    again = client.post("/api/v1/conversations", headers={**widget, "Idempotency-Key": "start-1"},
                        json={"channel": "chat"})
    assert started.status_code == again.status_code == 201
    assert again.json() == started.json() and again.headers["idempotent-replayed"] == "true"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1
    conversation = started.json()["id"]
    path = f"/api/v1/conversations/{conversation}/messages"
    said = {"Idempotency-Key": '"9b1f3c0e-msg-1"', **widget}  # the draft's quoted form
    first = client.post(path, headers=said, json={"text": "do you ship to Canada?"})
    retry = client.post(path, headers=said, content=b'{ "text" : "do you ship to Canada?" }')  # same JSON
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json() and "idempotent-replayed" not in first.headers
    assert _customer_lines(db, conversation) == 1
    # the key with another message is the caller's mistake, said plainly; nothing is stored
    other = client.post(path, headers=said, json={"text": "and to Mexico?"})
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert _customer_lines(db, conversation) == 1
    # without the header a resend is a new message, as before
    for _ in range(2):
        assert client.post(path, headers=widget, json={"text": "hello?"}).status_code == 200
    assert _customer_lines(db, conversation) == 3


def test_keys_belong_to_the_api_key_that_sent_them(api: tuple[TestClient, Keys, Database]) -> None:
    client, keys, _ = api
    one = client.post("/api/v1/conversations", headers={**keys["widget"], "Idempotency-Key": "k"}, json={})
    two = client.post("/api/v1/conversations", headers={**keys["sdk"], "Idempotency-Key": "k"}, json={})
    assert one.status_code == two.status_code == 201 and one.json()["id"] != two.json()["id"]
    # a wrong API key is refused as ever, and leaves nothing behind for the right one
    wrong = client.post("/api/v1/conversations", headers={"Authorization": "Bearer hl_wrong", "Idempotency-Key": "x"},
                        json={})
    assert wrong.status_code == 401
    assert client.post("/api/v1/conversations", headers={**keys["sdk"], "Idempotency-Key": "x"},
                       json={}).status_code == 201
    unusable = client.post("/api/v1/conversations", headers={**keys["sdk"], "Idempotency-Key": "x" * 256}, json={})
    assert unusable.status_code == 400 and "Idempotency-Key" in unusable.json()["error"]["message"]


def test_a_refused_post_is_kept_but_a_server_error_is_not(api: tuple[TestClient, Keys, Database]) -> None:
    client, keys, _ = api
    headers = {**keys["agent"], "Idempotency-Key": "incident-1"}
    refused = client.post("/api/v1/incidents", headers=headers, json={"title": "Outage", "message": "Down"})
    assert refused.status_code == 403  # an agent may not declare one: "not you" is not kept as the answer
    again = client.post("/api/v1/incidents", headers=headers, json={"title": "Outage", "message": "Down"})
    assert again.status_code == 403 and "idempotent-replayed" not in again.headers
    widget = {**keys["widget"], "Idempotency-Key": "ended-chat"}
    gone = client.post("/api/v1/conversations/no-such-id/messages", headers=widget, json={"text": "hi"})
    assert gone.status_code == 404
    assert client.post("/api/v1/conversations/no-such-id/messages", headers=widget, json={"text": "hi"}) \
        .headers.get("idempotent-replayed") == "true"  # a 404 is an answer: kept


def test_parsing_and_fingerprints() -> None:
    assert parse_key(b'"abc-123"') == "abc-123" and parse_key(b"abc-123") == "abc-123"
    assert parse_key(b"") is None and parse_key(b'""') is None and parse_key("é".encode()) is None

    def of(path: str, body: bytes) -> str:
        return fingerprint("POST", path, b"", body, b"application/json")

    assert of("/a", b'{"a":1,"b":2}') == of("/a", b'{ "b": 2, "a": 1 }')  # the same data, written otherwise
    assert of("/a", b'{"a":1}') != of("/b", b'{"a":1}')
    assert of("/a", b'{"a":1}') != of("/a", b'{"a":2}')


# --- concurrency and failures, on a small app over a file-backed SQLite database ---------------------------------


class Effects:
    def __init__(self) -> None:
        self.count = 0
        self.fail_next = False
        self.guard = threading.Lock()


@pytest.fixture()
def slow_app(tmp_path: Path) -> Iterator[tuple[FastAPI, Effects, dict[str, str]]]:
    db = Database(f"sqlite:///{tmp_path / 'keys.db'}")
    db.migrate()
    with db.session() as session:
        key, _ = ApiKeyRepository(session).create(role="supervisor")
    effects = Effects()
    app = FastAPI()
    app.state.db = db
    install_error_handlers(app)
    app.include_router(records_router(), prefix="/api/v1")

    @app.post("/api/v1/slow-effect")
    def slow_effect() -> dict[str, int]:
        time.sleep(0.4)
        with effects.guard:
            if effects.fail_next:
                effects.fail_next = False
                raise HTTPException(503, "busy, try again")
            effects.count += 1
            return {"effect": effects.count}

    app.add_middleware(IdempotencyGuard, db=db)
    app.add_middleware(EdgeGuard)
    yield app, effects, {"Authorization": f"Bearer {key}"}
    db.dispose()


def test_concurrent_duplicates_run_once(slow_app: tuple[FastAPI, Effects, dict[str, str]]) -> None:
    app, effects, auth = slow_app
    headers = {**auth, "Idempotency-Key": "lb-retry"}
    answers: list[tuple[int, dict[str, object]]] = []

    def send() -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.post("/api/v1/slow-effect", headers=headers, json={})
            answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)  # all three arrive while the first is still running
    for thread in threads:
        thread.join()
    assert effects.count == 1
    assert sorted(status for status, _ in answers) == [200, 409, 409]
    with TestClient(app) as client:  # the loser's retry gets the winner's answer
        retried = client.post("/api/v1/slow-effect", headers=headers, json={})
    assert retried.json() == {"effect": 1} and effects.count == 1


def test_a_503_is_not_kept_so_the_retry_runs(slow_app: tuple[FastAPI, Effects, dict[str, str]]) -> None:
    app, effects, auth = slow_app
    headers = {**auth, "Idempotency-Key": "after-busy"}
    effects.fail_next = True
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/api/v1/slow-effect", headers=headers, json={}).status_code == 503
        assert client.post("/api/v1/slow-effect", headers=headers, json={}).json() == {"effect": 1}
        assert client.post("/api/v1/slow-effect", headers=headers, json={}).json() == {"effect": 1}
    assert effects.count == 1


def test_declaring_an_incident_twice_with_one_key_declares_one(
        slow_app: tuple[FastAPI, Effects, dict[str, str]]) -> None:
    app, _, auth = slow_app
    body = {"title": "Card payments failing", "message": "Card payments fail at checkout; we are on it."}
    with TestClient(app) as client:
        first = client.post("/api/v1/incidents", headers={**auth, "Idempotency-Key": "inc-7"}, json=body)
        second = client.post("/api/v1/incidents", headers={**auth, "Idempotency-Key": "inc-7"}, json=body)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    db: Database = app.state.db
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 1
