"""Tickets: numbering, updates, merging and filtered lists."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.exc import IntegrityError

from helpline.store.models import (
    Ticket,
)
from helpline.store.repositories.base import (
    Conflict,
    NotFound,
    _limit,
    _now,
    _Repository,
    _str_list,
)
from helpline.store.validation import (
    CHANNELS,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    check_choice,
)

FIRST_TICKET_NUMBER = 1001
_NUMBERING_ATTEMPTS = 5
_TICKET_NUMBER_LOCK = 0x48_4C_54_4B  # "HLTK": an arbitrary, fixed advisory-lock key




TICKET_TEXT_FIELDS = ("category", "summary", "resolution", "next_step", "notes")
TICKET_LIST_FIELDS = ("steps_taken", "tags", "flags")
TICKET_UPDATABLE = frozenset(
    (*TICKET_TEXT_FIELDS, *TICKET_LIST_FIELDS, "status", "priority", "channel", "sentiment",
     "handle_time_seconds", "csat", "customer_id", "conversation_id")
)


class TicketRepository(_Repository):
    """Tickets, numbered 1001, 1002, ... so a customer can quote one on the phone."""

    def create(
        self,
        *,
        actor: str,
        channel: str,
        conversation_id: str | None = None,
        customer_id: str | None = None,
        category: str = "general",
        priority: str = "normal",
        summary: str = "",
        status: str = "open",
        steps_taken: Sequence[str] = (),
        tags: Sequence[str] = (),
        flags: Sequence[str] = (),
        next_step: str = "",
        resolution: str = "",
        notes: str = "",
        sentiment: float = 0.0,
        now: datetime | None = None,
    ) -> Ticket:
        check_choice("channel", channel, CHANNELS)
        check_choice("priority", priority, TICKET_PRIORITIES)
        check_choice("ticket status", status, TICKET_STATUSES)
        moment = _now(now)
        for _attempt in range(_NUMBERING_ATTEMPTS):
            number = self._next_number()
            ticket = Ticket(
                number=number, conversation_id=conversation_id, customer_id=customer_id,
                channel=channel, category=category or "general", priority=priority, summary=summary,
                status=status, steps_taken=_str_list("steps_taken", steps_taken), tags=_str_list("tags", tags),
                flags=_str_list("flags", flags), next_step=next_step, resolution=resolution, notes=notes,
                sentiment=float(sentiment), handle_time_seconds=0, created_at=moment, updated_at=moment,
                closed_at=moment if status == "resolved" else None,
            )
            try:
                # A savepoint, so losing the race for a number to a concurrent writer only retries.
                with self.session.begin_nested():
                    self.session.add(ticket)
            except IntegrityError:
                if self.session.scalar(select(func.count()).where(Ticket.number == number)):
                    continue
                raise  # not a numbering race (e.g. an unknown conversation id)
            self.audit.record(actor, "create", "ticket", ticket.id, customer_id,
                              {"number": ticket.number, "channel": channel})
            return ticket
        raise Conflict("could not allocate a ticket number; try again")

    def _next_number(self) -> int:
        if self.session.get_bind().dialect.name == "postgresql":
            # Serialise numbering across writers until this transaction ends; without it, busy
            # servers burn through the retries. (SQLite already serialises writers: BEGIN IMMEDIATE.)
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _TICKET_NUMBER_LOCK})
        highest = self.session.scalar(select(func.max(Ticket.number)))
        return FIRST_TICKET_NUMBER if highest is None else highest + 1

    def get(self, ticket_id: str, *, actor: str) -> Ticket | None:
        ticket = self.session.get(Ticket, ticket_id)
        if ticket is not None:
            self.audit.record(actor, "read", "ticket", ticket.id, ticket.customer_id)
        return ticket

    def get_by_number(self, number: int, *, actor: str) -> Ticket | None:
        ticket = self.session.scalars(select(Ticket).where(Ticket.number == number)).first()
        if ticket is not None:
            self.audit.record(actor, "read", "ticket", ticket.id, ticket.customer_id)
        return ticket

    def update(self, ticket_id: str, *, actor: str, now: datetime | None = None, **fields: Any) -> Ticket:
        """Change the given fields after validating them; resolving sets ``closed_at``, reopening clears it.

        Raises NotFound for an unknown ticket and ValueError for an unknown field or a bad value.
        """
        ticket = self.session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} not found")
        unknown = sorted(set(fields) - TICKET_UPDATABLE)
        if unknown:
            raise ValueError(f"cannot update ticket field(s): {', '.join(unknown)}")
        clean = {name: self._clean(name, value) for name, value in fields.items()}
        changed = {name: value for name, value in clean.items() if getattr(ticket, name) != value}
        if not changed:
            return ticket
        before = {name: getattr(ticket, name) for name in ("status", "priority") if name in changed}
        for name, value in changed.items():
            setattr(ticket, name, value)
        moment = _now(now)
        ticket.updated_at = moment
        if "status" in changed:
            ticket.closed_at = moment if ticket.status == "resolved" else None
        detail: dict[str, Any] = {"fields": sorted(changed)}
        for name, old in before.items():
            detail[name] = [old, changed[name]]
        self.audit.record(actor, "update", "ticket", ticket.id, ticket.customer_id, detail)
        return ticket

    def rate_once(self, ticket_id: str, score: int, *, actor: str, now: datetime | None = None) -> bool:
        """Record the customer's 1-5 rating if the ticket has none yet (one atomic ``UPDATE ... WHERE csat IS
        NULL``, so two racing ratings cannot both land). Returns False when it was already rated."""
        score = self._clean("csat", score)
        if score is None:
            raise ValueError("a rating is a whole number from 1 to 5")
        moment = _now(now)
        result = self.session.execute(
            update(Ticket).where(Ticket.id == ticket_id, Ticket.csat.is_(None))
            .values(csat=score, updated_at=moment).execution_options(synchronize_session=False))
        if not getattr(result, "rowcount", 0):
            return False
        ticket = self.session.get(Ticket, ticket_id)
        if ticket is not None:
            self.session.refresh(ticket)
        self.audit.record(actor, "update", "ticket", ticket_id, ticket.customer_id if ticket else None,
                          {"fields": ["csat"]})
        return True

    @staticmethod
    def _clean(name: str, value: Any) -> Any:
        if name in TICKET_LIST_FIELDS:
            return _str_list(name, value)
        if name in TICKET_TEXT_FIELDS:
            if not isinstance(value, str):
                raise ValueError(f"invalid {name}: expected text")
            if name == "category" and not value.strip():
                raise ValueError("invalid category: empty")
            return value
        if name == "status":
            return check_choice("ticket status", value, TICKET_STATUSES)
        if name == "priority":
            return check_choice("priority", value, TICKET_PRIORITIES)
        if name == "channel":
            return check_choice("channel", value, CHANNELS)
        if name == "sentiment":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError("invalid sentiment: expected a number")
            return float(value)
        if name == "handle_time_seconds":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("invalid handle_time_seconds: expected a whole number of seconds >= 0")
            return value
        if name == "csat":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5):
                raise ValueError(f"invalid csat {value!r}: expected 1 to 5")
            return value
        # customer_id / conversation_id: ids or None
        if value is not None and not isinstance(value, str):
            raise ValueError(f"invalid {name}: expected an id")
        return value

    def _filtered(
        self,
        *,
        status: str | None = None,
        customer_id: str | None = None,
        conversation_id: str | None = None,
        channel: str | None = None,
        category: str | None = None,
        priority: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        q: str | None = None,
    ) -> Select[Ticket]:
        query = select(Ticket)
        if status is not None:
            query = query.where(Ticket.status == check_choice("ticket status", status, TICKET_STATUSES))
        if priority is not None:
            query = query.where(Ticket.priority == check_choice("priority", priority, TICKET_PRIORITIES))
        if channel is not None:
            query = query.where(Ticket.channel == check_choice("channel", channel, CHANNELS))
        if customer_id is not None:
            query = query.where(Ticket.customer_id == customer_id)
        if conversation_id is not None:
            query = query.where(Ticket.conversation_id == conversation_id)
        if category is not None:
            query = query.where(Ticket.category == category)
        if created_from is not None:
            query = query.where(Ticket.created_at >= created_from)
        if created_to is not None:
            query = query.where(Ticket.created_at < created_to)
        if q:
            query = query.where(Ticket.summary.icontains(q.strip(), autoescape=True))
        return query

    def list(
        self,
        *,
        actor: str,
        status: str | None = None,
        customer_id: str | None = None,
        conversation_id: str | None = None,
        channel: str | None = None,
        category: str | None = None,
        priority: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Ticket]:
        """Newest first. ``created_to`` is exclusive; ``q`` searches the summary, case-insensitively."""
        filters: dict[str, Any] = {
            "status": status, "customer_id": customer_id, "conversation_id": conversation_id, "channel": channel,
            "category": category, "priority": priority, "created_from": created_from, "created_to": created_to,
            "q": q,
        }
        query = self._filtered(**filters).order_by(Ticket.created_at.desc(), Ticket.number.desc())
        found = list(self.session.scalars(query.limit(_limit(limit)).offset(max(offset, 0))))
        customers = {t.customer_id for t in found}
        self.audit.record(
            actor, "read", "ticket", found[0].id if len(found) == 1 else "*",
            customer_id or (next(iter(customers)) if len(customers) == 1 else None),
            {"filters": {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in filters.items()
                         if v is not None},
             "numbers": [t.number for t in found]},
        )
        return found

    def merge(self, duplicate_id: str, into_id: str, *, actor: str, now: datetime | None = None) -> Ticket:
        """Fold a duplicate (the same issue, often on another channel) into the ticket kept; returns it."""
        if duplicate_id == into_id:
            raise ValueError("a ticket cannot be merged into itself")
        duplicate, kept = self.session.get(Ticket, duplicate_id), self.session.get(Ticket, into_id)
        if duplicate is None or kept is None:
            raise NotFound("ticket not found")
        if kept.merged_into_id is not None:
            raise Conflict(f"ticket #{kept.number} was itself merged; merge into the ticket it was merged into")
        if duplicate.merged_into_id is not None:
            raise Conflict(f"ticket #{duplicate.number} is already merged")
        moment = _now(now)
        duplicate.merged_into_id = kept.id
        duplicate.status = "resolved"
        duplicate.closed_at = moment
        duplicate.resolution = f"Merged into #{kept.number}"
        duplicate.updated_at = moment
        line = f"Merged #{duplicate.number} ({duplicate.channel}): {duplicate.summary}"
        kept.notes = f"{kept.notes}\n{line}".strip()
        kept.tags = sorted(set(kept.tags) | set(duplicate.tags))
        kept.customer_id = kept.customer_id or duplicate.customer_id
        kept.updated_at = moment
        self.session.flush()
        self.audit.record(actor, "update", "ticket", duplicate.id, duplicate.customer_id,
                          {"merged_into": kept.number})
        self.audit.record(actor, "update", "ticket", kept.id, kept.customer_id, {"merged": duplicate.number})
        return kept

    def merged_into(self, ticket_id: str) -> builtins.list[Ticket]:
        """Tickets folded into this one (call after an audited ``get``)."""
        return list(self.session.scalars(select(Ticket).where(Ticket.merged_into_id == ticket_id)
                                         .order_by(Ticket.number)))

    def count(self, **filters: Any) -> int:
        """How many tickets match the ``list`` filters (a number, not customer data: not audited)."""
        query = self._filtered(**filters)
        return int(self.session.scalar(select(func.count()).select_from(query.subquery())) or 0)


