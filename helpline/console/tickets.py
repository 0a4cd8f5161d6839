"""Tickets (list, search, detail with transcript, edit, merge) and the callbacks queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from helpline.api.validation import MAX_INT32, MAX_OFFSET
from helpline.application import ticket_desk
from helpline.application.allowed_values import CHANNELS, TICKET_PRIORITIES, TICKET_STATUSES
from helpline.application.ticket_desk import Conflict, DisputeError, TicketDetail, TicketNotFound
from helpline.console.auth import Agent, ConsoleDenied, Supervisor
from helpline.console.customer_panel import customer_panel
from helpline.console.web import back, day_span, render, runtime_of
from helpline.qa.rubric import DEFAULT_TITLES

PAGE = 50


def _choice(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


def _ticket_or_404(db: Any, number: int, actor: str) -> TicketDetail:
    try:
        if not 1 <= number <= MAX_INT32:
            raise TicketNotFound(number)
        return ticket_desk.ticket_detail(db, number, actor)
    except TicketNotFound as exc:
        raise ConsoleDenied(404, f"No ticket #{number}.") from exc


def tickets_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/tickets")
    def tickets(request: Request, user: Agent, status: str = "", priority: str = "", channel: str = "",
                q: str = "", date_from: str = "", date_to: str = "", page: int = 0) -> Response:
        runtime = runtime_of(request)
        db = runtime.db
        q = q.strip()
        if q.lstrip("#").isascii() and q.lstrip("#").isdigit():  # "²" or "١٠٠١" are searched as text
            return back(f"/console/tickets/{q.lstrip('#')}")
        page = min(max(page, 0), MAX_OFFSET // PAGE)
        created_from, created_to = day_span(runtime, date_from, date_to)
        filters: dict[str, Any] = {
            "status": _choice(status, TICKET_STATUSES), "priority": _choice(priority, TICKET_PRIORITIES),
            "channel": _choice(channel, CHANNELS), "q": q or None, "created_from": created_from,
            "created_to": created_to,
        }
        found, total = ticket_desk.find_tickets(db, user.actor, limit=PAGE, offset=max(page, 0) * PAGE, **filters)
        return render(request, "tickets.html", user, tickets=found, total=total, page=page, pages=(total - 1) // PAGE,
                      f={"status": status, "priority": priority, "channel": channel, "q": q, "date_from": date_from,
                         "date_to": date_to},
                      statuses=TICKET_STATUSES, priorities=TICKET_PRIORITIES, channels=CHANNELS)

    @router.get("/tickets/{number}")
    def ticket_page(request: Request, number: int, user: Agent) -> Response:
        detail = _ticket_or_404(runtime_of(request).db, number, user.actor)
        ticket = detail.ticket
        # the customer's other tickets that may still be merged into this one, newest first
        candidates = [t for t in detail.history if t.merged_into_id is None]
        panel = customer_panel(runtime_of(request), user, ticket.customer_id, ticket.conversation_id, ticket.id)
        return render(request, "ticket.html", user, ticket=ticket, threads=detail.threads, merged=detail.merged,
                      kept=detail.kept, callbacks=detail.callbacks, candidates=candidates, panel=panel,
                      statuses=TICKET_STATUSES,
                      priorities=TICKET_PRIORITIES, qa_titles=DEFAULT_TITLES)

    @router.post("/tickets/{number}")
    def edit_ticket(request: Request, number: int, user: Agent, status: Annotated[str, Form()],
                    priority: Annotated[str, Form()], notes: Annotated[str, Form()] = "") -> Response:
        if not 1 <= number <= MAX_INT32:
            raise ConsoleDenied(404, f"No ticket #{number}.")
        try:
            ticket_desk.update_ticket(runtime_of(request).db, number, user.actor, status=status, priority=priority,
                                      notes=notes[:20_000])
        except TicketNotFound as exc:
            raise ConsoleDenied(404, f"No ticket #{number}.") from exc
        except ValueError as exc:
            return back(f"/console/tickets/{number}", str(exc))
        return back(f"/console/tickets/{number}", "Saved.")

    @router.post("/tickets/{number}/merge")
    def merge(request: Request, number: int, user: Supervisor, duplicate: Annotated[int, Form()]) -> Response:
        if not (1 <= number <= MAX_INT32 and 1 <= duplicate <= MAX_INT32):
            return back(f"/console/tickets/{number}", f"No ticket #{duplicate}.")
        try:
            ticket_desk.merge_tickets(runtime_of(request).db, number, duplicate, user.actor)
        except TicketNotFound:
            return back(f"/console/tickets/{number}", f"No ticket #{duplicate}.")
        except (Conflict, ValueError) as exc:
            return back(f"/console/tickets/{number}", str(exc))
        return back(f"/console/tickets/{number}", f"Ticket #{duplicate} merged into this one.")

    @router.post("/tickets/{number}/qa/dispute")
    def dispute_finding(request: Request, number: int, user: Supervisor, finding: Annotated[str, Form()],
                        why: Annotated[str, Form()] = "") -> Response:
        runtime = runtime_of(request)
        if not 1 <= number <= MAX_INT32:
            raise ConsoleDenied(404, f"No ticket #{number}.")
        try:
            ticket_desk.dispute_finding(runtime.db, number, finding[:100], user.actor, why,
                                        runtime.conversations.clock())
        except TicketNotFound as exc:
            raise ConsoleDenied(404, f"No ticket #{number}.") from exc
        except DisputeError as exc:
            return back(f"/console/tickets/{number}", str(exc))
        return back(f"/console/tickets/{number}", "Finding disputed; it no longer counts in the score.")

    @router.get("/callbacks")
    def callbacks(request: Request, user: Agent, show: str = "open") -> Response:
        now = datetime.now(UTC)
        items = ticket_desk.callback_queue(runtime_of(request).db, user.actor, everything=show == "all")
        rows = [{"c": c, "ticket": number,
                 "breached": c.status in ("scheduled", "missed") and c.due_at < now,
                 "due_soon": c.status == "scheduled" and now <= c.due_at < now + timedelta(hours=1)}
                for c, number in items]
        return render(request, "callbacks.html", user, rows=rows, show=show,
                      breaches=sum(1 for r in rows if r["breached"]))

    @router.post("/callbacks/{callback_id}/{outcome}")
    def finish_callback(request: Request, callback_id: str, outcome: str, user: Agent,
                        note: Annotated[str, Form()] = "") -> Response:
        if outcome not in ("done", "cancel"):
            raise ConsoleDenied(404, "Unknown action.")
        done = outcome == "done"
        try:
            ticket_desk.finish_callback(runtime_of(request).db, callback_id, done=done, actor=user.actor,
                                        outcome=note or (f"Called back by {user.name}" if done else
                                                         f"Cancelled by {user.name}"))
        except Conflict as exc:
            return back("/console/callbacks", str(exc))
        except LookupError as exc:  # no such callback
            raise ConsoleDenied(404, "No such callback.") from exc
        return back("/console/callbacks", "Callback updated.")

    return router
