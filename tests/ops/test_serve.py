"""`helpline serve --log-format json` as a process: every request's log line is JSON with its request id, no
customer data reaches the log, and SIGTERM ends the server (and its background jobs) with exit status 0 — after
finishing the chat turn in flight, whose customer gets the reply (a deployment's rolling restart relies on it).

The turn is held in flight by a language model that answers slowly: a tiny OpenAI-compatible server in the test
that keeps its answer until the test lets it go, after the signal was sent."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from helpline.store.db import Database
from helpline.store.repositories import ApiKeyRepository
from tests.ops.conftest import START_TIMEOUT, helpline, wait_until
from tests.smtp_inbox import free_port


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


class HeldModel:
    """Answers every chat completion with nothing useful (the embedded reading is kept), but only once released."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server hook
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                model.asked.set()
                model.release.wait(60)
                body = json.dumps({"id": "held", "object": "chat.completion", "model": "held",
                                   "choices": [{"index": 0, "finish_reason": "stop",
                                                "message": {"role": "assistant", "content": "{}"}}],
                                   "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def held_model() -> Iterator[HeldModel]:
    model = HeldModel()
    thread = threading.Thread(target=model.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield model
    finally:
        model.release.set()
        model.server.shutdown()
        model.server.server_close()


def test_json_logs_carry_the_request_id_and_sigterm_finishes_the_turn_then_exits_0(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'helpline.db'}"
    db = Database(url)
    db.migrate()
    with db.session() as session:
        key, _ = ApiKeyRepository(session).create(role="admin")
    db.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with held_model() as model, helpline(["serve", "--db", url, "--port", str(port), "--no-phone", "--log-format",
                                          "json", "--llm-url", model.url, "--llm-model", "held", "--llm-mode", "llm"],
                                         tmp_path / "serve.log") as server:
        def healthy() -> bool:
            if server.process.poll() is not None:
                raise AssertionError(server.text()[-3000:])
            try:
                return httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, START_TIMEOUT, "the server")
        headers = {"Authorization": f"Bearer {key}"}
        reply = httpx.get(f"{base}/api/v1/ready", headers={"X-Request-ID": "probe-1234"})
        assert reply.status_code == 200 and reply.headers["x-request-id"] == "probe-1234"
        erase = httpx.delete(f"{base}/api/v1/customers/ann.customer@example.com", headers=headers)
        assert erase.status_code == 404  # nothing held for her
        erase_id = erase.headers["x-request-id"]
        wait_until(lambda: erase_id in server.text(), 10, "the erasure's access line")

        started = httpx.post(f"{base}/api/v1/conversations", headers=headers, timeout=30)
        assert started.status_code == 201, started.text
        turn: dict[str, httpx.Response | BaseException] = {}

        def ask() -> None:
            try:
                turn["reply"] = httpx.post(f"{base}/api/v1/conversations/{started.json()['id']}/messages",
                                           headers=headers, json={"text": "where is my order BB-10001?"}, timeout=60)
            except BaseException as error:  # reported by the assertion below
                turn["reply"] = error

        customer = threading.Thread(target=ask)
        customer.start()
        assert model.asked.wait(60), "the turn never reached the language model"
        server.process.send_signal(signal.SIGTERM)  # while the turn waits on the model
        wait_until(lambda: "Shutting down" in server.text() or server.process.poll() is not None, 30,
                   "the server to begin shutting down")
        assert server.process.poll() is None, "the server quit with a turn in flight"
        model.release.set()
        customer.join(60)
        exit_code = server.process.wait(timeout=60)
        log = server.text()

    reply = turn.get("reply")
    assert isinstance(reply, httpx.Response), f"the customer got no reply: {reply!r}\n{log[-3000:]}"
    assert reply.status_code == 200 and reply.json()["replies"], reply.text
    assert exit_code == 0, log[-3000:]

    entries = json_lines(log)
    assert entries, log[-2000:]
    # every line on stderr is a JSON object once logging is set up (the first lines come before it)
    assert all(line.startswith("{") for line in log.splitlines()[-10:])
    ready = [e for e in entries if e.get("request_id") == "probe-1234"]
    assert ready and ready[0]["logger"] == "uvicorn.access"
    assert ready[0]["method"] == "GET" and ready[0]["path"] == "/api/v1/ready" and ready[0]["status"] == 200
    erased = [e for e in entries if e.get("request_id") == erase_id]
    assert erased and erased[0]["path"] == "/api/v1/customers/[email]"
    assert "ann.customer" not in log and key not in log
    assert "Traceback" not in log and all("error" not in e for e in entries)
