"""Tickets, callbacks and escalations as staff work them in the console and through the API: find, read, edit,
merge, dispute a QA finding, work the callback queue, accept a hand-off, resolve a conversation's ticket. Plain
views, never the store's rows; every read and change of customer data is audited as the staff member's (or the
API key's)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpline.application.live_view import EscalationView, message_json
from helpline.qa.review import DisputeError
from helpline.qa.review import dispute as qa_dispute
from helpline.store.db import Database
from helpline.store.models import Callback, Conversation, Ticket
from helpline.store.repositories import (
    CallbackRepository,
    Conflict,
    ConversationRepository,
    HandoffRepository,
    NotFound,
    TicketRepository,
)

__all__ = [
    "CallbackView",
    "Conflict",
    "DisputeError",
    "EscalationItem",
    "NamedTicket",
    "NotFound",
    "RatingKept",
    "Thread",
    "TicketDetail",
    "TicketNotFound",
    "TicketView",
    "accept_handoff",
    "average_qa_score",
    "callback_queue",
    "callbacks",
    "dispute_finding",
    "edit_ticket",
    "escalations",
    "find_tickets",
    "finish_callback",
    "merge_tickets",
    "resolve_conversation_ticket",
    "ticket_detail",
    "ticket_named",
    "ticket_of_conversation",
    "update_ticket",
]

HISTORY_SHOWN = 20  # the customer's other tickets on a ticket's page
CALLBACKS_SHOWN = 300
ESCALATIONS_READ = 200


class TicketNotFound(LookupError):
    pass


class RatingKept(Conflict):
    """A change would replace the customer's rating: a rating is recorded once (it may be cleared, not replaced)."""

    def __init__(self, number: int, csat: int) -> None:
        super().__init__(f"ticket {number} already has a rating ({csat}); a rating is not replaced")
        self.number = number
        self.csat = csat


@dataclass(frozen=True)
class NamedTicket:
    """A ticket as a caller names it: by its number, or else by its id."""

    number: int | None = None
    id: str = ""


@dataclass(frozen=True)
class TicketView:
    id: str
    number: int
    conversation_id: str | None
    customer_id: str | None
    channel: str
    category: str
    priority: str
    status: str
    summary: str
    steps_taken: tuple[str, ...]
    resolution: str
    next_step: str
    tags: tuple[str, ...]
    flags: tuple[str, ...]
    sentiment: float
    handle_time_seconds: int
    csat: int | None
    nps: int | None
    notes: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    merged_into_id: str | None
    qa_score: float | None
    qa_findings: list[dict[str, Any]] | None
    qa_reviewed_at: datetime | None

    @classmethod
    def of(cls, row: Ticket) -> TicketView:
        return cls(id=row.id, number=row.number, conversation_id=row.conversation_id, customer_id=row.customer_id,
                   channel=row.channel, category=row.category, priority=row.priority, status=row.status,
                   summary=row.summary, steps_taken=tuple(row.steps_taken or ()), resolution=row.resolution,
                   next_step=row.next_step, tags=tuple(row.tags or ()), flags=tuple(row.flags or ()),
                   sentiment=row.sentiment, handle_time_seconds=row.handle_time_seconds, csat=row.csat, nps=row.nps,
                   notes=row.notes, created_at=row.created_at, updated_at=row.updated_at, closed_at=row.closed_at,
                   merged_into_id=row.merged_into_id, qa_score=row.qa_score,
                   qa_findings=[dict(f) for f in row.qa_findings] if row.qa_findings is not None else None,
                   qa_reviewed_at=row.qa_reviewed_at)


@dataclass(frozen=True)
class CallbackView:
    id: str
    ticket_id: str | None
    phone: str | None
    email: str | None
    due_at: datetime
    reason: str
    status: str  # scheduled | done | missed | cancelled
    attempts: int
    completed_at: datetime | None
    outcome: str
    customer_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Callback) -> CallbackView:
        return cls(id=row.id, ticket_id=row.ticket_id, phone=row.phone, email=row.email, due_at=row.due_at,
                   reason=row.reason, status=row.status, attempts=row.attempts, completed_at=row.completed_at,
                   outcome=row.outcome, customer_id=row.customer_id, created_at=row.created_at)


@dataclass(frozen=True)
class Thread:
    """One conversation of a ticket (its own, or a merged ticket's), with every line."""

    ticket: TicketView
    messages: list[dict[str, Any]]


@dataclass(frozen=True)
class TicketDetail:
    ticket: TicketView
    threads: list[Thread]
    merged: list[TicketView]  # folded into this one
    kept: TicketView | None  # the ticket this one was merged into
    callbacks: list[CallbackView]
    history: list[TicketView] = field(default_factory=list)  # the customer's other tickets, newest first


@contextmanager
def _keeping_reads(db: Database, *refusals: type[Exception]) -> Iterator[Session]:
    """A transaction that still commits when the change it was for is refused with one of ``refusals`` (raised
    before anything is written), so the audited reads made on the way stay in the log; then the refusal is
    raised."""
    refused: Exception | None = None
    with db.session() as session:
        try:
            yield session
        except refusals as exc:
            refused = exc
    if refused is not None:
        raise refused


def _by_number(repo: TicketRepository, number: int, actor: str) -> Ticket:
    ticket = repo.get_by_number(number, actor=actor)
    if ticket is None:
        raise TicketNotFound(f"No ticket #{number}.")
    return ticket


def named_ticket_row(repo: TicketRepository, which: NamedTicket, actor: str) -> Ticket | None:
    """The ticket ``which`` names (its read audited), or None."""
    if which.number is not None:
        return repo.get_by_number(which.number, actor=actor)
    return repo.get(which.id, actor=actor)


def existing_ticket_row(repo: TicketRepository, which: NamedTicket, actor: str) -> Ticket:
    """The ticket ``which`` names (its read audited); TicketNotFound when there is none."""
    ticket = named_ticket_row(repo, which, actor)
    if ticket is None:
        raise TicketNotFound(f"No ticket {which.number if which.number is not None else which.id}.")
    return ticket


def ticket_named(db: Database, which: NamedTicket, actor: str) -> TicketView | None:
    with db.session() as session:
        row = named_ticket_row(TicketRepository(session), which, actor)
        return TicketView.of(row) if row is not None else None


def edit_ticket(db: Database, which: NamedTicket, actor: str, **changes: Any) -> TicketView:
    """Change the ticket's fields (audited) and return it changed; TicketNotFound, RatingKept when ``csat`` would
    replace the customer's rating, ValueError for a value the ticket cannot take. A refused change keeps nothing,
    its audited read included."""
    with db.session() as session:
        repo = TicketRepository(session)
        ticket = existing_ticket_row(repo, which, actor)
        if changes.get("csat") is not None and ticket.csat is not None and ticket.csat != changes["csat"]:
            raise RatingKept(ticket.number, ticket.csat)
        return TicketView.of(repo.update(ticket.id, actor=actor, **changes))


def average_qa_score(db: Database) -> float | None:
    """The mean QA score of the tickets scored so far (None before any is)."""
    with db.session() as session:
        average = session.scalar(select(func.avg(Ticket.qa_score)).where(Ticket.qa_score.is_not(None)))
        return float(average) if average is not None else None


def find_tickets(db: Database, actor: str, *, limit: int, offset: int = 0,
                 **filters: Any) -> tuple[list[TicketView], int]:
    """A page of tickets matching the filters (newest first) and how many match in all."""
    with db.session() as session:
        repo = TicketRepository(session)
        found = repo.list(actor=actor, limit=limit, offset=offset, **filters)
        return [TicketView.of(t) for t in found], repo.count(**filters)


def ticket_detail(db: Database, number: int, actor: str) -> TicketDetail:
    """The ticket, its transcripts (and those of tickets merged into it), callbacks and the customer's other
    tickets; TicketNotFound for an unknown number."""
    with db.session() as session:
        repo = TicketRepository(session)
        ticket = _by_number(repo, number, actor)
        conversations = ConversationRepository(session)
        merged = repo.merged_into(ticket.id)
        threads = [Thread(TicketView.of(t), [message_json(m) for m in conversations.messages(t.conversation_id,
                                                                                           actor=actor)])
                   for t in [ticket, *merged] if t.conversation_id]
        kept = session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None
        callbacks = CallbackRepository(session).list(actor=actor, ticket_id=ticket.id)
        history = []
        if ticket.customer_id:
            history = [TicketView.of(t) for t in repo.list(actor=actor, customer_id=ticket.customer_id,
                                                           limit=HISTORY_SHOWN) if t.id != ticket.id]
        return TicketDetail(TicketView.of(ticket), threads, [TicketView.of(t) for t in merged],
                            TicketView.of(kept) if kept is not None else None,
                            [CallbackView.of(c) for c in callbacks], history)


def ticket_of_conversation(db: Database, conversation_id: str, actor: str) -> TicketView | None:
    with db.session() as session:
        tickets = TicketRepository(session).list(actor=actor, conversation_id=conversation_id, limit=1)
        return TicketView.of(tickets[0]) if tickets else None


def update_ticket(db: Database, number: int, actor: str, **fields: Any) -> None:
    """Change the ticket's fields (audited); ValueError for a value the ticket cannot take."""
    with _keeping_reads(db, ValueError) as session:
        repo = TicketRepository(session)
        repo.update(_by_number(repo, number, actor).id, actor=actor, **fields)


def merge_tickets(db: Database, number: int, duplicate: int, actor: str) -> None:
    """Fold ticket ``duplicate`` into ticket ``number``; TicketNotFound, or Conflict / ValueError saying why not."""
    with _keeping_reads(db, Conflict, ValueError) as session:
        repo = TicketRepository(session)
        kept, dup = repo.get_by_number(number, actor=actor), repo.get_by_number(duplicate, actor=actor)
        if kept is None or dup is None:
            raise TicketNotFound(f"No ticket #{duplicate}.")
        repo.merge(dup.id, kept.id, actor=actor)


def dispute_finding(db: Database, number: int, finding_id: str, actor: str, why: str, at: datetime) -> None:
    """A supervisor disputes a QA finding of the ticket (qa/review.py); DisputeError says why not."""
    with _keeping_reads(db, DisputeError) as session:
        qa_dispute(session, _by_number(TicketRepository(session), number, actor), finding_id, actor, why, at)


def callback_queue(db: Database, actor: str, *, everything: bool = False) -> list[tuple[CallbackView, int | None]]:
    """Callbacks still owed (missed and scheduled, earliest due first), or all of them; each with its ticket's
    number."""
    with db.session() as session:
        repo = CallbackRepository(session)
        if everything:
            items = repo.list(actor=actor, limit=CALLBACKS_SHOWN)
        else:
            items = [*repo.list(actor=actor, status="missed", limit=CALLBACKS_SHOWN),
                     *repo.list(actor=actor, status="scheduled", limit=CALLBACKS_SHOWN)]
            items.sort(key=lambda c: c.due_at)
        numbers = {c.ticket_id: t.number for c in items if c.ticket_id
                   for t in [session.get(Ticket, c.ticket_id)] if t is not None}
        return [(CallbackView.of(c), numbers.get(c.ticket_id or "")) for c in items]


def callbacks(db: Database, actor: str, *, status: str | None = None, due_before: datetime | None = None,
              limit: int, offset: int = 0) -> list[CallbackView]:
    """Callbacks (of ``status``, due before ``due_before``), earliest due first; each read audited."""
    with db.session() as session:
        return [CallbackView.of(c) for c in CallbackRepository(session).list(
            actor=actor, status=status, due_before=due_before, limit=limit, offset=offset)]


def finish_callback(db: Database, callback_id: str, *, done: bool, actor: str, outcome: str) -> None:
    """Mark it done (called back) or cancelled; Conflict when it is already finished, NotFound when unknown."""
    with _keeping_reads(db, Conflict) as session:
        repo = CallbackRepository(session)
        if done:
            repo.complete(callback_id, actor=actor, outcome=outcome)
        else:
            repo.cancel(callback_id, actor=actor, outcome=outcome)


@dataclass(frozen=True)
class EscalationItem:
    h: EscalationView
    live: bool  # the conversation is still going
    ticket: TicketView | None
    mine: bool  # accepted by the person reading


def escalations(db: Database, actor: str, reader: str) -> list[EscalationItem]:
    """Hand-offs waiting for a person, and accepted ones whose conversation is still live (oldest first); done
    ones live on in their ticket."""
    with db.session() as session:
        items = []
        for handoff in HandoffRepository(session).list(actor=actor, limit=ESCALATIONS_READ):
            conversation = session.get(Conversation, handoff.conversation_id) if handoff.conversation_id else None
            ticket = session.get(Ticket, handoff.ticket_id) if handoff.ticket_id else None
            live = conversation is not None and conversation.status == "active"
            if handoff.accepted_at is not None and not live:
                continue
            items.append(EscalationItem(EscalationView.of(handoff), live,
                                        TicketView.of(ticket) if ticket is not None else None,
                                        handoff.accepted_by == reader))
        return items


def accept_handoff(db: Database, handoff_id: str, actor: str, by: str) -> str | None:
    """``by`` takes the hand-off; returns its conversation's id. NotFound, or Conflict when someone took it."""
    with _keeping_reads(db, Conflict) as session:
        repo = HandoffRepository(session)
        handoff = repo.get(handoff_id, actor=actor)
        if handoff is None:
            raise NotFound("no such escalation")
        repo.accept(handoff_id, actor=actor, accepted_by=by)
        return handoff.conversation_id


def resolve_conversation_ticket(db: Database, conversation_id: str, actor: str, note: str, resolution: str) -> None:
    """The conversation's ticket marked resolved (with ``resolution``, else the one it had, else ``note``), the
    note added to its steps; a callback promised earlier for it is no longer owed."""
    with db.session() as session:
        tickets = TicketRepository(session)
        found = tickets.list(actor=actor, conversation_id=conversation_id, limit=1)
        if not found:
            return
        ticket = found[0]
        tickets.update(ticket.id, actor=actor, status="resolved", resolution=resolution or ticket.resolution or note,
                       steps_taken=[*ticket.steps_taken, note])
        callbacks = CallbackRepository(session)
        for callback in callbacks.list(actor=actor, ticket_id=ticket.id, status="scheduled"):
            callbacks.cancel(callback.id, actor=actor, outcome=note)
