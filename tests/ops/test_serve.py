"""`helpline serve --log-format json` as a process: every request's log line is JSON with its request id, no
customer data reaches the log, and SIGTERM ends the server (and its background jobs) with exit status 0."""

from __future__ import annotations

import json
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


def test_json_logs_carry_the_request_id_and_sigterm_exits_0(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'helpline.db'}"
    db = Database(url)
    db.migrate()
    with db.session() as session:
        key, _ = ApiKeyRepository(session).create(role="admin")
    db.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--db", url, "--port", str(port), "--no-phone", "--log-format", "json"]
    with helpline(args, tmp_path / "serve.log") as server:
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
        assert server.terminate() == 0
        log = server.text()

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
