"""Findings 6 and 10 (widget): a message refused by the rate limit, or failing, is not remembered as seen,
so its resend is kept; bad frames never drop the socket; a chat is rated once (issue 10; docs/security.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from helpline.store.models import Message, Ticket
from helpline.store.repositories import WidgetKeyRepository
from tests.console.conftest import Console, anon, console  # noqa: F401 (fixtures)


class Gate:
    """A stand-in for the widget's message rate limit that the test opens and closes."""

    def __init__(self) -> None:
        self.open = True

    def allow(self, key: str, now: float | None = None) -> bool:
        return self.open

    def retry_after(self, key: str, now: float | None = None) -> int:
        return 1


def _key(console: Console) -> str:  # noqa: F811
    with console.runtime.db.session() as session:
        return WidgetKeyRepository(session).create(label="site").public_key


def _next(ws: WebSocketTestSession, *kinds: str) -> dict[str, Any]:
    for _ in range(50):
        frame: dict[str, Any] = json.loads(ws.receive_text())
        if frame["type"] in kinds:
            return frame
    raise AssertionError(f"none of {kinds}")


def _customer_lines(console: Console, conversation_id: str) -> list[str]:  # noqa: F811
    with console.runtime.db.session() as session:
        return [m.text for m in session.query(Message).filter_by(conversation_id=conversation_id, role="customer")
                .order_by(Message.seq)]


def test_a_message_refused_by_the_rate_limit_is_kept_when_resent(console: Console,  # noqa: F811
                                                                  anon: TestClient) -> None:  # noqa: F811
    gate = Gate()
    console.app.state.widget.messages = gate
    with anon.websocket_connect(f"/widget/ws?key={_key(console)}") as ws:
        ws.send_text(json.dumps({"type": "hello"}))
        conversation_id = _next(ws, "welcome")["conversation_id"]
        gate.open = False
        for n in range(5):
            ws.send_text(json.dumps({"type": "say", "text": f"message number {n}", "client_id": f"m{n}"}))
            refused = _next(ws, "ack", "slow_down", "error")
            assert refused["type"] == "slow_down" and refused["client_id"] == f"m{n}", refused
            assert refused["retry_after"] >= 1
        assert _customer_lines(console, conversation_id) == []
        gate.open = True  # the client sends them again with the same ids, as widget.js does
        for n in range(5):
            ws.send_text(json.dumps({"type": "say", "text": f"message number {n}", "client_id": f"m{n}"}))
            assert _next(ws, "ack", "slow_down", "error") == {"type": "ack", "client_id": f"m{n}"}
        # ...and a repeat of a stored one is still dropped.
        ws.send_text(json.dumps({"type": "say", "text": "message number 0", "client_id": "m0"}))
        assert _next(ws, "ack", "slow_down", "error") == {"type": "ack", "client_id": "m0"}
    assert _customer_lines(console, conversation_id) == [f"message number {n}" for n in range(5)]


def test_a_message_that_fails_is_kept_when_resent(console: Console, anon: TestClient,  # noqa: F811
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    service = console.runtime.conversations
    real_post = service.post

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    with anon.websocket_connect(f"/widget/ws?key={_key(console)}") as ws:
        ws.send_text(json.dumps({"type": "hello"}))
        conversation_id = _next(ws, "welcome")["conversation_id"]
        monkeypatch.setattr(service, "post", failing)
        ws.send_text(json.dumps({"type": "say", "text": "where is my order?", "client_id": "x1"}))
        assert _next(ws, "ack", "slow_down", "error")["type"] == "slow_down"
        monkeypatch.setattr(service, "post", real_post)
        ws.send_text(json.dumps({"type": "say", "text": "where is my order?", "client_id": "x1"}))
        assert _next(ws, "ack", "slow_down", "error") == {"type": "ack", "client_id": "x1"}
    assert _customer_lines(console, conversation_id) == ["where is my order?"]


def test_bad_frames_never_drop_the_socket(console: Console, anon: TestClient) -> None:  # noqa: F811
    key = _key(console)
    with anon.websocket_connect(f"/widget/ws?key={key}") as ws:
        ws.send_text(json.dumps({"type": "hello"}))
        welcome = _next(ws, "welcome")
    for last_seq in ("abc", "1.5", {"x": 1}, [3], True, -7, "٣"):
        with anon.websocket_connect(f"/widget/ws?key={key}") as ws:
            ws.send_text(json.dumps({"type": "hello", "conversation_id": welcome["conversation_id"],
                                     "token": welcome["token"], "last_seq": last_seq}))
            assert _next(ws, "welcome")["resumed"] is True, last_seq
            ws.send_bytes(b"\x00\x01binary")
            ws.send_text(json.dumps({"type": "say", "text": {"not": "text"}, "client_id": ["odd"]}))
            ws.send_text(json.dumps({"type": "rate", "score": "5"}))
            assert _next(ws, "error")["message"]
            ws.send_text(json.dumps({"type": "say", "text": f"still here {last_seq!s}\x00",
                                     "client_id": f"s-{last_seq!s}"}))
            assert _next(ws, "ack")["client_id"] == f"s-{last_seq!s}"
    lines = _customer_lines(console, welcome["conversation_id"])
    assert "still here abc" in lines and not any("\x00" in line for line in lines)


def test_a_chat_is_rated_once(console: Console, anon: TestClient) -> None:  # noqa: F811
    with anon.websocket_connect(f"/widget/ws?key={_key(console)}") as ws:
        ws.send_text(json.dumps({"type": "hello"}))
        conversation_id = _next(ws, "welcome")["conversation_id"]
        ws.send_text(json.dumps({"type": "end"}))
        _next(ws, "ended")
        ws.send_text(json.dumps({"type": "rate", "score": 2}))
        assert _next(ws, "rated", "error") == {"type": "rated", "score": 2}
        ws.send_text(json.dumps({"type": "rate", "score": 5}))
        assert _next(ws, "rated", "error")["type"] == "error"
    with console.runtime.db.session() as session:
        assert session.query(Ticket).filter_by(conversation_id=conversation_id).one().csat == 2
