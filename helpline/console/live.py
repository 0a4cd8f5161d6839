"""Live view: active conversations, live transcripts (SSE), take over, whisper, reply, hand back, resolve."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from helpline.application import live_view, ticket_desk
from helpline.application.conversations import ConversationClosed, ConversationNotFound, ConversationService
from helpline.application.live_view import AlertView, ConversationView, message_json
from helpline.console.auth import Agent, ConsoleDenied, StaffUser, Supervisor
from helpline.console.calls import phone_panel
from helpline.console.customer_panel import customer_panel
from helpline.console.web import back, render, runtime_of, span, utc
from helpline.console.wording import mood_words
from helpline.console.wording import status as status_words
from helpline.conversation.policy import EnginePolicy

__all__ = ["LiveRow", "Trouble", "live_router", "live_rows", "message_json", "trouble_of"]

KEEPALIVE_SECONDS = 15.0
ALERTS_SHOWN_FOR = timedelta(hours=24)  # verification alerts stay on the live page this long


# A chat or call with no word from the customer for this long is flagged: they may be stuck or gone.
SILENCE_FLAGGED_AFTER = timedelta(minutes=5)
SILENCE_CHANNELS = ("chat", "phone", "voice")  # email and text replies are slow by nature


@dataclass(frozen=True)
class Trouble:
    """One reason to look at a conversation now, said in words (colour only repeats it)."""

    kind: str  # waiting | angry | upset | silent | escalated: the CSS class
    text: str
    weight: int  # higher first


@dataclass
class LiveRow:
    id: str
    channel: str
    started_at: datetime
    last_activity_at: datetime
    sentiment: float  # the engine's frustration score, 0 calm .. 1 furious
    procedure: str
    escalated: bool
    handled_by: str | None
    ticket_number: int | None
    last_customer_text: str
    last_customer_at: datetime | None = None
    waiting_since: datetime | None = None  # when the hand-off nobody has accepted yet was made
    trouble: list[Trouble] = field(default_factory=list)

    @property
    def urgency(self) -> int:
        return sum(t.weight for t in self.trouble)


def trouble_of(row: LiveRow, now: datetime, policy: EnginePolicy) -> list[Trouble]:
    """Why a supervisor should look at this conversation now, most pressing first."""
    found: list[Trouble] = []
    if row.escalated and not row.handled_by:
        since = f" for {span((now - utc(row.waiting_since)).total_seconds())}" if row.waiting_since else ""
        found.append(Trouble("waiting", f"Waiting for a person{since}", 100))
    elif row.escalated:
        found.append(Trouble("escalated", "Escalated", 10))
    # `sentiment` is the engine's frustration score after its own corrections (engine.py: a plain request read
    # as upset by the tone model alone is capped), so it is read here rather than the message's raw score
    if row.sentiment >= policy.angry:
        found.append(Trouble("angry", "Angry", 50))
    elif row.sentiment >= policy.frustrated:
        found.append(Trouble("upset", "Upset", 30))
    quiet_since = utc(row.last_customer_at or row.started_at)
    if row.channel in SILENCE_CHANNELS and not row.escalated and now - quiet_since >= SILENCE_FLAGGED_AFTER:
        found.append(Trouble("silent", f"No reply from the customer for {span((now - quiet_since).total_seconds())}",
                             20))
    return sorted(found, key=lambda t: -t.weight)


def conversation_json(conversation: ConversationView, procedure_title: str) -> dict[str, Any]:
    return {"status": status_words(conversation.status), "handled_by": conversation.handled_by or "",
            "sentiment": mood_words(conversation.sentiment), "procedure": procedure_title,
            "escalated": conversation.escalated, "verified": conversation.verified}


def _service(request: Request) -> ConversationService:
    return runtime_of(request).conversations


def _procedure_title(service: ConversationService, procedure_id: str | None) -> str:
    if not procedure_id:
        return ""
    procedure = service.engine.procedures.get(procedure_id)
    return procedure.title if procedure else procedure_id


def live_rows(service: ConversationService, actor: str) -> list[LiveRow]:
    """Active conversations, the ones in trouble first (longest waiting first), then the most recent."""
    now = service.clock()
    rows = []
    for active in live_view.active_conversations(service.db, actor):
        c = active.conversation
        row = LiveRow(c.id, c.channel, c.started_at, c.last_activity_at, c.sentiment,
                      _procedure_title(service, c.current_procedure), c.escalated, c.handled_by,
                      active.ticket_number, active.last_customer_text, last_customer_at=active.last_customer_at,
                      waiting_since=active.waiting_since)
        row.trouble = trouble_of(row, now, service.engine.policy)
        rows.append(row)
    rows.sort(key=lambda r: utc(r.last_activity_at), reverse=True)
    rows.sort(key=lambda r: (-r.urgency, utc(r.waiting_since) if r.waiting_since else now))
    return rows


def verification_alerts(service: ConversationService, user: StaffUser) -> list[AlertView]:
    """Too many failed identity checks (issue 10, finding 2): for supervisors, at the top of the live list."""
    if not user.can("supervisor"):
        return []
    return live_view.verification_alerts(service.db, service.clock() - ALERTS_SHOWN_FOR)


def _sse(event: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n"


def live_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/live")
    def live(request: Request, user: Agent) -> Response:
        return render(request, "live.html", user, rows=live_rows(_service(request), user.actor),
                      alerts=verification_alerts(_service(request), user))

    @router.get("/live/rows")
    def rows(request: Request, user: Agent) -> Response:
        return render(request, "live_rows.html", user, rows=live_rows(_service(request), user.actor),
                      alerts=verification_alerts(_service(request), user))

    @router.get("/live/events")
    async def live_events(request: Request, user: Agent) -> StreamingResponse:
        service = _service(request)

        async def stream() -> AsyncIterator[str]:
            with service.bus.subscribe(None) as subscription:
                yield ": connected\n\n"
                while not await request.is_disconnected():
                    event = await subscription.get(KEEPALIVE_SECONDS)
                    yield _sse("changed", {"id": event.conversation_id, "kind": event.kind}) if event else ": ping\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @router.get("/conversations/{conversation_id}")
    def conversation_page(request: Request, conversation_id: str, user: Agent) -> Response:
        service = _service(request)
        conversation = live_view.conversation_of(service.db, conversation_id, actor=user.actor)
        if conversation is None:
            raise ConsoleDenied(404, "No such conversation.")
        messages = live_view.transcript(service.db, conversation_id, user.actor)
        ticket = ticket_desk.ticket_of_conversation(service.db, conversation_id, user.actor)
        handoffs = live_view.handoffs_of(service.db, conversation_id, user.actor)
        info = conversation_json(conversation, _procedure_title(service, conversation.current_procedure))
        panel = customer_panel(runtime_of(request), user, conversation.customer_id, conversation_id,
                               ticket.id if ticket else None)
        return render(request, "conversation.html", user, conversation=conversation, info=info,
                      messages=messages, ticket=ticket, handoffs=handoffs, panel=panel,
                      last_seq=messages[-1]["seq"] if messages else 0,
                      phone=phone_panel(request, conversation_id, user))

    @router.get("/conversations/{conversation_id}/events")
    async def conversation_events(request: Request, conversation_id: str, user: Agent, after: int = 0) -> Response:
        service = _service(request)
        # EventSource reconnects by itself and says where it got to.
        last_event = request.headers.get("last-event-id", "")
        last = int(last_event) if last_event.isdigit() else after

        def load(since: int) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
            # Not audited per notice: opening the page already audited this staff member's read.
            loaded = live_view.transcript_since(service.db, conversation_id, since)
            if loaded is None:
                return None
            fresh, conversation = loaded
            return fresh, conversation_json(conversation, _procedure_title(service, conversation.current_procedure))

        async def stream() -> AsyncIterator[str]:
            nonlocal last
            with service.bus.subscribe(conversation_id) as subscription:
                while not await request.is_disconnected():
                    loaded = await run_in_threadpool(load, last)
                    if loaded is None:
                        return
                    fresh, info = loaded
                    for message in fresh:
                        last = message["seq"]
                        yield _sse("message", message, last)
                    yield _sse("state", info)
                    while await subscription.get(KEEPALIVE_SECONDS) is None:
                        if await request.is_disconnected():
                            return
                        yield ": ping\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    def act(request: Request, conversation_id: str, action: Any, done: str) -> Response:
        try:
            action()
        except ConversationNotFound as exc:
            raise ConsoleDenied(404, "No such conversation.") from exc
        except ConversationClosed:
            return back(f"/console/conversations/{conversation_id}", "This conversation has ended.")
        except PermissionError as exc:
            return back(f"/console/conversations/{conversation_id}", str(exc))
        except ValueError as exc:
            return back(f"/console/conversations/{conversation_id}", str(exc))
        return back(f"/console/conversations/{conversation_id}", done)

    @router.post("/conversations/{conversation_id}/takeover")
    def take_over(request: Request, conversation_id: str, user: Supervisor) -> Response:
        service = _service(request)
        return act(request, conversation_id,
                   lambda: service.take_over(conversation_id, user.email, user.name, user.actor),
                   "You are now talking to the customer.")

    @router.post("/conversations/{conversation_id}/handback")
    def hand_back(request: Request, conversation_id: str, user: Agent) -> Response:
        service = _service(request)
        _must_handle_or_supervise(service, conversation_id, user)
        return act(request, conversation_id, lambda: service.hand_back(conversation_id, user.email, user.actor),
                   "Handed back to the AI.")

    @router.post("/conversations/{conversation_id}/whisper")
    def whisper(request: Request, conversation_id: str, user: Supervisor, text: Annotated[str, Form()]) -> Response:
        service = _service(request)
        return act(request, conversation_id, lambda: service.whisper(conversation_id, user.email, text, user.actor),
                   "Whisper added (staff only).")

    @router.post("/conversations/{conversation_id}/reply")
    def reply(request: Request, conversation_id: str, user: Agent, text: Annotated[str, Form()]) -> Response:
        service = _service(request)
        return act(request, conversation_id,
                   lambda: service.human_reply(conversation_id, user.email, user.name, text, user.actor), "")

    @router.post("/conversations/{conversation_id}/resolve")
    def resolve(request: Request, conversation_id: str, user: Agent,
                resolution: Annotated[str, Form()] = "") -> Response:
        service = _service(request)
        _must_handle_or_supervise(service, conversation_id, user)
        try:
            service.end(conversation_id, actor=user.actor, reason="resolved")
        except ConversationNotFound as exc:
            raise ConsoleDenied(404, "No such conversation.") from exc
        note = f"Resolved by {user.name}" + (f": {resolution.strip()}" if resolution.strip() else "")
        # Solved in the chat: a callback promised earlier for the same ticket is no longer owed.
        ticket_desk.resolve_conversation_ticket(service.db, conversation_id, user.actor, note, resolution.strip())
        return back(f"/console/conversations/{conversation_id}", "Resolved; the ticket is updated.")

    return router


def _must_handle_or_supervise(service: ConversationService, conversation_id: str, user: StaffUser) -> None:
    """An agent may hand back or resolve only a conversation they handle; supervisors any."""
    if user.can("supervisor"):
        return
    conversation = live_view.conversation_of(service.db, conversation_id)
    if conversation is None:
        raise ConsoleDenied(404, "No such conversation.")
    if conversation.handled_by != user.email:
        raise ConsoleDenied(403, "Only the person handling this conversation (or a supervisor) may do that.")
