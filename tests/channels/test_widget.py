"""The widget socket (channels/widget.py): a key revoked in the console ends the chats already open with it,
with a message saying why; the conversation stays for the team (issue 16)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from helpline.channels import widget
from helpline.store.models import Conversation, Message
from helpline.store.repositories import WidgetKeyRepository
from tests.console.conftest import Console, anon, as_role, console  # noqa: F401 (fixtures)


def _next(ws: WebSocketTestSession, *kinds: str) -> dict[str, Any]:
    for _ in range(50):
        frame: dict[str, Any] = json.loads(ws.receive_text())
        if frame["type"] in kinds:
            return frame
    raise AssertionError(f"none of {kinds}")


def test_revoking_a_key_ends_the_chats_open_with_it(console: Console, anon: TestClient,  # noqa: F811
                                                    as_role: dict[str, tuple[TestClient, str]],  # noqa: F811
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(widget, "KEY_RECHECK_SECONDS", 0.0)  # re-check on every frame, not every few seconds
    with console.runtime.db.session() as session:
        key = WidgetKeyRepository(session).create(label="site")
        public_key, key_id = key.public_key, key.id
    admin, csrf = as_role["admin"]
    with anon.websocket_connect(f"/widget/ws?key={public_key}") as ws:
        ws.send_text(json.dumps({"type": "hello"}))
        conversation_id = _next(ws, "welcome")["conversation_id"]
        ws.send_text(json.dumps({"type": "say", "text": "where is my order", "client_id": "m1"}))
        assert _next(ws, "ack", "slow_down", "error") == {"type": "ack", "client_id": "m1"}  # the key is good

        revoked = admin.post("/console/access/widget-keys/revoke", data={"csrf": csrf, "key_id": key_id})
        assert revoked.status_code == 303
        ws.send_text(json.dumps({"type": "say", "text": "hello?", "client_id": "m2"}))
        assert _next(ws, "ack", "slow_down") == {"type": "ack", "client_id": "m2"}  # not taken: stop resending
        assert _next(ws, "ended")
        assert "no longer available" in _next(ws, "error")["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == widget.POLICY_VIOLATION
    with console.runtime.db.session() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.status != "ended"  # kept for the team
        said = [m.text for m in session.query(Message).filter_by(conversation_id=conversation_id, role="customer")]
    assert said == ["where is my order"]
