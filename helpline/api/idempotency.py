"""The ``Idempotency-Key`` request header on the API's POST and PATCH requests (IETF
draft-ietf-httpapi-idempotency-key-header, as Stripe has it).

A client that may send a request twice (a retry after a timeout, a load balancer re-sending after a node died)
sends a unique key with it, e.g. a UUID. Then, per API key, for 24 hours:

* the first request with the key runs, and its answer is kept;
* the same key with the same request (method, path, query and body; JSON compared as data, not as bytes) gets
  that answer again, with ``Idempotent-Replayed: true``, and does nothing more;
* the same key with a different request is a 422 (``idempotency_key_reused``);
* the same key while its first request is still running is a 409 (``idempotency_key_in_use``) with
  ``Retry-After``: the retry then gets the stored answer.

Answers kept are the ones the operation gave: 2xx, and 4xx other than those saying "not now" or "not you" (401,
403, 408, 425, 429). A 5xx or one of those is not kept, so a retry with the key runs again. A request without the
header, or whose API key is missing or wrong (the route answers 401 as ever), is not looked at. Keys live in the
database (``store/idempotency.py``, reached through ``application/idempotency_keys.py``), so a retry that
reaches another node is answered the same.

Pure ASGI, inside ``EdgeGuard`` (the body is already size-checked and buffered when it gets here).
"""

from __future__ import annotations

import hashlib
import json

import anyio
from starlette.concurrency import run_in_threadpool

from helpline.api.auth import CheckedKey, remember_checked_key
from helpline.api.edge import ASGIApp, Message, Receive, Scope, Send, replay_body
from helpline.api.errors import error_body
from helpline.application.idempotency_keys import Claimed, IdempotencyKeys, Mismatch, Replay, Running, StoredAnswer
from helpline.application.keys import verified_api_key
from helpline.application.storage import Database

HEADER = b"idempotency-key"
REPLAYED = b"idempotent-replayed"
METHODS = ("POST", "PATCH")
MAX_KEY_CHARS = 255
NOT_KEPT = frozenset({401, 403, 408, 425, 429})  # "not you" / "not now": the retry should run
MAX_KEPT_BODY = 1024 * 1024  # API answers are small; one larger than this is not kept (its retry runs)
_NOT_REPLAYED_HEADERS = frozenset({b"set-cookie", b"date", b"server", b"x-request-id"})


def parse_key(raw: bytes) -> str | None:
    """The key as sent: the draft's structured-field string (``"abc"``) or, as Stripe's clients send it, bare.
    None when it is empty, too long, or not printable ASCII."""
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if not text or len(text) > MAX_KEY_CHARS or not all(" " <= c <= "~" for c in text):
        return None
    return text


def fingerprint(method: str, path: str, query: bytes, body: bytes, content_type: bytes) -> str:
    """What makes two requests "the same request": JSON bodies compared as data (key order and spacing aside)."""
    payload = body
    if content_type.split(b";")[0].strip().lower() in (b"application/json", b"") and body:
        try:
            payload = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
        except (ValueError, UnicodeDecodeError):
            payload = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, payload):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyGuard:
    """ASGI middleware: the ``Idempotency-Key`` header on ``/api/`` POST and PATCH (see the module docstring)."""

    def __init__(self, app: ASGIApp, db: Database, keys: IdempotencyKeys | None = None) -> None:
        self.app = app
        self.db = db
        self.keys = keys or IdempotencyKeys(db)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in METHODS \
                or not scope.get("path", "").startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        raw_key = headers.get(HEADER)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = parse_key(raw_key)
        if key is None:
            await _reply(send, 400, "bad_request",
                         f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable ASCII characters (e.g. a UUID)")
            return
        caller = await run_in_threadpool(self._caller, scope, headers.get(b"authorization", b""))
        if caller is None:  # no key, or a wrong one: the route says so (and counts the failure)
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        request_print = fingerprint(scope["method"], scope.get("path", ""), scope.get("query_string", b""), body,
                             headers.get(b"content-type", b""))
        claim = await run_in_threadpool(self.keys.claim, caller, key, request_print)
        if isinstance(claim, Replay):
            await _send_answer(send, claim.answer)
        elif isinstance(claim, Mismatch):
            await _reply(send, 422, "idempotency_key_reused",
                         "this Idempotency-Key was used with a different request; use a new key for a new request")
        elif isinstance(claim, Running):
            await _reply(send, 409, "idempotency_key_in_use",
                         "a request with this Idempotency-Key is still being processed; retry shortly",
                         [(b"retry-after", str(claim.retry_after_seconds).encode())])
        elif isinstance(claim, Claimed):
            await self._run(scope, replay_body(body, receive), send, caller, key, request_print)

    def _caller(self, scope: Scope, authorization: bytes) -> str | None:
        """The id of the live API key in the ``Authorization: Bearer`` header, or None. What the check found is
        kept in the request's state: the route's ``authenticate`` takes it instead of looking the key up again
        (and still refuses, and counts the failure of, a missing or wrong key itself)."""
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        found = verified_api_key(self.db, token)
        remember_checked_key(scope, CheckedKey(token, found))
        return found.key_id if found is not None else None

    async def _run(self, scope: Scope, receive: Receive, send: Send, caller: str, key: str, request_print: str) -> None:
        status = 0
        kept_headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []
        size = 0

        async def capture(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
                kept_headers.extend((name.decode("latin-1"), value.decode("latin-1"))
                                    for name, value in message.get("headers", [])
                                    if name.lower() not in _NOT_REPLAYED_HEADERS)
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                size += len(chunk)
                if size <= MAX_KEPT_BODY:
                    chunks.append(chunk)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            with anyio.CancelScope(shield=True):  # a client gone mid-request must not leave the key held
                await run_in_threadpool(self.keys.release, caller, key, request_print)
            raise
        text = _text(b"".join(chunks)) if _kept(status) and size <= MAX_KEPT_BODY else None
        if text is not None:
            answer = StoredAnswer(status, kept_headers, text)
            await run_in_threadpool(self.keys.finish, caller, key, request_print, answer)
        else:
            await run_in_threadpool(self.keys.release, caller, key, request_print)


def _text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _kept(status: int) -> bool:
    return 200 <= status < 500 and status not in NOT_KEPT


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_answer(send: Send, answer: StoredAnswer) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
    await send({"type": "http.response.start", "status": answer.status, "headers": [*headers, (REPLAYED, b"true")]})
    await send({"type": "http.response.body", "body": answer.body.encode("utf-8")})


async def _reply(send: Send, status: int, code: str, message: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(error_body(code, message)).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": payload})

