"""The HTTP connector against a real HTTP server on loopback."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from helpline.connectors.http import HttpOperations
from helpline.pack.models import HttpSpec


class Handler(BaseHTTPRequestHandler):
    calls: ClassVar[list[dict[str, object]]] = []
    fail_first = 0

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        Handler.calls.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        if Handler.fail_first > 0:
            Handler.fail_first -= 1
            self._reply(503, {"error": "busy"})
            return
        if body.get("order_id") == "bad":
            self._reply(200, {"result": "Error: order not found"})
            return
        self._reply(200, {"result": json.dumps({"order_id": body.get("order_id"), "status": "cancelled"})})


@pytest.fixture()
def server() -> Iterator[str]:
    Handler.calls = []
    Handler.fail_first = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def spec(url: str, **extra: object) -> HttpSpec:
    return HttpSpec.model_validate({
        "method": "POST",
        "url": url + "/operations/cancel",
        "body": {"order_id": "{{ order_id }}", "reason": "{{ reason }}"},
        "auth": {"header": "Authorization", "env": "SHOP_TOKEN", "prefix": "Bearer "},
        "response": "body.result | fromjson",
        "error_when": "body.result is string and body.result.startswith('Error')",
        "retries": 2,
        **extra,
    })


def test_body_template_auth_and_response_mapping(server: str) -> None:
    ops = HttpOperations(environ={"SHOP_TOKEN": "s3cret"})
    result = ops.run("cancel", spec(server), {"order_id": "#W1", "reason": "no longer needed"})
    assert result.ok, result.error
    assert result.data == {"order_id": "#W1", "status": "cancelled"}
    assert Handler.calls[0]["auth"] == "Bearer s3cret"
    assert Handler.calls[0]["body"] == {"order_id": "#W1", "reason": "no longer needed"}


def test_business_refusal_is_not_ok(server: str) -> None:
    result = HttpOperations(environ={"SHOP_TOKEN": "x"}).run("cancel", spec(server), {"order_id": "bad", "reason": "r"})
    assert not result.ok and "order not found" in result.error and not result.retryable


def test_server_errors_are_retried(server: str) -> None:
    Handler.fail_first = 2
    result = HttpOperations(environ={"SHOP_TOKEN": "x"}).run("cancel", spec(server), {"order_id": "A", "reason": "r"})
    assert result.ok and len(Handler.calls) == 3


def test_unreachable_service_is_a_retryable_failure() -> None:
    result = HttpOperations(environ={"SHOP_TOKEN": "x"}).run(
        "cancel", spec("http://127.0.0.1:9", timeout=0.5, retries=1), {"order_id": "A", "reason": "r"})
    assert not result.ok and result.retryable and "unavailable" in result.error


def test_missing_credential_is_reported(server: str) -> None:
    result = HttpOperations(environ={}).run("cancel", spec(server), {"order_id": "A", "reason": "r"})
    assert not result.ok and "SHOP_TOKEN" in result.error
