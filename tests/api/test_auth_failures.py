"""Failed API authentications per address: the shared counter (Redis on several nodes) is asked only when a
key is missing or wrong, never for a request with a right key; past the limit the address waits (429), right
key or not, on every node that has seen it fail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from helpline.api.auth import AUTH_FAILURES_PER_ADDRESS, FailureGate
from helpline.api.errors import install_error_handlers
from helpline.api.limits import SlidingWindow
from helpline.api.records import records_router
from helpline.store.db import Database
from tests.api.counting import CountingCounter


def _node(db: Database, counter: CountingCounter) -> FastAPI:
    app = FastAPI()
    app.state.db = db
    app.state.api_auth_failures = counter
    install_error_handlers(app)
    app.include_router(records_router(), prefix="/api/v1")
    return app


@pytest.fixture
def shared() -> CountingCounter:
    return CountingCounter(SlidingWindow(AUTH_FAILURES_PER_ADDRESS, 60.0))


@pytest.fixture
def two_nodes(records_db: Database, shared: CountingCounter) -> Iterator[tuple[TestClient, TestClient]]:
    with TestClient(_node(records_db, shared), raise_server_exceptions=False) as a, \
            TestClient(_node(records_db, shared), raise_server_exceptions=False) as b:
        yield a, b


def test_a_right_key_costs_no_round_trip(two_nodes: tuple[TestClient, TestClient], shared: CountingCounter,
                                         auth: dict[str, dict[str, str]]) -> None:
    node, _ = two_nodes
    for _ in range(20):
        assert node.get("/api/v1/tickets", headers=auth["agent"]).status_code == 200
    assert shared.calls == []
    assert node.get("/api/v1/tickets", headers={"Authorization": "Bearer hl_wrong"}).status_code == 401
    assert shared.calls  # a failure is counted where every node sees it


def test_past_the_limit_the_address_waits_on_every_node(two_nodes: tuple[TestClient, TestClient],
                                                        auth: dict[str, dict[str, str]]) -> None:
    node_a, node_b = two_nodes
    wrong = {"Authorization": "Bearer hl_guess"}
    assert [node_a.get("/api/v1/tickets", headers=wrong).status_code
            for _ in range(AUTH_FAILURES_PER_ADDRESS)] == [401] * AUTH_FAILURES_PER_ADDRESS
    held = node_a.get("/api/v1/tickets", headers=auth["agent"])  # right key or not
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    # the other node: a guess from there is refused by the shared count, and from then on so is a right key
    guess = node_b.get("/api/v1/tickets", headers=wrong)
    assert guess.status_code == 429 and guess.json()["error"]["code"] == "too_many_requests"
    assert node_b.get("/api/v1/tickets", headers=auth["agent"]).status_code == 429


def test_an_address_may_try_again_once_its_wait_is_over() -> None:
    now = [1000.0]
    gate = FailureGate(SlidingWindow(2, 60.0), clock=lambda: now[0])
    assert gate.failed("a") == 0 and gate.held_off("a") == 0
    assert gate.failed("a") == 0  # the second fills the window: the next attempt waits
    assert 0 < gate.held_off("a") <= 60 and gate.held_off("b") == 0
    now[0] += 61
    assert gate.held_off("a") == 0
