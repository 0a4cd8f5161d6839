"""One JSON error shape for the whole API: ``{"error": {"code": "...", "message": "..."}}``.

Validation errors add ``"fields": [{"field": "body.priority", "message": "..."}]``. Unexpected
errors are logged with their traceback and answered with a generic 500: nothing internal leaks.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from helpline.application.serialise import BUSY_RETRY_AFTER_SECONDS, ConversationBusy, is_busy_error
from helpline.application.storage import Conflict, NotFound

log = logging.getLogger(__name__)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["ticket 1042 not found"])
    fields: list[dict[str, str]] | None = Field(
        default=None, description="Validation errors only: one entry per invalid field.")


class ErrorOut(BaseModel):
    """Every error the API returns has this shape."""

    error: ErrorDetail


ERROR_DESCRIPTIONS = {
    400: "The request is malformed",
    401: "Missing, invalid or revoked API key",
    403: "The key's role may not do this",
    404: "No such record",
    409: "The change conflicts with the record's current state",
    413: "The request body is larger than the server accepts (1 MiB)",
    422: "A parameter or a body field is invalid (out of range, wrong type, NUL character, ...)",
    429: "Too many failed authentications from this address; wait before trying again (see Retry-After)",
    503: "The channel is not configured on this server (e.g. SMS without HELPLINE_SMS_AUTH_TOKEN)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting the given error statuses with the shared error shape."""
    return {code: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


# What an authenticated route can answer besides its own success and 404/409.
AUTHENTICATED_ERRORS = (400, 401, 403, 422, 429)
# A provider's webhook signed with a shared secret (Twilio's X-Twilio-Signature) instead of an API key: no
# signature 401, a wrong one 403, too many failures from the address 429, a body over the limit 413, a NUL in it
# 422 (the edge), the channel off 503.
SIGNED_WEBHOOK_ERRORS = (400, 401, 403, 413, 422, 429, 503)


class ApiError(StarletteHTTPException):
    """An error with an explicit machine-readable code, e.g. ``ApiError(409, "ticket_closed", "...")``."""

    def __init__(self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, **extra), status_code=status, headers=headers)


def _field_name(loc: Any) -> str:
    return ".".join(str(part) for part in loc) if isinstance(loc, list | tuple) else str(loc)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "code", None) or STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=dict(exc.headers) if exc.headers else None)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Built by hand: pydantic's error dicts may carry the original exception object, which is not JSON.
    fields = [
        {"field": _field_name(err.get("loc", ())), "message": str(err.get("msg", "invalid")),
         "type": str(err.get("type", ""))}
        for err in exc.errors()
    ]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return error_response(422, "validation_error", f"invalid request ({summary})" if summary else "invalid request",
                          fields=fields)


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return error_response(404, "not_found", str(exc) or "not found")


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return error_response(409, "conflict", str(exc) or "conflict")


async def _integrity(_request: Request, exc: Exception) -> JSONResponse:
    # The database's own message names tables and constraints; keep it in the log only.
    log.warning("integrity error: %s", exc)
    return error_response(409, "conflict", "the change conflicts with existing records")


async def _bad_input(_request: Request, exc: Exception) -> JSONResponse:
    # Repositories and validators raise ValueError with a message meant for the client.
    return error_response(400, "bad_request", str(exc) or "bad request")


async def _busy(_request: Request, _exc: Exception) -> JSONResponse:
    # Another turn held the conversation (or SQLite's one write lock) past the bounded wait: nothing was
    # stored; the client sends the same request again after Retry-After (docs/deployment.md).
    return error_response(503, "busy", "busy with another message on this conversation; please retry shortly",
                          headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)})


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if is_busy_error(exc):
        return await _busy(request, exc)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "Something went wrong on our side. The error has been logged.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(ConversationBusy, _busy)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(ValueError, _bad_input)
    app.add_exception_handler(Exception, _unexpected)
