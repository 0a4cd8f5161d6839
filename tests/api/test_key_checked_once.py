"""A POST with an Idempotency-Key looks its API key up once: the guard's check is handed to the route through the
request's state. Counted on a real SQLite store (the SELECTs on api_keys); every refusal stays as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from helpline.api.auth import AUTH_FAILURES_PER_ADDRESS
from helpline.api.edge import EdgeGuard
from helpline.api.errors import install_error_handlers
from helpline.api.idempotency import IdempotencyGuard
from helpline.api.limits import SlidingWindow
from helpline.api.records import records_router
from helpline.store.db import Database
from tests.api.counting import CountingCounter

INCIDENT = {"title": "Fibre cut", "message": "Engineers are on site."}


class KeyLookups:
    """Counts the queries that read the api_keys table."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, _connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM api_keys" in statement:
            self.count += 1


@pytest.fixture
def failures() -> CountingCounter:
    return CountingCounter(SlidingWindow(AUTH_FAILURES_PER_ADDRESS, 60.0))


@pytest.fixture
def guarded(records_db: Database, failures: CountingCounter) -> Iterator[tuple[TestClient, KeyLookups]]:
    app = FastAPI()
    app.state.db = records_db
    app.state.api_auth_failures = failures
    install_error_handlers(app)
    app.include_router(records_router(), prefix="/api/v1")
    app.add_middleware(IdempotencyGuard, db=records_db)
    app.add_middleware(EdgeGuard)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, KeyLookups(records_db)


def test_a_keyed_post_looks_its_key_up_once(guarded: tuple[TestClient, KeyLookups],
                                            auth: dict[str, dict[str, str]]) -> None:
    client, lookups = guarded
    made = client.post("/api/v1/incidents", headers={**auth["supervisor"], "Idempotency-Key": "one"}, json=INCIDENT)
    assert made.status_code == 201
    assert lookups.count == 1
    replayed = client.post("/api/v1/incidents", headers={**auth["supervisor"], "Idempotency-Key": "one"},
                           json=INCIDENT)
    assert replayed.headers["idempotent-replayed"] == "true" and replayed.json() == made.json()
    assert lookups.count == 2  # the replay checked its key too, once
    assert client.post("/api/v1/incidents", headers=auth["supervisor"], json=INCIDENT).status_code == 201
    assert lookups.count == 3  # without the header, the route's own check


def test_refusals_are_as_before_and_a_failure_is_counted_once(guarded: tuple[TestClient, KeyLookups],
                                                              failures: CountingCounter,
                                                              auth: dict[str, dict[str, str]]) -> None:
    client, lookups = guarded
    wrong_role = client.post("/api/v1/incidents", headers={**auth["agent"], "Idempotency-Key": "a"}, json=INCIDENT)
    assert wrong_role.status_code == 403 and wrong_role.json()["error"]["code"] == "forbidden"
    assert failures.calls == []  # a right key of the wrong role is no failed authentication
    missing = client.post("/api/v1/incidents", headers={"Idempotency-Key": "b"}, json=INCIDENT)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert failures.calls.count("allow") == 1
    lookups.count = 0
    wrong = client.post("/api/v1/incidents", headers={"Authorization": "Bearer hl_wrongwrongwrong",
                                                      "Idempotency-Key": "c"}, json=INCIDENT)
    assert wrong.status_code == 401 and wrong.json()["error"]["message"] == "invalid or revoked API key"
    assert failures.calls.count("allow") == 2  # counted once, by the route, not by the guard
    assert lookups.count <= 1


def test_the_route_uses_the_guards_check_only_for_the_token_it_reads(guarded: tuple[TestClient, KeyLookups],
                                                                     auth: dict[str, dict[str, str]]) -> None:
    client, _ = guarded
    right = auth["supervisor"]["Authorization"]
    # two Authorization headers: the guard reads the last (a right key), the route the first (a wrong one)
    both = client.post("/api/v1/incidents", json=INCIDENT, headers=[
        ("Authorization", "Bearer hl_wrongwrongwrong"), ("Authorization", right), ("Idempotency-Key", "d")])
    assert both.status_code == 401


def test_a_held_off_address_waits_even_with_a_keyed_right_key(guarded: tuple[TestClient, KeyLookups],
                                                             auth: dict[str, dict[str, str]]) -> None:
    client, _ = guarded
    wrong = {"Authorization": "Bearer hl_guessguessguess"}
    for _ in range(AUTH_FAILURES_PER_ADDRESS):
        assert client.get("/api/v1/tickets", headers=wrong).status_code == 401
    held = client.post("/api/v1/incidents", headers={**auth["supervisor"], "Idempotency-Key": "e"}, json=INCIDENT)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
