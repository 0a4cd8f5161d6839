"""Input bounds checked at the edge, before anything reaches the engine or the database.

Every request body model derives from ``ApiModel``: no NUL character and no lone UTF-16 surrogate in
any string (PostgreSQL refuses the first in ``text`` columns, and neither database can encode the
second), so such input is a 422, never a 500. Numbers and timestamps that would overflow a column
(``INTEGER`` on PostgreSQL is 32-bit) or a ``datetime`` are refused the same way.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

MAX_INT32 = 2**31 - 1  # PostgreSQL INTEGER: ticket numbers, message and audit ids
MAX_OFFSET = 1_000_000  # deeper pages are refused; filter instead
NUL = "\x00"
# In the OpenAPI document too: every free-text string field and parameter carries this pattern.
NO_NUL = r"^[^\x00]*$"

_SURROGATE = re.compile("[\ud800-\udfff]")
# ISO 8601 as the docs promise: a date, optionally a time and an offset. Rules out the Unix
# timestamps ("0.5", "1700000000") pydantic's lax mode would otherwise accept.
_ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}:?\d{2})?)?")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None."""
    if NUL in value:
        return "NUL characters are not allowed"
    if _SURROGATE.search(value):
        return "lone UTF-16 surrogates are not allowed"
    return None


def clean_text(value: str) -> str:
    """Customer text from a channel that cannot be refused (a chat widget): NUL and surrogates removed."""
    return _SURROGATE.sub("", value.replace(NUL, ""))


def _check_strings(value: Any, where: str) -> None:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValueError(f"{where}: {problem}" if where else problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, where)
            _check_strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_strings(item, f"{where}[{index}]")


class ApiModel(BaseModel):
    """A request body: no field but those documented, and every string in it storable text."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        _check_strings(data, "")
        return data


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_8601.fullmatch(value.strip()):
        raise ValueError("expected an ISO 8601 date-time, e.g. 2026-11-20T16:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError as exc:
        raise ValueError(f"invalid date-time: {exc}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # as the store does: a naive time is UTC
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("date-time out of range (years 1 to 9999 in UTC)") from None


# A query-string timestamp: ISO 8601 only, within what a datetime holds once converted to UTC.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]

_BARE_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day_or_datetime(value: Any) -> Any:
    if isinstance(value, str) and _BARE_DAY.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"invalid date: {exc}") from None
    return _iso_datetime(value)


# A bound that may be a whole day (YYYY-MM-DD: the business's day, application/business_days.py) or a time.
IsoDayOrDateTime = Annotated[date | datetime, BeforeValidator(_iso_day_or_datetime)]

# A ticket by number (ASCII digits) or by id; anything else is a 422 before the database is asked.
TicketRef = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9A-Za-z-]+$",
                                 description="A ticket number (e.g. 1042) or a ticket id",
                                 examples=["1042"])]
# Conversation, incident and other record ids: UUIDs in practice; bounded and plain ASCII at the edge.
RecordId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9A-Za-z-]+$",
                               examples=["0f8e2a4c-5b7d-4f5e-9d1a-2c3b4a5d6e7f"])]


_KNOWN_QUERY: dict[int, frozenset[str]] = {}


def known_query_only(request: Request) -> None:
    """A router dependency: a query parameter the operation does not declare is a 422, not silently
    ignored (``?stauts=open`` would otherwise list every ticket)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    allowed = _KNOWN_QUERY.get(id(route))
    if allowed is None:
        allowed = _KNOWN_QUERY[id(route)] = frozenset(_query_names(dependant))
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise RequestValidationError([{"loc": ("query", name[:50]), "msg": "unknown query parameter",
                                       "type": "extra_forbidden"} for name in unknown[:5]])


def _query_names(dependant: Any) -> set[str]:
    names = {str(field.alias) for field in getattr(dependant, "query_params", ())}
    for sub in getattr(dependant, "dependencies", ()):
        names |= _query_names(sub)
    return names


def ticket_number(ref: str) -> int | None:
    """The ticket number a ref names (ASCII digits within INTEGER), or None if it is not a number."""
    if not ref.isascii() or not ref.isdigit():
        return None
    return int(ref)
