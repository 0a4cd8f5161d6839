"""Callbacks: scheduled, claimed once across nodes when due, and their outcomes."""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from helpline.store.claims import Claims, holder
from helpline.store.models import (
    Callback,
)
from helpline.store.repositories.base import (
    Conflict,
    NotFound,
    _limit,
    _now,
    _Repository,
)
from helpline.store.validation import (
    CALLBACK_STATUSES,
    check_choice,
    normalise_email,
    normalise_phone,
)

# Dialling a due callback: one node at a time (claim_due), the claim released after the attempt.
CALLBACK_CLAIMS = Claims(Callback, Callback.id, Callback.claimed_by, Callback.claimed_at)


class CallbackRepository(_Repository):
    """Promised callbacks: scheduled -> done | missed | cancelled (a missed one can still be done)."""

    def schedule(
        self,
        *,
        actor: str,
        due_at: datetime,
        reason: str = "",
        ticket_id: str | None = None,
        customer_id: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        region: str | None = None,
        now: datetime | None = None,
    ) -> Callback:
        callback = Callback(
            ticket_id=ticket_id, customer_id=customer_id,
            phone=normalise_phone(phone, region) if phone else None,
            email=normalise_email(email) if email else None,
            due_at=due_at, reason=reason, status="scheduled", created_at=_now(now), outcome="",
        )
        self.session.add(callback)
        self.session.flush()
        self.audit.record(actor, "create", "callback", callback.id, customer_id,
                          {"due_at": callback.due_at.isoformat(), "ticket_id": ticket_id})
        return callback

    def get(self, callback_id: str, *, actor: str) -> Callback | None:
        callback = self.session.get(Callback, callback_id)
        if callback is not None:
            self.audit.record(actor, "read", "callback", callback.id, callback.customer_id)
        return callback

    def due(self, now: datetime, *, actor: str, limit: int = 100) -> list[Callback]:
        """Scheduled callbacks whose time has come, earliest first."""
        query = (select(Callback).where(Callback.status == "scheduled", Callback.due_at <= now)
                 .order_by(Callback.due_at).limit(_limit(limit)))
        found = list(self.session.scalars(query))
        self.audit.record(actor, "read", "callback", "*", None, {"list": "due", "ids": [c.id for c in found]})
        return found

    def claim_due(self, now: datetime, *, node: str, retry_after: timedelta, claim_timeout: timedelta,
                  actor: str, limit: int = 20) -> builtins.list[Callback]:
        """Claim scheduled callbacks that are due (and not tried within ``retry_after``) for ``node`` to
        dial: each is claimed by one conditional UPDATE, so of several nodes (or threads) racing for it
        exactly one wins. A claim older than ``claim_timeout`` belongs to a node that died and is taken
        over. Commit right after, so the other nodes see the claim; ``finish_attempt`` releases it."""
        free = CALLBACK_CLAIMS.free(now, claim_timeout)
        candidates = (
            select(Callback.id).where(
                Callback.status == "scheduled", Callback.due_at <= now, Callback.phone.is_not(None), free,
                or_(Callback.last_attempt_at.is_(None), Callback.last_attempt_at <= now - retry_after))
            .order_by(Callback.due_at).limit(_limit(limit)))
        claimed = CALLBACK_CLAIMS.claim_rows(self.session, candidates, still=(Callback.status == "scheduled") & free,
                                             node=node, now=now)
        for callback in claimed:
            self.audit.record(actor, "update", "callback", callback.id, callback.customer_id,
                              {"claimed_by": holder(node)}, at=now)
        return claimed

    def finish_attempt(self, callback_id: str, *, node: str, now: datetime) -> Callback:
        """Count one dialling attempt (kept across restarts) and release the claim; returns the callback,
        whose ``attempts`` now includes this one."""
        callback = self.session.get(Callback, callback_id)
        if callback is None:
            raise NotFound(f"callback {callback_id} not found")
        callback.attempts = (callback.attempts or 0) + 1
        callback.last_attempt_at = now
        if CALLBACK_CLAIMS.held_by(callback, node):
            CALLBACK_CLAIMS.release(callback)
        self.session.flush()
        return callback

    def list(
        self,
        *,
        actor: str,
        status: str | None = None,
        due_before: datetime | None = None,
        customer_id: str | None = None,
        ticket_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Callback]:
        """Earliest due first."""
        query = select(Callback)
        if status is not None:
            query = query.where(Callback.status == check_choice("callback status", status, CALLBACK_STATUSES))
        if due_before is not None:
            query = query.where(Callback.due_at < due_before)
        if customer_id is not None:
            query = query.where(Callback.customer_id == customer_id)
        if ticket_id is not None:
            query = query.where(Callback.ticket_id == ticket_id)
        query = query.order_by(Callback.due_at, Callback.id).limit(_limit(limit)).offset(max(offset, 0))
        found = list(self.session.scalars(query))
        self.audit.record(actor, "read", "callback", "*", customer_id, {"ids": [c.id for c in found]})
        return found

    def _transition(self, callback_id: str, status: str, actor: str, outcome: str, now: datetime | None,
                    allowed_from: tuple[str, ...]) -> Callback:
        callback = self.session.get(Callback, callback_id)
        if callback is None:
            raise NotFound(f"callback {callback_id} not found")
        if callback.status not in allowed_from:
            raise Conflict(f"callback is {callback.status}; cannot mark it {status}")
        previous = callback.status
        callback.status = status
        callback.completed_at = _now(now)
        if outcome:
            callback.outcome = outcome
        self.session.flush()
        self.audit.record(actor, "update", "callback", callback.id, callback.customer_id,
                          {"status": [previous, status]})
        return callback

    def complete(self, callback_id: str, *, actor: str, outcome: str = "", now: datetime | None = None) -> Callback:
        """Mark done; a missed callback made late still counts as done."""
        return self._transition(callback_id, "done", actor, outcome, now, ("scheduled", "missed"))

    def miss(self, callback_id: str, *, actor: str, outcome: str = "", now: datetime | None = None) -> Callback:
        """Attempts were made and nobody was reached; a person can still call back (then it is done)."""
        return self._transition(callback_id, "missed", actor, outcome, now, ("scheduled",))

    def cancel(self, callback_id: str, *, actor: str, outcome: str = "", now: datetime | None = None) -> Callback:
        return self._transition(callback_id, "cancelled", actor, outcome, now, ("scheduled", "missed"))

    def mark_missed_overdue(self, now: datetime, *, actor: str = "system",
                            grace: timedelta = timedelta(0)) -> builtins.list[Callback]:
        """Mark scheduled callbacks more than ``grace`` past due as missed; returns them."""
        overdue = list(self.session.scalars(
            select(Callback).where(Callback.status == "scheduled", Callback.due_at < now - grace)
            .order_by(Callback.due_at)
        ))
        for callback in overdue:
            callback.status = "missed"
            self.audit.record(actor, "update", "callback", callback.id, callback.customer_id,
                              {"status": ["scheduled", "missed"]}, at=now)
        self.session.flush()
        return overdue


