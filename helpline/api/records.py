"""Records endpoints: tickets, callbacks, incidents, the audit log, and the health check.

Every route except ``/health`` needs an API key; reads and writes of customer data are audited
under the key's prefix (``apikey:<prefix>``). The data is reached through the application layer's desks
(``ticket_desk``, ``incident_desk``, ``audit``), never the store.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from helpline import __version__
from helpline.api.auth import Db, Principal, require_role
from helpline.api.errors import AUTHENTICATED_ERRORS, ApiError, error_responses
from helpline.api.validation import (
    MAX_INT32,
    MAX_OFFSET,
    NO_NUL,
    ApiModel,
    IsoDateTime,
    IsoDayOrDateTime,
    RecordId,
    TicketRef,
    known_query_only,
    ticket_number,
)
from helpline.application import audit, incident_desk, ticket_desk
from helpline.application.business_days import BusinessDays
from helpline.application.ticket_desk import NamedTicket, RatingKept, TicketNotFound


def _whole_number(value: object) -> object:
    """A rating is a whole number: 4 or 4.0 (JSON Schema's integer), never true or "4"."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number from 1 to 5")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number from 1 to 5")
        return int(value)
    return value


Rating = Annotated[int, Field(ge=1, le=5), BeforeValidator(_whole_number)]

TicketStatus = Literal["open", "resolved", "escalated", "awaiting_callback"]
Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["chat", "phone", "voice", "email", "sms", "api"]
CallbackStatus = Literal["scheduled", "done", "missed", "cancelled"]
AuditAction = Literal["read", "create", "update", "delete"]

STAFF = ("agent",)  # agents and everyone above them
SUPERVISORS = ("supervisor",)
ADMINS = ("admin",)

# Module level, not inside the router factory: with postponed annotations FastAPI resolves these names
# from the module's globals. Each require_role call is a fresh, stateless dependency.
Staff = Annotated[Principal, Depends(require_role(*STAFF))]
Supervisor = Annotated[Principal, Depends(require_role(*SUPERVISORS))]
Admin = Annotated[Principal, Depends(require_role(*ADMINS))]


# --- models ------------------------------------------------------------------------------------


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(examples=["0f8e2a4c-5b7d-4f5e-9d1a-2c3b4a5d6e7f"])
    number: int = Field(examples=[1042])
    conversation_id: str | None
    customer_id: str | None
    channel: str = Field(examples=["voice"])
    category: str = Field(examples=["orders"])
    priority: str = Field(examples=["normal"])
    summary: str = Field(examples=["Customer asked to cancel order BB-10001"])
    steps_taken: list[str] = Field(examples=[["Verified identity by email", "Cancelled order BB-10001"]])
    resolution: str = Field(examples=["Order cancelled; refund in 3-5 working days"])
    status: str = Field(examples=["resolved"])
    next_step: str
    tags: list[str] = Field(examples=[["cancellation"]])
    sentiment: float
    handle_time_seconds: int
    flags: list[str] = Field(examples=[["name_mismatch: said 'Jon Smith', record 'John Smith'"]])
    csat: int | None
    nps: int | None = Field(default=None, description="a survey's 0-10 'would you recommend us' answer")
    notes: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class TicketPage(BaseModel):
    items: list[TicketOut]
    total: int = Field(description="How many tickets match the filters, ignoring limit and offset.")
    limit: int
    offset: int


class TicketPatch(ApiModel):
    """Only the fields sent are changed. Resolving a ticket sets ``closed_at``; reopening clears it.

    A customer's rating (``csat``) is recorded once: it may be cleared, but not replaced by another value.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "resolved", "resolution": "Refund issued", "csat": 5},
                                        {"priority": "urgent", "notes": "Customer called twice today"}]},
    )

    status: TicketStatus | None = None
    priority: Priority | None = None
    category: str | None = Field(default=None, min_length=1, max_length=100, pattern=NO_NUL)
    notes: str | None = Field(default=None, max_length=20_000, pattern=NO_NUL)
    next_step: str | None = Field(default=None, max_length=2_000, pattern=NO_NUL)
    resolution: str | None = Field(default=None, max_length=5_000, pattern=NO_NUL)
    tags: list[Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]] | None = Field(default=None,
                                                                                                 max_length=50)
    # Strict: JSON true is not a rating of 1, nor "5" a 5.
    csat: Rating | None = Field(default=None, description="1-5; send null to clear")


class CallbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    ticket_id: str | None
    customer_id: str | None
    phone: str | None = Field(examples=["+15125550126"])
    email: str | None
    due_at: datetime
    reason: str = Field(examples=["Confirm the replacement part has shipped"])
    status: str = Field(examples=["scheduled"])
    created_at: datetime
    completed_at: datetime | None
    outcome: str


# Text with something besides spaces in it (the repository strips, and refuses what is left empty), no NUL.
NOT_BLANK = r"^[^\x00]*[^\x00\s][^\x00]*$"
ScopeAttribute = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]{0,63}$")]
ScopeValue = Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK)]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
IncidentKindName = Literal["outage", "planned_maintenance"]
# The rules between IncidentIn's fields, in the OpenAPI document too (a client, or schemathesis, can then build
# only bodies the server accepts): a message or messages; a window for planned maintenance only. What JSON
# Schema cannot say: window_end must be after window_start (422 otherwise).
INCIDENT_RULES: dict[str, Any] = {
    "anyOf": [{"required": ["message"], "properties": {"message": {"type": "string"}}},
              {"required": ["messages"], "properties": {"messages": {"minProperties": 1}}}],
    "if": {"required": ["kind"], "properties": {"kind": {"const": "planned_maintenance"}}},
    "then": {"required": ["window_start", "window_end"],
             "properties": {"window_start": {"type": "string"}, "window_end": {"type": "string"}}},
    "else": {"properties": {"window_start": {"type": "null"}, "window_end": {"type": "null"}}},
}


class IncidentIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {
                "title": "App login outage",
                "message": "Some customers cannot sign in to the app. Our engineers are on it.",
                "affected": ["app", "app_login"],
                "expected_fix": "by 3pm today",
            },
            {
                "title": "Fibre outage in Millbrook",
                "kind": "outage",
                "scope": {"region": ["Millbrook"], "postcode": ["05301", "05302"]},
                "affected": ["no_internet", "slow_internet"],
                "messages": {"en": "A damaged cable cut fibre service in Millbrook; engineers are on site.",
                             "es": "Un cable dañado cortó la fibra en Millbrook; los técnicos ya están allí."},
                "expected_fix": "about 6 pm today",
            },
            {
                "title": "Millbrook network upgrade",
                "kind": "planned_maintenance",
                "scope": {"region": ["Millbrook"]},
                "message": "Service may drop for a few minutes at a time while we upgrade the network.",
                "window_start": "2026-12-08T01:00:00-05:00",
                "window_end": "2026-12-08T04:00:00-05:00",
            },
        ], **INCIDENT_RULES},
    )

    title: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK)
    message: str | None = Field(default=None, min_length=1, max_length=2_000, pattern=NOT_BLANK,
                                description="What the agent says; optional when `messages` are given (the first "
                                            "is then the default)")
    messages: dict[LanguageCode, Annotated[str, Field(min_length=1, max_length=2_000, pattern=NOT_BLANK)]] = Field(
        default_factory=dict, max_length=20, json_schema_extra={"additionalProperties": False},
        description="The message per language (ISO 639-1: en, es, pt-BR); the customer's language picks, "
                    "falling back to `message`, else the first",
    )
    affected: list[Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)]] = Field(
        default_factory=list, max_length=100,
        description="Tags, products or procedure ids affected; empty means every contact.",
    )
    scope: dict[ScopeAttribute, Annotated[list[ScopeValue], Field(min_length=1, max_length=500)]] = Field(
        default_factory=dict, max_length=20, json_schema_extra={"additionalProperties": False},
        description="Who it concerns: customer record attribute -> allowed values (every attribute must match; a "
                    "value ending in * matches by prefix); region, town, city, postcode and the like are also "
                    "matched against where an unverified caller says they are. Empty means everyone.",
    )
    kind: IncidentKindName = Field(default="outage", description="outage (now) or planned_maintenance (a window)")
    window_start: IsoDateTime | None = Field(default=None, description="Planned maintenance: when it starts")
    window_end: IsoDateTime | None = Field(default=None, description="Planned maintenance: when it ends (after "
                                                                     "window_start)")
    expected_fix: str | None = Field(default=None, max_length=500, pattern=NO_NUL)

    @model_validator(mode="after")
    def _consistent(self) -> IncidentIn:
        if self.message is None and not self.messages:
            raise ValueError("give a message, or messages per language")
        if self.kind == "planned_maintenance":
            if self.window_start is None or self.window_end is None:
                raise ValueError("planned maintenance needs window_start and window_end")
            if self.window_end <= self.window_start:
                raise ValueError("window_end must be after window_start")
        elif self.window_start is not None or self.window_end is not None:
            raise ValueError("window_start and window_end are for planned_maintenance; an outage starts now")
        return self


class IncidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    message: str
    messages: dict[str, str] = Field(default_factory=dict)
    affected: list[str]
    scope: dict[str, list[str]] = Field(default_factory=dict)
    kind: str = "outage"
    window_start: datetime | None = None
    window_end: datetime | None = None
    expected_fix: str | None
    started_at: datetime
    ended_at: datetime | None
    created_by: str
    active: bool = False


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str = Field(examples=["apikey:hl_Ab3dE"])
    action: str = Field(examples=["read"])
    entity: str = Field(examples=["ticket"])
    entity_id: str
    customer_id: str | None
    detail: dict[str, Any]


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(examples=["ok"])
    version: str = Field(examples=[__version__])
    database: Literal["ok", "unavailable"] = Field(examples=["ok"])


# --- routes ------------------------------------------------------------------------------------


def ticket_not_found(ticket_ref: str) -> ApiError:
    return ApiError(404, "not_found", f"ticket {ticket_ref} not found")


def named_ticket(ticket_ref: str) -> NamedTicket:
    """The ticket ``ticket_ref`` names: by number (ASCII digits only: "²" or "١٠٠١" are not numbers here) or by
    id; 404 for a number no ticket can have."""
    number = ticket_number(ticket_ref)
    if number is None:
        return NamedTicket(id=ticket_ref)
    if number > MAX_INT32:
        raise ticket_not_found(ticket_ref)
    return NamedTicket(number=number)


def business_days(request: Request) -> BusinessDays:
    """The business's days (its pack's time zone; UTC for an app serving records without a pack)."""
    runtime = getattr(request.app.state, "runtime", None)
    return BusinessDays.named(runtime.pack.business.timezone if runtime is not None else "UTC")


Days = Annotated[BusinessDays, Depends(business_days)]


def _day_start(days: BusinessDays, name: str, bound: date | datetime | None) -> datetime | None:
    """A time bound as given; a bare date as the instant its business day starts."""
    if bound is None or isinstance(bound, datetime):
        return bound
    try:
        return days.start(bound)
    except OverflowError:
        raise RequestValidationError([{"loc": ("query", name), "msg": "date out of range in the business's time "
                                       "zone", "type": "value_error"}]) from None


def records_router() -> APIRouter:
    """Tickets, callbacks, incidents and the audit log; mount under ``/api/v1``."""
    router = APIRouter(responses=error_responses(*AUTHENTICATED_ERRORS), dependencies=[Depends(known_query_only)])
    one = error_responses(404)
    changed = error_responses(404, 409, 413)

    @router.get("/tickets", response_model=TicketPage, tags=["tickets"], summary="List tickets, newest first")
    def list_tickets(
        caller: Staff,
        db: Db,
        days: Days,
        status: TicketStatus | None = None,
        priority: Priority | None = None,
        channel: Channel | None = None,
        category: str | None = Query(default=None, max_length=100, pattern=NO_NUL),
        customer_id: str | None = Query(default=None, max_length=36, pattern=NO_NUL),
        conversation_id: str | None = Query(default=None, max_length=36, pattern=NO_NUL),
        q: str | None = Query(default=None, max_length=200, pattern=NO_NUL,
                             description="Text to find in the summary"),
        created_from: IsoDayOrDateTime | None = Query(
            default=None, description="Inclusive, ISO 8601. A bare date (2026-11-20) is the start of that day in "
                                      "the business's time zone, as the console's days are"),
        created_to: IsoDayOrDateTime | None = Query(
            default=None, description="Exclusive, ISO 8601. A bare date is the start of that day in the business's "
                                      "time zone (so created_to=2026-11-21 ends with the 20th)"),
        limit: int = Query(default=50, ge=1, le=200),
        offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    ) -> TicketPage:
        filters: dict[str, Any] = {
            "status": status, "priority": priority, "channel": channel, "category": category,
            "customer_id": customer_id, "conversation_id": conversation_id, "q": q,
            "created_from": _day_start(days, "created_from", created_from),
            "created_to": _day_start(days, "created_to", created_to),
        }
        items, total = ticket_desk.find_tickets(db, caller.actor, limit=limit, offset=offset, **filters)
        return TicketPage(items=[TicketOut.model_validate(t) for t in items], total=total, limit=limit,
                          offset=offset)

    @router.get("/tickets/{ticket_ref}", response_model=TicketOut, tags=["tickets"], responses=one,
                summary="One ticket, by id or by number (e.g. 1042)")
    def get_ticket(ticket_ref: TicketRef, caller: Staff, db: Db) -> TicketOut:
        ticket = ticket_desk.ticket_named(db, named_ticket(ticket_ref), caller.actor)
        if ticket is None:
            raise ticket_not_found(ticket_ref)
        return TicketOut.model_validate(ticket)

    @router.patch("/tickets/{ticket_ref}", response_model=TicketOut, tags=["tickets"], responses=changed,
                  summary="Update a ticket")
    def patch_ticket(ticket_ref: TicketRef, body: TicketPatch, caller: Staff, db: Db) -> TicketOut:
        # Null means "not sent", except for csat which may be cleared.
        changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k == "csat"}
        try:
            return TicketOut.model_validate(ticket_desk.edit_ticket(db, named_ticket(ticket_ref), caller.actor,
                                                                    **changes))
        except TicketNotFound as exc:
            raise ticket_not_found(ticket_ref) from exc
        except RatingKept as exc:
            raise ApiError(409, "conflict", str(exc)) from exc

    @router.get("/callbacks", response_model=list[CallbackOut], tags=["callbacks"],
                summary="Promised callbacks, earliest due first")
    def list_callbacks(
        caller: Staff,
        db: Db,
        status: CallbackStatus | None = None,
        due_before: IsoDateTime | None = Query(default=None, description="Only those due before this time"),
        limit: int = Query(default=50, ge=1, le=200),
        offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    ) -> list[CallbackOut]:
        found = ticket_desk.callbacks(db, caller.actor, status=status, due_before=due_before, limit=limit,
                                      offset=offset)
        return [CallbackOut.model_validate(c) for c in found]

    @router.post("/incidents", status_code=201, response_model=IncidentOut, tags=["incidents"],
                 responses=error_responses(413),
                 summary="Declare an incident the agent will mention to affected customers")
    def declare_incident(body: IncidentIn, caller: Supervisor, db: Db) -> IncidentOut:
        incident = incident_desk.declare_incident(
            db, actor=caller.actor, title=body.title, message=body.message or "", affected=body.affected,
            expected_fix=body.expected_fix, scope=body.scope, kind=body.kind, window_start=body.window_start,
            window_end=body.window_end, messages=body.messages,
        )
        return IncidentOut.model_validate(incident).model_copy(update={"active": True})

    @router.get("/incidents", response_model=list[IncidentOut], tags=["incidents"], summary="Incidents")
    def list_incidents(
        caller: Staff,
        db: Db,
        include_ended: bool = Query(default=False, description="Also list ended incidents"),
        limit: int = Query(default=100, ge=1, le=200),
    ) -> list[IncidentOut]:
        found = incident_desk.incidents_marked_active(db, include_ended=include_ended, limit=limit)
        return [IncidentOut.model_validate(i).model_copy(update={"active": active}) for i, active in found]

    @router.delete("/incidents/{incident_id}", status_code=204, response_class=Response, tags=["incidents"],
                   responses=error_responses(404, 409), summary="End an incident")
    def end_incident(incident_id: RecordId, caller: Supervisor, db: Db) -> Response:
        incident_desk.end_incident(db, incident_id, caller.actor)  # NotFound: 404 (errors.py)
        return Response(status_code=204)

    @router.get("/audit", response_model=list[AuditOut], tags=["audit"],
                summary="The audit log of customer-data reads and changes, newest first (admin)")
    def list_audit(
        caller: Admin,
        db: Db,
        entity: str | None = Query(default=None, max_length=200, pattern=NO_NUL, examples=["ticket"]),
        entity_id: str | None = Query(default=None, max_length=200, pattern=NO_NUL),
        customer_id: str | None = Query(default=None, max_length=36, pattern=NO_NUL),
        actor: str | None = Query(default=None, max_length=200, pattern=NO_NUL),
        action: AuditAction | None = None,
        limit: int = Query(default=100, ge=1, le=500),
        offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    ) -> list[AuditOut]:
        found = audit.audit_entries(db, entity=entity, entity_id=entity_id, customer_id=customer_id, actor=actor,
                                    action=action, limit=limit, offset=offset)
        return [AuditOut.model_validate(e) for e in found]

    return router


def health_router() -> APIRouter:
    """``GET /health``, no authentication: for load balancers and the install script."""
    router = APIRouter(dependencies=[Depends(known_query_only)])

    @router.get("/health", response_model=Health, tags=["health"], summary="Liveness and database check",
                responses={503: {"model": Health, "description": "The database is unreachable"}})
    def health(db: Db) -> Any:
        if db.ping():
            return Health(status="ok", version=__version__, database="ok")
        body = Health(status="degraded", version=__version__, database="unavailable")
        return JSONResponse(body.model_dump(), status_code=503)

    return router
