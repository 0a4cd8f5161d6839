"""A chat-completions server on loopback that speaks the OpenAI wire protocol (HTTP/1.1 with keep-alive), scripted
per test: each request takes the next scripted reply (a normal answer, an HTTP error, a delay, malformed JSON, a
truncated body, a wrong shape), or the `responder`'s answer when the script is empty. It records every request,
so a test can check what actually left the process: the schema, the key header, that no secret was sent.

    with ChatCompletionsDouble() as server:
        server.script(answer('{"intent": "order_status"}'), error(503), answer("hello"))
        model = OpenAICompatibleModel(LlmSettings(url=server.url, model="test-model"))
        ...
        assert server.requests[0].json["response_format"]["type"] == "json_schema"

The `llm_server` fixture gives a fresh, started server per test (import it into a conftest.py).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

DEFAULT_MODEL = "test-model"


@dataclass(frozen=True)
class Reply:
    """One scripted response. `body` is sent as JSON unless it is bytes (sent as is)."""

    status: int = 200
    body: Mapping[str, Any] | bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # before anything is sent (a slow model)
    stall_after_headers_s: float = 0.0  # headers sent, then nothing for this long (a stuck proxy)
    truncate: bool = False  # Content-Length of the full body, half of it sent, connection closed


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    raw: bytes
    received_at: float  # time.monotonic()

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def text(self) -> str:
        """Everything the client sent in this request, to search for text that must not leave the process."""
        return "\n".join(f"{name}: {value}" for name, value in self.headers.items()) + "\n" + \
            self.raw.decode("utf-8", "replace")


# --- replies ------------------------------------------------------------------------------------------------


def completion_body(content: str | None, *, tool_arguments: str | None = None, model: str = DEFAULT_MODEL,
                    prompt_tokens: int = 12, completion_tokens: int = 5, finish_reason: str = "stop",
                    refusal: str | None = None) -> dict[str, Any]:
    """The exact `chat.completion` object of the OpenAI API."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_arguments is not None:
        message["tool_calls"] = [{"id": "call_1", "type": "function",
                                  "function": {"name": "answer", "arguments": tool_arguments}}]
        finish_reason = "tool_calls"
    if refusal is not None:
        message["refusal"] = refusal
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
        "system_fingerprint": "fp_test",
    }


def answer(content: str | None, **kwargs: Any) -> Reply:
    return Reply(body=completion_body(content, **kwargs))


def json_answer(data: Mapping[str, Any], **kwargs: Any) -> Reply:
    return answer(json.dumps(data), **kwargs)


ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
               404: "invalid_request_error", 422: "invalid_request_error", 429: "rate_limit_exceeded",
               500: "server_error", 502: "server_error", 503: "server_error"}


def error(status: int, message: str = "", *, code: str | None = None, retry_after: float | str | None = None,
          error_type: str | None = None) -> Reply:
    """An error in the OpenAI shape: `{"error": {"message", "type", "param", "code"}}`."""
    default_messages = {401: "Incorrect API key provided.", 404: "The model `test-model` does not exist.",
                        429: "Rate limit reached for requests.", 500: "The server had an error.",
                        503: "The engine is currently overloaded."}
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    body = {"error": {"message": message or default_messages.get(status, "Bad request."),
                      "type": error_type or ERROR_TYPES.get(status, "invalid_request_error"),
                      "param": None, "code": code}}
    return Reply(status=status, body=body, headers=headers)


def schema_unsupported() -> Reply:
    """What a server without structured outputs says to `response_format: json_schema`."""
    return error(400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this "
                      "model.", code="invalid_parameter")


def delayed(reply: Reply, seconds: float) -> Reply:
    return Reply(reply.status, reply.body, reply.headers, delay_s=seconds)


def stalled(seconds: float) -> Reply:
    """200 and headers at once, then a body that doesn't come."""
    return Reply(body=completion_body("late"), stall_after_headers_s=seconds)


def malformed_json() -> Reply:
    return Reply(body=b'{"id": "chatcmpl-test", "object": "chat.completion", "choices": [{"index": 0, "mess',
                 headers={"Content-Type": "application/json"})


def truncated() -> Reply:
    return Reply(body=completion_body('{"intent": "order_status"}'), truncate=True)


def wrong_shape() -> Reply:
    """Valid JSON that is not a chat completion (e.g. the legacy completions API or a proxy's own shape)."""
    return Reply(body={"id": "cmpl-test", "object": "text_completion", "model": DEFAULT_MODEL,
                       "result": {"text": "hello"}})


# --- the server ---------------------------------------------------------------------------------------------


class ChatCompletionsDouble:
    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self.model = model
        self.requests: list[ReceivedRequest] = []
        self.responder: Callable[[ReceivedRequest], Reply] | None = None
        self.connections = 0  # TCP connections accepted: keep-alive keeps this at one for sequential calls
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        # a short poll: stop() waits for one poll, and a fixture stops a server per test
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="llm-double", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def start(self) -> ChatCompletionsDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a delay
        self._server.shutdown()
        with self._lock:
            for sock in list(self._sockets):
                with contextlib.suppress(OSError):  # ends handlers waiting on an idle keep-alive connection
                    sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ChatCompletionsDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # called by the handler threads

    def _received(self, request: ReceivedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(request)
        return error(500, "the test double has no scripted reply left for this request")

    def _opened(self, sock: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            self._sockets.add(sock)

    def _closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


def _handler_for(double: ChatCompletionsDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real model servers do
        timeout = 30  # an idle keep-alive connection is closed after this

        def setup(self) -> None:
            super().setup()
            # headers and body go out in separate writes: without this, Nagle's algorithm and the client's
            # delayed ACK add ~40 ms to every answer (real servers set it too)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            double._opened(self.connection)

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                double._closed(self.connection)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(Reply(body={"object": "list", "data": [
                    {"id": double.model, "object": "model", "created": 0, "owned_by": "helpline-tests"}]}))
            else:
                self._send(error(404, f"Unknown path {self.path}", code="not_found"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = ReceivedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, raw,
                                      time.monotonic())
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(error(404, f"Unknown path {self.path}", code="not_found"))
                return
            self._send(double._received(request))

        def _send(self, reply: Reply) -> None:
            if reply.delay_s and double._stopping.wait(reply.delay_s):
                return
            body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if reply.stall_after_headers_s:
                    self.wfile.flush()
                    if double._stopping.wait(reply.stall_after_headers_s):
                        return
                if reply.truncate:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (its deadline): nothing to answer

    return Handler


@pytest.fixture()
def llm_server() -> Iterator[ChatCompletionsDouble]:
    """A fresh chat-completions double on loopback, stopped after the test."""
    with ChatCompletionsDouble() as server:
        yield server
