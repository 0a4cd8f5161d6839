"""Follow-up writing for a ticket: recap and apology-and-plan emails from the pack's templates."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from helpline.api.errors import AUTHENTICATED_ERRORS, error_responses
from helpline.api.records import Db, Staff, find_ticket
from helpline.api.validation import TicketRef, known_query_only
from helpline.runtime import Runtime
from helpline.store.repositories import CustomerRepository, TicketRepository
from helpline.tickets.emails import render_email


class EmailOut(BaseModel):
    to: str | None
    subject: str
    body: str


def followups_router() -> APIRouter:
    router = APIRouter(tags=["tickets"], responses=error_responses(*AUTHENTICATED_ERRORS, 404),
                       dependencies=[Depends(known_query_only)])

    @router.get("/tickets/{ticket_ref}/emails/{kind}", response_model=EmailOut,
                summary="Draft the recap or apology-and-plan email for a ticket")
    def draft_email(ticket_ref: TicketRef, kind: Literal["recap", "apology"], request: Request, caller: Staff,
                    db: Db) -> EmailOut:
        runtime: Runtime = request.app.state.runtime
        with db.session() as session:
            ticket = find_ticket(TicketRepository(session), ticket_ref, caller.actor)
            customer = CustomerRepository(session).get(ticket.customer_id, actor=caller.actor) \
                if ticket.customer_id else None
            facts = {
                "customer": {"name": customer.name, "email": customer.email} if customer else {},
                "ticket": {"number": ticket.number, "summary": ticket.summary, "next_step": ticket.next_step,
                           "status": ticket.status},
                "steps": list(ticket.steps_taken or []),
                "resolution": ticket.resolution,
            }
            email = render_email(runtime.pack, "recap_email" if kind == "recap" else "apology_email", facts)
            return EmailOut(to=customer.email if customer else None, subject=email.subject, body=email.body)

    return router
