"""The first thing every HTTP request meets: a body-size limit and a NUL check on what is sent.

* A body larger than ``max_body_bytes`` is refused with 413: at once when ``Content-Length`` says so,
  otherwise as soon as the bytes received pass the limit. Nothing larger is ever held in memory.
* A NUL character anywhere in the path, the query string, or a JSON or form body is refused with 422
  (PostgreSQL cannot store it, and no legitimate client sends it). This covers the console's forms too.
* Under ``/api/`` a query parameter given twice is refused with 422 (parameter pollution: every API
  parameter is a single value, and the framework would silently keep only the last).

Pure ASGI (no ``BaseHTTPMiddleware``), so streaming responses (SSE) pass through untouched; WebSocket
and lifespan traffic is not looked at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from helpline.api.errors import error_body

MAX_BODY_BYTES = 1024 * 1024  # the largest legitimate body (a 100,000-character message as JSON) is ~600 KB

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# A JSON "\u0000" escape that is not itself escaped ("\\u0000" is the six characters, harmless).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class _TooLarge(Exception):
    pass


class EdgeGuard:
    """ASGI middleware: body size limit and NUL refusal (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"") \
                or b"\x00" in scope.get("query_string", b""):
            await _reply(send, 422, "validation_error", "NUL characters are not allowed in the URL", close=True)
            return
        if scope.get("path", "").startswith("/api/"):
            repeated = _repeated_parameter(scope.get("query_string", b""))
            if repeated:
                # Every API parameter is a single value; a second one would be silently dropped.
                await _reply(send, 422, "validation_error", f"query parameter {repeated!r} given more than once")
                return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await _reply(send, 400, "bad_request", "invalid Content-Length", close=True)
                return
            if length > self.max_body_bytes:
                await _reply(send, 413, "payload_too_large",
                             f"request body too large (at most {self.max_body_bytes} bytes)", close=True)
                return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE") and declared is None \
                and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(receive)
        except _TooLarge:
            await _reply(send, 413, "payload_too_large",
                         f"request body too large (at most {self.max_body_bytes} bytes)", close=True)
            return
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if _has_nul(body, content_type):
            await _reply(send, 422, "validation_error", "NUL characters are not allowed in the request body")
            return
        await self.app(scope, replay_body(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _repeated_parameter(query: bytes) -> str | None:
    seen: set[str] = set()
    for name, _value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in seen:
            return name[:50]
        seen.add(name)
    return None


def _has_nul(body: bytes, content_type: bytes) -> bool:
    if b"\x00" in body and not content_type.startswith(b"multipart/"):
        return True
    if content_type == b"application/x-www-form-urlencoded" or content_type.startswith(b"text/"):
        return b"%00" in body
    if content_type == b"application/json" or content_type.endswith(b"+json"):
        return bool(_JSON_NUL.search(body))
    return False


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the app `body` (already read) once, then waits on the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would

    return replay


async def _reply(send: Send, status: int, code: str, message: str, close: bool = False) -> None:
    """A JSON error; ``close`` when the body was not read, so the connection cannot be reused."""
    payload = json.dumps(error_body(code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
