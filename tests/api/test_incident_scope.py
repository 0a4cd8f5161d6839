"""Declaring scoped incidents over the API: scope, kind, the maintenance window and messages per language are
kept and listed; an unknown kind or a window that ends before it starts is a clear 422, never a 500."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

Headers = dict[str, dict[str, str]]

MAINTENANCE = {
    "title": "Millbrook network upgrade", "kind": "planned_maintenance", "scope": {"region": ["Millbrook"]},
    "message": "Service may drop for a few minutes while we upgrade the network.",
    "window_start": "2026-12-09T01:00:00-05:00", "window_end": "2026-12-09T04:00:00-05:00",
}


def _refused(response: Any, *words: str) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    message = str(body["error"]["message"]) + str(body["error"].get("details", ""))
    for word in words:
        assert word in message, message
    return message


def test_a_scoped_outage_with_messages_per_language_round_trips(client: TestClient, auth: Headers) -> None:
    body = {"title": "Fibre cut", "scope": {"region": ["Millbrook"], "postcode": ["05301", "05302"]},
            "affected": ["no_internet"], "messages": {"en": "Fibre is cut in Millbrook.", "es": "Sin fibra."}}
    created = client.post("/api/v1/incidents", json=body, headers=auth["supervisor"])
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["scope"] == body["scope"] and out["messages"] == body["messages"]
    assert out["kind"] == "outage" and out["message"] == "Fibre is cut in Millbrook." and out["active"]
    listed = client.get("/api/v1/incidents", headers=auth["agent"]).json()
    assert [i["scope"] for i in listed] == [body["scope"]]


def test_planned_maintenance_keeps_its_window(client: TestClient, auth: Headers) -> None:
    created = client.post("/api/v1/incidents", json=MAINTENANCE, headers=auth["supervisor"])
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["kind"] == "planned_maintenance"
    assert out["window_start"].startswith("2026-12-09T06:00:00") and out["window_end"].startswith("2026-12-09T09:00")


def test_an_unknown_kind_is_refused(client: TestClient, auth: Headers) -> None:
    _refused(client.post("/api/v1/incidents", json={**MAINTENANCE, "kind": "meteor_strike"},
                         headers=auth["supervisor"]), "kind")


def test_a_window_that_ends_before_it_starts_is_refused(client: TestClient, auth: Headers) -> None:
    backwards = {**MAINTENANCE, "window_end": "2026-12-08T23:00:00-05:00"}
    _refused(client.post("/api/v1/incidents", json=backwards, headers=auth["supervisor"]),
             "window_end must be after window_start")


def test_maintenance_needs_a_window_and_an_outage_has_none(client: TestClient, auth: Headers) -> None:
    no_window = {k: v for k, v in MAINTENANCE.items() if k != "window_end"}
    _refused(client.post("/api/v1/incidents", json=no_window, headers=auth["supervisor"]), "window")
    outage_with_window = {**MAINTENANCE, "kind": "outage"}
    _refused(client.post("/api/v1/incidents", json=outage_with_window, headers=auth["supervisor"]), "window")


def test_bad_scopes_and_languages_are_refused(client: TestClient, auth: Headers) -> None:
    for scope in ({"region": []}, {"bad key!": ["x"]}, {"region": "Millbrook"}, {"region": [""]}):
        response = client.post("/api/v1/incidents", json={"title": "x", "message": "y", "scope": scope},
                               headers=auth["supervisor"])
        assert response.status_code == 422, (scope, response.text)
    _refused(client.post("/api/v1/incidents", json={"title": "x", "messages": {"english": "y"}},
                         headers=auth["supervisor"]))
    _refused(client.post("/api/v1/incidents", json={"title": "x"}, headers=auth["supervisor"]), "message")
