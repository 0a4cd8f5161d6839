"""The chat API end to end on the demo pack: keys, roles, JSON errors, the redacted transcript,
and the ticket a conversation leaves behind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from helpline.api.app import create_app
from helpline.store.repositories import ApiKeyRepository
from tests.conftest import RuntimeFactory

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


@pytest.fixture()
def api(make_runtime: RuntimeFactory) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    runtime = make_runtime(NOW)
    headers: dict[str, dict[str, str]] = {}
    with runtime.db.session() as session:
        for role in ("admin", "supervisor", "agent", "integration"):
            key, _ = ApiKeyRepository(session).create(role=role)
            headers[role] = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(runtime, sweep_every_seconds=None), raise_server_exceptions=False) as client:
        yield client, headers


def test_a_conversation_through_the_api(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, keys = api
    started = client.post("/api/v1/conversations", headers=keys["integration"], json={"channel": "chat"})
    assert started.status_code == 201
    conversation_id = started.json()["id"]
    assert started.json()["replies"]

    turn = client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=keys["integration"],
                       json={"text": "cancel order BB-10160 please, I'm aisha.patel@example.com, bought by mistake"})
    assert turn.status_code == 200
    body = turn.json()
    assert body["state"]["verified"] is True and body["state"]["awaiting"] == "confirm"
    assert any("BB-10160" in r for r in body["replies"])

    turn = client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=keys["integration"],
                       json={"text": "yes, and my card is 4111-1111-1111-1111"})
    assert turn.status_code == 200

    ended = client.post(f"/api/v1/conversations/{conversation_id}/end", headers=keys["integration"])
    assert ended.status_code == 200 and ended.json()["ended"] is True

    transcript = client.get(f"/api/v1/conversations/{conversation_id}", headers=keys["agent"]).json()
    texts = " ".join(m["text"] for m in transcript["messages"])
    assert "4111-1111-1111-1111" not in texts and "card ending 1111" in texts
    assert transcript["status"] == "ended"

    tickets = client.get("/api/v1/tickets", headers=keys["agent"],
                         params={"conversation_id": conversation_id}).json()
    items = tickets["items"] if isinstance(tickets, dict) else tickets
    assert len(items) == 1
    ticket = items[0]
    assert ticket["status"] == "resolved" and ticket["category"] == "orders"
    assert ticket["customer_id"] is not None

    recap = client.get(f"/api/v1/tickets/{ticket['number']}/emails/recap", headers=keys["agent"])
    assert recap.status_code == 200
    assert recap.json()["to"] == "aisha.patel@example.com"
    assert str(ticket["number"]) in recap.json()["subject"] and "BB-10160" in recap.json()["body"]
    assert client.get(f"/api/v1/tickets/{ticket['number']}/emails/recap",
                      headers=keys["integration"]).status_code == 403

    after_end = client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=keys["integration"],
                            json={"text": "hello?"})
    assert after_end.status_code == 409 and "error" in after_end.json()


def test_authentication_and_bad_input_get_json_errors(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, keys = api
    assert client.post("/api/v1/conversations").status_code == 401
    assert client.post("/api/v1/conversations", headers={"Authorization": "Bearer nope"}).status_code == 401
    missing = client.post("/api/v1/conversations/does-not-exist/messages", headers=keys["agent"],
                          json={"text": "hi"})
    assert missing.status_code == 404 and missing.json()["error"]["code"]
    started = client.post("/api/v1/conversations", headers=keys["agent"]).json()["id"]
    malformed = client.post(f"/api/v1/conversations/{started}/messages", headers=keys["agent"],
                            json={"txt": "hi"})
    assert malformed.status_code == 422 and "error" in malformed.json()
    too_big = client.post(f"/api/v1/conversations/{started}/messages", headers=keys["agent"],
                          json={"text": "x" * 100_001})
    assert too_big.status_code == 422
    not_json = client.post(f"/api/v1/conversations/{started}/messages", headers=keys["agent"],
                           content=b"{not json", )
    assert not_json.status_code in (400, 422) and "error" in not_json.json()
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200
