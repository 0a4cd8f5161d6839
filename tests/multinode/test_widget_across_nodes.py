"""A customer's widget connected to node B gets the reply a person types in node A's console, while the chat is
open (issue 12): the two nodes share only PostgreSQL and Redis, as two processes behind a load balancer would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from helpline.api.app import create_app
from helpline.console.security import hash_password
from helpline.runtime import Runtime, build_runtime
from helpline.store.repositories import ConsoleUserRepository, HandoffRepository, WidgetKeyRepository
from tests.conftest import DEMO, DemoModels
from tests.console.conftest import PASSWORD, login

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture()
def two_nodes(postgres_pair: tuple[str, str], redis_prefix: tuple[str, str], demo_models: DemoModels,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runtime, Runtime]]:
    helpline_url, records_url = postgres_pair
    redis_url, prefix = redis_prefix
    monkeypatch.setenv("HELPLINE_REDIS_PREFIX", prefix)
    nodes = [build_runtime(DEMO, db_url=helpline_url, records_url=records_url, models=demo_models.models,
                           redis_url=redis_url) for _ in range(2)]
    try:
        yield nodes[0], nodes[1]
    finally:
        for node in nodes:
            if node.shared is not None:
                node.shared.close()
            node.db.dispose()
            if node.operations.sql is not None:
                node.operations.sql.engine.dispose()


def _until(ws: WebSocketTestSession, kind: str, **match: Any) -> dict[str, Any]:
    for _ in range(50):
        frame: dict[str, Any] = json.loads(ws.receive_text())
        if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame
    raise AssertionError(f"no {kind} frame")


def test_a_console_reply_on_node_a_reaches_the_widget_open_on_node_b(two_nodes: tuple[Runtime, Runtime]) -> None:
    node_a, node_b = two_nodes
    with node_a.db.session() as session:
        ConsoleUserRepository(session).create(email="agent@example.com", role="agent",
                                              password_hash=hash_password(PASSWORD), name="Agent")
        key = WidgetKeyRepository(session).create(label="site", allowed_origins=()).public_key
    app_a = create_app(node_a, sweep_every_seconds=None)
    app_b = create_app(node_b, sweep_every_seconds=None)
    with TestClient(app_a, raise_server_exceptions=False, follow_redirects=False) as staff, \
            TestClient(app_b, raise_server_exceptions=False) as browser:
        csrf = login(staff, "agent@example.com")
        with browser.websocket_connect(f"/widget/ws?key={key}") as ws:
            ws.send_text(json.dumps({"type": "hello"}))
            conversation_id = _until(ws, "welcome")["conversation_id"]
            ws.send_text(json.dumps({"type": "say", "text": "I want to talk to a human please", "client_id": "c1"}))
            _until(ws, "ack", client_id="c1")
            with node_a.db.session() as session:
                pending = HandoffRepository(session).list(actor="test", pending_only=True)
            assert [h.conversation_id for h in pending] == [conversation_id]

            # The person answers on node A while the customer's socket stays open on node B.
            answered: list[int] = []

            def answer() -> None:
                answered.append(staff.post(f"/console/inbox/{pending[0].id}/accept",
                                           data={"csrf": csrf}).status_code)
                answered.append(staff.post(f"/console/conversations/{conversation_id}/reply",
                                           data={"csrf": csrf, "text": "Hi, this is Agent from the team."})
                                .status_code)

            person = threading.Thread(target=answer)
            person.start()
            human = _until(ws, "message", role="human")
            person.join(timeout=60)
    assert answered == [303, 303]
    assert human["text"] == "Hi, this is Agent from the team." and human["by"] == "Agent"
