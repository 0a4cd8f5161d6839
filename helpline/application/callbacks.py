"""Dialling promised callbacks, as the phone line needs it, without the line reaching into the store.

Several nodes may dial: each due callback is claimed in the database first (committed), and only the
claimer dials it. Attempts are counted in the database with the claim, so a restart keeps the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from helpline.store.db import Database
from helpline.store.repositories import CallbackRepository, TicketRepository


@dataclass(frozen=True)
class DueCallback:
    """A callback this node has claimed and should dial now."""

    id: str
    phone: str
    reason: str
    ticket_id: str | None


@dataclass(frozen=True)
class CallbackDesk:
    """Claims due callbacks for one node and records each attempt's outcome on the callback and its ticket."""

    db: Database
    node: str  # who holds a claim (host:pid:random): claims are released by the same node
    actor: str  # the audit log's name for the dialler

    def claim_due(self, now: datetime, *, retry_after: timedelta, claim_timeout: timedelta) -> list[DueCallback]:
        with self.db.session() as session:
            return [DueCallback(c.id, c.phone or "", c.reason, c.ticket_id) for c in CallbackRepository(session)
                    .claim_due(now, node=self.node, actor=self.actor, retry_after=retry_after,
                               claim_timeout=claim_timeout)]

    def ticket_number(self, ticket_id: str | None) -> int | None:
        if ticket_id is None:
            return None
        with self.db.session() as session:
            ticket = TicketRepository(session).get(ticket_id, actor=self.actor)
            return ticket.number if ticket else None

    def record_attempt(self, callback_id: str, ticket_id: str | None, note: str, *, completed: bool,
                       max_attempts: int, now: datetime) -> None:
        """Release the claim; a completed attempt closes the callback, the last failed one marks it missed
        (a person should call), any other leaves it scheduled for a retry. The note goes on the ticket."""
        with self.db.session() as session:
            callbacks = CallbackRepository(session)
            attempts = callbacks.finish_attempt(callback_id, node=self.node, now=now).attempts
            if completed:
                callbacks.complete(callback_id, actor=self.actor, outcome=note, now=now)
            elif attempts >= max_attempts:
                callbacks.miss(callback_id, actor=self.actor, outcome=f"{note} No answer after {attempts} attempts.",
                               now=now)
                note = f"{note} Gave up after {attempts} attempts: a person should call back."
            else:
                callback = callbacks.get(callback_id, actor=self.actor)
                if callback is not None:
                    callback.outcome = note  # still scheduled: tried again after the retry delay
            if ticket_id is not None:
                tickets = TicketRepository(session)
                ticket = tickets.get(ticket_id, actor=self.actor)
                if ticket is not None:
                    tickets.update(ticket_id, actor=self.actor, now=now, notes=f"{ticket.notes}\n{note}".strip())
