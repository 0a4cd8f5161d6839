"""Records API: authentication, roles, JSON errors, ticket filters and updates, incidents, audit, health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from helpline import __version__
from helpline.store.db import Database
from helpline.store.models import Ticket
from helpline.store.repositories import (
    ApiKeyRepository,
    CallbackRepository,
    ConversationRepository,
    CustomerRepository,
    TicketRepository,
)

T0 = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
Headers = dict[str, dict[str, str]]


@pytest.fixture
def seeded(records_db: Database) -> dict[str, str]:
    """Three tickets (1001 chat/billing, 1002 voice/orders with a conversation, 1003 email/escalated)."""
    with records_db.session() as session:
        customer = CustomerRepository(session).upsert_from_record(actor="system", external_id="C-1001",
                                                                  name="Lucas Reed", email="lucas@example.com")
        conversation = ConversationRepository(session).create(channel="voice", actor="system")
        tickets = TicketRepository(session)
        first = tickets.create(actor="system", channel="chat", category="billing", priority="high",
                               summary="Double charge on card", customer_id=customer.id, now=T0)
        second = tickets.create(actor="system", channel="voice", category="orders", summary="Where is my parcel",
                                conversation_id=conversation.id, now=T0 + timedelta(hours=1))
        tickets.create(actor="system", channel="email", category="app", status="escalated", priority="urgent",
                       summary="App crashes on login", now=T0 + timedelta(hours=2))
        callbacks = CallbackRepository(session)
        callbacks.schedule(actor="system", due_at=T0, phone="+15125550126", reason="Refund check",
                           ticket_id=first.id)
        callbacks.schedule(actor="system", due_at=T0 + timedelta(days=1), email="lucas@example.com")
        return {"customer": customer.id, "conversation": conversation.id, "first": first.id, "second": second.id}


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


# --- auth --------------------------------------------------------------------------------------


def test_missing_bad_and_revoked_keys_get_401(client: TestClient, records_db: Database,
                                               keys: dict[str, str]) -> None:
    response = client.get("/api/v1/tickets")
    _error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    _error(client.get("/api/v1/tickets", headers={"Authorization": "Bearer hl_wrongwrongwrong"}), 401,
           "unauthorized")
    _error(client.get("/api/v1/tickets", headers={"Authorization": f"Basic {keys['agent']}"}), 401, "unauthorized")
    with records_db.session() as session:
        ApiKeyRepository(session).revoke(keys["agent"][:8], actor="system")
    _error(client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {keys['agent']}"}), 401,
           "unauthorized")


def test_roles(client: TestClient, auth: Headers) -> None:
    for role in ("agent", "supervisor", "admin"):
        assert client.get("/api/v1/tickets", headers=auth[role]).status_code == 200
    _error(client.get("/api/v1/tickets", headers=auth["integration"]), 403, "forbidden")
    incident = {"title": "Outage", "message": "We are on it."}
    _error(client.post("/api/v1/incidents", json=incident, headers=auth["agent"]), 403, "forbidden")
    assert client.post("/api/v1/incidents", json=incident, headers=auth["admin"]).status_code == 201
    for role in ("agent", "supervisor", "integration"):
        _error(client.get("/api/v1/audit", headers=auth[role]), 403, "forbidden")
    assert client.get("/api/v1/audit", headers=auth["admin"]).status_code == 200


# --- tickets -----------------------------------------------------------------------------------


def test_ticket_filters(client: TestClient, auth: Headers, seeded: dict[str, str]) -> None:
    def numbers(**params: str | int) -> list[int]:
        response = client.get("/api/v1/tickets", params=params, headers=auth["agent"])
        assert response.status_code == 200, response.text
        return [t["number"] for t in response.json()["items"]]

    assert numbers() == [1003, 1002, 1001]
    assert numbers(status="escalated") == [1003]
    assert numbers(priority="high") == [1001]
    assert numbers(channel="voice") == [1002]
    assert numbers(category="billing") == [1001]
    assert numbers(customer_id=seeded["customer"]) == [1001]
    assert numbers(conversation_id=seeded["conversation"]) == [1002]
    assert numbers(q="parcel") == [1002]
    assert numbers(created_from=(T0 + timedelta(minutes=30)).isoformat()) == [1003, 1002]
    assert numbers(created_to=(T0 + timedelta(minutes=30)).isoformat()) == [1001]
    assert numbers(limit=1, offset=2) == [1001]
    page = client.get("/api/v1/tickets", params={"limit": 1}, headers=auth["agent"]).json()
    assert page["total"] == 3 and page["limit"] == 1 and len(page["items"]) == 1
    fields = _error(client.get("/api/v1/tickets", params={"limit": 500}, headers=auth["agent"]), 422,
                    "validation_error")["fields"]
    assert [f["field"] for f in fields] == ["query.limit"]
    _error(client.get("/api/v1/tickets", params={"status": "lost"}, headers=auth["agent"]), 422, "validation_error")


def test_get_ticket_by_id_or_number(client: TestClient, auth: Headers, seeded: dict[str, str]) -> None:
    by_number = client.get("/api/v1/tickets/1001", headers=auth["agent"])
    assert by_number.status_code == 200
    ticket = by_number.json()
    assert ticket["id"] == seeded["first"] and ticket["summary"] == "Double charge on card"
    assert ticket["created_at"].startswith("2026-11-20T16:00:00")
    assert client.get(f"/api/v1/tickets/{seeded['first']}", headers=auth["agent"]).json()["number"] == 1001
    _error(client.get("/api/v1/tickets/999", headers=auth["agent"]), 404, "not_found")
    _error(client.get("/api/v1/tickets/no-such-id", headers=auth["agent"]), 404, "not_found")


def test_a_ticket_shows_its_survey_answers(client: TestClient, auth: Headers, records_db: Database,
                                           seeded: dict[str, str]) -> None:
    assert client.get("/api/v1/tickets/1001", headers=auth["agent"]).json()["nps"] is None
    with records_db.session() as session:  # as a survey reply stores it (outbound/surveys.py)
        session.get(Ticket, seeded["first"]).nps = 9  # type: ignore[union-attr]
    assert client.get("/api/v1/tickets/1001", headers=auth["agent"]).json()["nps"] == 9


def test_patch_ticket(client: TestClient, auth: Headers, keys: dict[str, str], seeded: dict[str, str]) -> None:
    response = client.patch("/api/v1/tickets/1001", headers=auth["agent"],
                            json={"status": "resolved", "resolution": "Refunded the duplicate", "csat": 5,
                                  "tags": ["billing", "refund"], "notes": "Customer happy"})
    assert response.status_code == 200, response.text
    ticket = response.json()
    assert ticket["status"] == "resolved" and ticket["closed_at"] is not None
    assert ticket["csat"] == 5 and ticket["tags"] == ["billing", "refund"]
    reopened = client.patch(f"/api/v1/tickets/{seeded['first']}", headers=auth["agent"],
                            json={"status": "open", "csat": None}).json()
    assert reopened["closed_at"] is None and reopened["csat"] is None
    audit = client.get("/api/v1/audit", params={"entity": "ticket", "action": "update"}, headers=auth["admin"]).json()
    assert {a["actor"] for a in audit} == {f"apikey:{keys['agent'][:8]}"}
    assert audit[-1]["detail"]["status"] == ["open", "resolved"]
    assert audit[-1]["customer_id"] == seeded["customer"]


def test_patch_ticket_rejects_bad_input(client: TestClient, auth: Headers, seeded: dict[str, str]) -> None:
    error = _error(client.patch("/api/v1/tickets/1001", json={"priority": "whenever", "csat": 9},
                                headers=auth["agent"]), 422, "validation_error")
    assert {f["field"] for f in error["fields"]} == {"body.priority", "body.csat"}
    _error(client.patch("/api/v1/tickets/1001", json={"number": 7}, headers=auth["agent"]), 422, "validation_error")
    _error(client.patch("/api/v1/tickets/1001", json={"tags": "refund"}, headers=auth["agent"]), 422,
           "validation_error")
    _error(client.patch("/api/v1/tickets/1001", content=b"{not json", headers={**auth["agent"],
           "Content-Type": "application/json"}), 422, "validation_error")
    _error(client.patch("/api/v1/tickets/4242", json={"notes": "x"}, headers=auth["agent"]), 404, "not_found")
    ticket = client.get("/api/v1/tickets/1001", headers=auth["agent"]).json()
    assert ticket["priority"] == "high" and ticket["csat"] is None


# --- callbacks, incidents, audit ---------------------------------------------------------------


def test_callbacks(client: TestClient, auth: Headers, seeded: dict[str, str]) -> None:
    everything = client.get("/api/v1/callbacks", headers=auth["agent"]).json()
    assert [c["reason"] for c in everything] == ["Refund check", ""]
    due = client.get("/api/v1/callbacks", params={"due_before": (T0 + timedelta(hours=1)).isoformat()},
                     headers=auth["agent"]).json()
    assert [c["phone"] for c in due] == ["+15125550126"]
    assert client.get("/api/v1/callbacks", params={"status": "done"}, headers=auth["agent"]).json() == []
    _error(client.get("/api/v1/callbacks", params={"status": "later"}, headers=auth["agent"]), 422,
           "validation_error")


def test_incidents_create_list_end(client: TestClient, auth: Headers) -> None:
    body = {"title": "App login outage", "message": "Some customers cannot sign in.", "affected": ["app"],
            "expected_fix": "by 3pm"}
    created = client.post("/api/v1/incidents", json=body, headers=auth["supervisor"])
    assert created.status_code == 201, created.text
    incident = created.json()
    assert incident["active"] is True and incident["affected"] == ["app"] and incident["ended_at"] is None
    listed = client.get("/api/v1/incidents", headers=auth["agent"]).json()
    assert [i["id"] for i in listed] == [incident["id"]]
    ended = client.delete(f"/api/v1/incidents/{incident['id']}", headers=auth["supervisor"])
    assert ended.status_code == 204 and ended.content == b""
    assert client.get("/api/v1/incidents", headers=auth["agent"]).json() == []
    history = client.get("/api/v1/incidents", params={"include_ended": True}, headers=auth["agent"]).json()
    assert history[0]["active"] is False and history[0]["ended_at"] is not None
    _error(client.delete("/api/v1/incidents/missing", headers=auth["supervisor"]), 404, "not_found")
    _error(client.post("/api/v1/incidents", json={"title": "", "message": "x"}, headers=auth["supervisor"]), 422,
           "validation_error")


def test_reads_are_audited_under_the_key(client: TestClient, auth: Headers, keys: dict[str, str],
                                         seeded: dict[str, str]) -> None:
    client.get("/api/v1/tickets/1001", headers=auth["supervisor"])
    entries = client.get("/api/v1/audit", params={"customer_id": seeded["customer"], "action": "read"},
                         headers=auth["admin"]).json()
    assert entries[0]["actor"] == f"apikey:{keys['supervisor'][:8]}"
    assert (entries[0]["entity"], entries[0]["entity_id"]) == ("ticket", seeded["first"])
    limited = client.get("/api/v1/audit", params={"limit": 2}, headers=auth["admin"]).json()
    assert len(limited) == 2


# --- health and errors -------------------------------------------------------------------------


def test_health_needs_no_key(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__, "database": "ok"}


def test_unknown_route_and_unexpected_error_are_json(records_app: FastAPI, client: TestClient) -> None:
    _error(client.get("/api/v1/nothing-here"), 404, "not_found")

    @records_app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    response = client.get("/boom")
    error = _error(response, 500, "internal_error")
    assert "secret" not in response.text and "Traceback" not in response.text and "RuntimeError" not in str(error)


def test_openapi_documents_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/tickets", "/api/v1/tickets/{ticket_ref}", "/api/v1/callbacks", "/api/v1/incidents",
            "/api/v1/incidents/{incident_id}", "/api/v1/audit", "/api/v1/health"} <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
