"""Finding 10, the API and storage parts: ticket refs are ASCII numbers or ids, a rating is a strict 1-5 and
is not replaced, date filters are ISO 8601 only, and SQLite's durability is a setting that defaults to
nothing acknowledged being lost (issue 10; docs/security.md). The widget parts are in test_api_widget.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from helpline.store.db import Database
from tests.console.conftest import as_role, console  # noqa: F401 (fixtures)
from tests.security.test_api_edge import Stack, client, stack  # noqa: F401 (fixtures)


def test_ticket_refs_are_ascii_numbers_or_ids(client: TestClient, stack: Stack) -> None:  # noqa: F811
    auth = stack.auth("agent")
    assert client.get("/api/v1/tickets/1001", headers=auth).json()["number"] == 1001
    for ref in ("²", "¹²", "١٠٠١", "𝟏𝟎𝟎𝟏", "1001 ", "-1", "10.01"):
        response = client.get(f"/api/v1/tickets/{ref}", headers=auth)
        assert response.status_code in (404, 422), (ref, response.status_code)
        assert "invalid literal" not in response.text and "int()" not in response.text, response.text
    # A well-formed id that does not exist is simply not found.
    assert client.get("/api/v1/tickets/0f8e2a4c-5b7d-4f5e-9d1a-2c3b4a5d6e7f", headers=auth).status_code == 404


def test_a_rating_is_a_strict_number_and_is_not_replaced(client: TestClient, stack: Stack) -> None:  # noqa: F811
    auth = stack.auth("agent")
    # 4.0 is a JSON Schema integer like 4 (the OpenAPI document says so); 4.5, true and "5" are not
    for bad in (True, False, "5", 4.5, 0, 6):
        response = client.patch("/api/v1/tickets/1001", json={"csat": bad}, headers=auth)
        assert response.status_code == 422, (bad, response.text)
    assert client.get("/api/v1/tickets/1001", headers=auth).json()["csat"] is None
    assert client.patch("/api/v1/tickets/1001", json={"csat": 2}, headers=auth).json()["csat"] == 2
    replaced = client.patch("/api/v1/tickets/1001", json={"csat": 5}, headers=auth)
    assert replaced.status_code == 409 and replaced.json()["error"]["code"] == "conflict"
    assert client.patch("/api/v1/tickets/1001", json={"csat": 2, "notes": "same"}, headers=auth).status_code == 200
    assert client.get("/api/v1/tickets/1001", headers=auth).json()["csat"] == 2


def test_date_filters_take_iso_8601_only(client: TestClient, stack: Stack) -> None:  # noqa: F811
    auth = stack.auth("agent")
    for bad in ("0.5", "1", "-1", "1e9", "inf", "nan"):
        for name in ("created_from", "created_to"):
            response = client.get("/api/v1/tickets", params={name: bad}, headers=auth)
            assert response.status_code == 422, (name, bad, response.text)
    assert client.get("/api/v1/tickets", params={"created_from": "2020-01-01T00:00:00Z"},
                      headers=auth).json()["total"] == 1


def test_console_ticket_numbers_in_and_out_of_range(as_role: dict[str, tuple[TestClient, str]]) -> None:  # noqa: F811
    agent, csrf = as_role["agent"]
    for q in ("²", "١٠٠١", "#²"):
        response = agent.get("/console/tickets", params={"q": q})
        assert response.status_code == 200, (q, response.status_code)
    assert agent.get("/console/tickets/99999999999999999999").status_code in (404, 422)
    assert agent.get("/console/tickets", params={"page": 2**63}).status_code == 200
    far = agent.get("/console/tickets", params={"date_to": "9999-12-31"})  # past the last day a bound can hold
    assert far.status_code == 400 and "is out of range" in far.text
    supervisor, csrf = as_role["supervisor"]
    merged = supervisor.post("/console/tickets/1001/merge", data={"csrf": csrf, "duplicate": str(2**63)})
    assert merged.status_code == 303


def _synchronous(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(text("PRAGMA synchronous")).scalar_one())


def test_sqlite_durability_is_a_setting_with_a_safe_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELPLINE_SQLITE_SYNCHRONOUS", raising=False)
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    levels = {"normal": 1, "full": 2, "extra": 3}
    db = Database(url)
    assert _synchronous(db) == levels["full"]  # every acknowledged commit is on disk
    db.dispose()
    for name, level in levels.items():
        db = Database(url, synchronous=name)
        assert _synchronous(db) == level
        db.dispose()
        monkeypatch.setenv("HELPLINE_SQLITE_SYNCHRONOUS", name.upper())
        db = Database(url)
        assert _synchronous(db) == level
        db.dispose()
    monkeypatch.setenv("HELPLINE_SQLITE_SYNCHRONOUS", "off")
    with pytest.raises(ValueError, match=re.escape("HELPLINE_SQLITE_SYNCHRONOUS")):
        Database(url)
