"""Finding 7: an integration API key never reaches a log line. The media stream takes it in a header or a
first message, refuses it in the URL, and the server's log lines are scrubbed of query-string secrets
(issue 10; docs/security.md)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from uvicorn.logging import AccessFormatter
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from helpline.store.repositories import ApiKeyRepository
from tests.console.conftest import Console, anon, console  # noqa: F401 (fixtures)

PATH = "/api/v1/media-stream"
START = {"event": "start", "streamSid": "MZ1", "start": {"streamSid": "MZ1", "callSid": "CA1",
                                                         "customParameters": {"caller": "+15550100"},
                                                         "mediaFormat": {"encoding": "audio/x-mulaw",
                                                                         "sampleRate": 8000, "channels": 1}}}


def _keys(console: Console) -> dict[str, str]:  # noqa: F811
    with console.runtime.db.session() as session:
        repo = ApiKeyRepository(session)
        return {role: repo.create(role=role)[0] for role in ("integration", "agent")}


class Lines(logging.Handler):
    """Every log line as the server would print it (uvicorn's own access format)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.access = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False)

    def emit(self, record: logging.LogRecord) -> None:
        formatter = self.access if record.name == "uvicorn.access" else logging.Formatter("%(message)s")
        self.lines.append(formatter.format(record))


@pytest.fixture()
def served(console: Console) -> Iterator[str]:  # noqa: F811
    """The app served as `helpline serve` does: uvicorn with its default logging, at info level."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(console.app, host="127.0.0.1", port=port, log_level="info"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_no_key_in_any_log_line(console: Console, served: str) -> None:  # noqa: F811
    keys = _keys(console)
    secret = keys["integration"]
    capture = Lines()
    loggers = [logging.getLogger(name) for name in ("uvicorn.access", "uvicorn.error")]
    for logger in loggers:
        logger.addHandler(capture)
    try:
        async def calls() -> list[str]:
            outcomes = []
            for url in (f"ws://{served}{PATH}?key={secret}", f"ws://{served}{PATH}?token=abc&key={secret}&x=1"):
                try:
                    async with connect(url) as ws:
                        await ws.send(json.dumps(START))
                        await ws.recv()
                    outcomes.append("talking")
                except InvalidStatus as refused:
                    outcomes.append(f"refused {refused.response.status_code}")
                except ConnectionClosed as closed:
                    outcomes.append(f"closed {closed.rcvd.code if closed.rcvd else ''}")
            return outcomes

        outcomes = asyncio.run(calls())
        with httpx.Client(base_url=f"http://{served}") as client:
            client.get("/api/v1/tickets", params={"key": secret, "password": "hunter2-secret"},
                       headers={"Authorization": f"Bearer {keys['agent']}"})
            client.get(f"/api/v1/health?api_key={secret}")
    finally:
        for logger in loggers:
            logger.removeHandler(capture)
    logged = "\n".join(capture.lines)
    assert PATH in logged and "/api/v1/tickets" in logged, logged
    assert secret not in logged and secret[8:] not in logged
    assert "hunter2-secret" not in logged
    assert "key=***" in logged
    assert outcomes == ["refused 403", "refused 403"]  # and never accepted in the URL


def test_the_key_in_a_header_or_the_first_message(console: Console, anon: TestClient) -> None:  # noqa: F811
    keys = _keys(console)

    def outcome(url: str, headers: dict[str, str] | None = None, first: dict[str, Any] | None = None) -> str:
        try:
            with anon.websocket_connect(url, headers=dict(headers or {})) as ws:
                if first is not None:
                    ws.send_text(json.dumps(first))
                ws.send_text(json.dumps({"event": "connected"}))
                ws.send_text(json.dumps(START))
                message = ws.receive()
                return f"closed {message.get('code')}"
        except WebSocketDisconnect as refused:
            return f"refused {refused.code}"

    # This server has no speech models: an accepted call is closed with 1013 (try again later).
    assert outcome(PATH, headers={"Authorization": f"Bearer {keys['integration']}"}) == "closed 1013"
    assert outcome(PATH, first={"event": "authenticate", "key": keys["integration"]}) == "closed 1013"
    assert outcome(PATH, first={"event": "authenticate", "key": keys["agent"]}) == "closed 1008"
    assert outcome(PATH, first={"event": "authenticate", "key": "hl_\x00nope"}) == "closed 1008"
    assert outcome(f"{PATH}?key={keys['integration']}") == "refused 1008"
