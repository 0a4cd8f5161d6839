"""Log lines for people (text) or for a log pipeline (JSON, one object a line), each with its request id.

Every HTTP request (and WebSocket) gets a request id: the client's ``X-Request-ID`` when it is a sane token,
else a new one; it is echoed in the response and carried by every log line written while the request is
handled, the access line included. Secrets are masked by ``api/logscrub.py`` (installed on the handlers as
before); on top of it, the formatters here mask email addresses and phone-like digit runs, which a URL may
carry (``DELETE /api/v1/customers/ann@example.com``), so customer data never reaches a log line.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpline.api.logscrub import install_secret_scrubber, scrub

REQUEST_ID_HEADER = "x-request-id"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_EMAIL_ENCODED = re.compile(r"[\w.+-]+%40[\w-]+(?:\.[\w-]+)+")
# 7+ digits with optional spaces, dashes or brackets (not dots: addresses and versions keep theirs)
_PHONE = re.compile(r"(?<![\w.-])(?:\+|%2B)?\d(?:[\d ()-]{5,}\d)(?![\w.-])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\b")
_ACCESS_LOGGER = "uvicorn.access"

request_id: ContextVar[str | None] = ContextVar("helpline_request_id", default=None)


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def new_request_id() -> str:
    return secrets.token_hex(8)


def accepted_request_id(value: str | None) -> str:
    """The client's id when it is a short token (it is logged and echoed: nothing else is let through)."""
    if value and _SANE_REQUEST_ID.match(value):
        return value
    return new_request_id()


def mask_customer_data(text: str) -> str:
    """Email addresses and phone numbers out of a log line (URLs may carry them)."""
    if "@" in text or "%40" in text:
        text = _EMAIL_ENCODED.sub("[email]", _EMAIL.sub("[email]", text))
    return _PHONE.sub(_phone_or_kept, text)


def _phone_or_kept(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    if digits < 7 or _DATE.match(match.group(0)):  # a date (2025-01-31 12:00) is not a phone number
        return match.group(0)
    return "[phone]"


class RequestIdMiddleware:
    """Pure ASGI (no response buffering, SSE and WebSockets pass through): sets the request id for the
    request's task and adds ``X-Request-ID`` to the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode())
        rid = accepted_request_id(sent.decode("latin-1") if sent else None)
        # Set, not reset afterwards: the request runs in a task of its own (the copy dies with it), and the
        # server's access line and an unhandled error's log are written after this middleware returns.
        request_id.set(rid)
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER.encode()]
                headers.append((REQUEST_ID_HEADER.encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


class _Base(logging.Formatter):
    def message_of(self, record: logging.LogRecord) -> str:
        return mask_customer_data(scrub(record.getMessage()))

    def exception_of(self, record: logging.LogRecord) -> str | None:
        if not record.exc_info:
            return None
        return mask_customer_data(scrub(self.formatException(record.exc_info)))


class TextFormatter(_Base):
    """``2025-01-31 12:00:00,123 INFO helpline.x: message [request_id=…]``."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        line = f"{when},{int(record.msecs):03d} {record.levelname} {record.name}: {self.message_of(record)}"
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            line += f" [request_id={rid}]"
        error = self.exception_of(record)
        return f"{line}\n{error}" if error else line


class JsonFormatter(_Base):
    """One JSON object a line: time, level, logger, message, request_id, and for access lines the method,
    path (query string cut: it may carry tokens), status and client address."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.message_of(record),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            entry["request_id"] = rid
        if record.name == _ACCESS_LOGGER and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _version, status = record.args
            entry.update(client=str(client), method=str(method),
                         path=mask_customer_data(scrub(str(path))).split("?", 1)[0], status=status)
        error = self.exception_of(record)
        if error:
            entry["error"] = error
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: LogFormat, quiet: tuple[str, ...] = ()) -> None:
    """One handler on the root logger (stderr) in the chosen format; uvicorn's loggers propagate to it (serve
    runs uvicorn with ``log_config=None``). The secret scrubber is attached as before."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == LogFormat.JSON else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name in quiet:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    install_secret_scrubber()
