"""Follow-up messages for a ticket: draft the recap, apology-and-plan or survey from the contact's facts, and
queue one to be sent now (the durable send queue: de-duplicated with what the pack sends automatically)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from helpline.api.auth import Db
from helpline.api.errors import AUTHENTICATED_ERRORS, error_responses
from helpline.api.records import Staff, named_ticket, ticket_not_found
from helpline.api.validation import TicketRef, known_query_only
from helpline.application.outbound_desk import follow_up_draft, queue_follow_up
from helpline.application.ticket_desk import TicketNotFound
from helpline.outbound.ports import MessagePurpose
from helpline.runtime import Runtime
from helpline.tickets.emails import RenderedMessage

FollowUpKind = Literal["recap", "apology", "survey"]


class EmailOut(BaseModel):
    to: str | None = Field(description="The address it goes to; null when the customer left none")
    channel: str | None = Field(description="email or sms (an SMS when only a phone number is on file)")
    subject: str = Field(description="The email's subject (empty for an SMS)")
    body: str = Field(description="The plain text")
    html: str | None = Field(default=None, description="The email's HTML alternative")
    not_sendable: str | None = Field(default=None, description="Why it cannot be sent, when it cannot")


class QueuedOut(BaseModel):
    result: str


def followups_router() -> APIRouter:
    router = APIRouter(tags=["tickets"], responses=error_responses(*AUTHENTICATED_ERRORS, 404),
                       dependencies=[Depends(known_query_only)])

    @router.get("/tickets/{ticket_ref}/emails/{kind}", response_model=EmailOut,
                summary="Draft the recap, apology-and-plan or survey message for a ticket")
    def draft_email(ticket_ref: TicketRef, kind: FollowUpKind, request: Request, caller: Staff, db: Db) -> EmailOut:
        runtime: Runtime = request.app.state.runtime
        try:
            draft = follow_up_draft(db, runtime.pack, named_ticket(ticket_ref), MessagePurpose(kind), caller.actor)
        except TicketNotFound as exc:
            raise ticket_not_found(ticket_ref) from exc
        assert draft is not None  # the contact kinds always have a draft
        rendered = draft.rendered or RenderedMessage(subject=None, text="", html=None)
        return EmailOut(to=draft.to, channel=str(draft.channel) if draft.channel else None,
                        subject=rendered.subject or "", body=rendered.text, html=rendered.html,
                        not_sendable=draft.unsendable)

    @router.post("/tickets/{ticket_ref}/emails/{kind}/send", response_model=QueuedOut,
                 summary="Queue the recap, apology-and-plan or survey message for a ticket now")
    def send_email(ticket_ref: TicketRef, kind: FollowUpKind, request: Request, caller: Staff, db: Db) -> QueuedOut:
        runtime: Runtime = request.app.state.runtime
        try:
            return QueuedOut(result=queue_follow_up(db, runtime.pack, named_ticket(ticket_ref), MessagePurpose(kind),
                                                    caller.actor, now=datetime.now(UTC)))
        except TicketNotFound as exc:
            raise ticket_not_found(ticket_ref) from exc

    return router
