"""Tickets (list, search, detail with transcript, edit, merge) and the callbacks queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from helpline.api.validation import MAX_INT32, MAX_OFFSET
from helpline.console.auth import Agent, ConsoleDenied, Supervisor
from helpline.console.customer_panel import customer_panel
from helpline.console.live import message_json
from helpline.console.web import back, render, runtime_of
from helpline.qa.review import DisputeError
from helpline.qa.review import dispute as qa_dispute
from helpline.qa.rubric import DEFAULT_TITLES
from helpline.store.models import Ticket
from helpline.store.repositories import CallbackRepository, Conflict, ConversationRepository, TicketRepository
from helpline.store.validation import CHANNELS, TICKET_PRIORITIES, TICKET_STATUSES

PAGE = 50


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError as exc:
        raise ConsoleDenied(400, f"Not a date: {text!r} (use YYYY-MM-DD).") from exc


def _choice(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


def _ticket_or_404(repo: TicketRepository, number: int, actor: str) -> Ticket:
    ticket = repo.get_by_number(number, actor=actor) if 1 <= number <= MAX_INT32 else None
    if ticket is None:
        raise ConsoleDenied(404, f"No ticket #{number}.")
    return ticket


def tickets_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/tickets")
    def tickets(request: Request, user: Agent, status: str = "", priority: str = "", channel: str = "",
                q: str = "", date_from: str = "", date_to: str = "", page: int = 0) -> Response:
        db = runtime_of(request).db
        q = q.strip()
        if q.lstrip("#").isascii() and q.lstrip("#").isdigit():  # "²" or "١٠٠١" are searched as text
            return back(f"/console/tickets/{q.lstrip('#')}")
        to = _date(date_to)
        page = min(max(page, 0), MAX_OFFSET // PAGE)
        filters: dict[str, Any] = {
            "status": _choice(status, TICKET_STATUSES), "priority": _choice(priority, TICKET_PRIORITIES),
            "channel": _choice(channel, CHANNELS), "q": q or None, "created_from": _date(date_from),
            "created_to": to + timedelta(days=1) if to and to.year < 9999 else None,
        }
        with db.session() as session:
            repo = TicketRepository(session)
            found = repo.list(actor=user.actor, limit=PAGE, offset=max(page, 0) * PAGE, **filters)
            total = repo.count(**filters)
        return render(request, "tickets.html", user, tickets=found, total=total, page=page, pages=(total - 1) // PAGE,
                      f={"status": status, "priority": priority, "channel": channel, "q": q, "date_from": date_from,
                         "date_to": date_to},
                      statuses=TICKET_STATUSES, priorities=TICKET_PRIORITIES, channels=CHANNELS)

    @router.get("/tickets/{number}")
    def ticket_page(request: Request, number: int, user: Agent) -> Response:
        db = runtime_of(request).db
        with db.session() as session:
            repo = TicketRepository(session)
            ticket = _ticket_or_404(repo, number, user.actor)
            conversations = ConversationRepository(session)
            threads = []
            merged = repo.merged_into(ticket.id)
            for t in [ticket, *merged]:
                if t.conversation_id:
                    messages = [message_json(m) for m in conversations.messages(t.conversation_id, actor=user.actor)]
                    threads.append({"ticket": t, "messages": messages})
            kept = session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None
            callbacks = CallbackRepository(session).list(actor=user.actor, ticket_id=ticket.id)
            history = []  # the customer's contacts on every channel, newest first
            if ticket.customer_id:
                history = [t for t in repo.list(actor=user.actor, customer_id=ticket.customer_id, limit=20)
                           if t.id != ticket.id]
            candidates = [t for t in history if t.merged_into_id is None]
            panel = customer_panel(runtime_of(request), session, user, ticket.customer_id, ticket.conversation_id,
                                   ticket.id)
        return render(request, "ticket.html", user, ticket=ticket, threads=threads, merged=merged, kept=kept,
                      callbacks=callbacks, candidates=candidates, panel=panel, statuses=TICKET_STATUSES,
                      priorities=TICKET_PRIORITIES, qa_titles=DEFAULT_TITLES)

    @router.post("/tickets/{number}")
    def edit_ticket(request: Request, number: int, user: Agent, status: Annotated[str, Form()],
                    priority: Annotated[str, Form()], notes: Annotated[str, Form()] = "") -> Response:
        db = runtime_of(request).db
        with db.session() as session:
            repo = TicketRepository(session)
            ticket = _ticket_or_404(repo, number, user.actor)
            try:
                repo.update(ticket.id, actor=user.actor, status=status, priority=priority, notes=notes[:20_000])
            except ValueError as exc:
                return back(f"/console/tickets/{number}", str(exc))
        return back(f"/console/tickets/{number}", "Saved.")

    @router.post("/tickets/{number}/merge")
    def merge(request: Request, number: int, user: Supervisor, duplicate: Annotated[int, Form()]) -> Response:
        db = runtime_of(request).db
        with db.session() as session:
            repo = TicketRepository(session)
            if not (1 <= number <= MAX_INT32 and 1 <= duplicate <= MAX_INT32):
                return back(f"/console/tickets/{number}", f"No ticket #{duplicate}.")
            kept, dup = repo.get_by_number(number, actor=user.actor), repo.get_by_number(duplicate, actor=user.actor)
            if kept is None or dup is None:
                return back(f"/console/tickets/{number}", f"No ticket #{duplicate}.")
            try:
                repo.merge(dup.id, kept.id, actor=user.actor)
            except (Conflict, ValueError) as exc:
                return back(f"/console/tickets/{number}", str(exc))
        return back(f"/console/tickets/{number}", f"Ticket #{duplicate} merged into this one.")

    @router.post("/tickets/{number}/qa/dispute")
    def dispute_finding(request: Request, number: int, user: Supervisor, finding: Annotated[str, Form()],
                        why: Annotated[str, Form()] = "") -> Response:
        runtime = runtime_of(request)
        with runtime.db.session() as session:
            ticket = _ticket_or_404(TicketRepository(session), number, user.actor)
            try:
                qa_dispute(session, ticket, finding[:100], user.actor, why, runtime.conversations.clock())
            except DisputeError as exc:
                return back(f"/console/tickets/{number}", str(exc))
        return back(f"/console/tickets/{number}", "Finding disputed; it no longer counts in the score.")

    @router.get("/callbacks")
    def callbacks(request: Request, user: Agent, show: str = "open") -> Response:
        db = runtime_of(request).db
        now = datetime.now(UTC)
        with db.session() as session:
            repo = CallbackRepository(session)
            if show == "all":
                items = repo.list(actor=user.actor, limit=300)
            else:
                items = [*repo.list(actor=user.actor, status="missed", limit=300),
                         *repo.list(actor=user.actor, status="scheduled", limit=300)]
                items.sort(key=lambda c: c.due_at)
            numbers = {c.ticket_id: t.number for c in items if c.ticket_id
                       for t in [session.get(Ticket, c.ticket_id)] if t is not None}
        rows = [{"c": c, "ticket": numbers.get(c.ticket_id or ""),
                 "breached": c.status in ("scheduled", "missed") and c.due_at < now,
                 "due_soon": c.status == "scheduled" and now <= c.due_at < now + timedelta(hours=1)} for c in items]
        return render(request, "callbacks.html", user, rows=rows, show=show,
                      breaches=sum(1 for r in rows if r["breached"]))

    @router.post("/callbacks/{callback_id}/{outcome}")
    def finish_callback(request: Request, callback_id: str, outcome: str, user: Agent,
                        note: Annotated[str, Form()] = "") -> Response:
        if outcome not in ("done", "cancel"):
            raise ConsoleDenied(404, "Unknown action.")
        db = runtime_of(request).db
        with db.session() as session:
            repo = CallbackRepository(session)
            try:
                if outcome == "done":
                    repo.complete(callback_id, actor=user.actor, outcome=note or f"Called back by {user.name}")
                else:
                    repo.cancel(callback_id, actor=user.actor, outcome=note or f"Cancelled by {user.name}")
            except Conflict as exc:
                return back("/console/callbacks", str(exc))
        return back("/console/callbacks", "Callback updated.")

    return router
