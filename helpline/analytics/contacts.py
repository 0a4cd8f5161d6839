"""Reading the contacts of a period from the store as ``kpis.Contact`` (one per ticket not folded into another).

Everything a KPI rule needs is read here in a few set queries (no query per ticket): the conversation's start and
end, when the customer first wrote and when the first reply after it came (a call's first agent line is its
answer), the customer's last words, the hand-off and whether a person took it, a booked callback, and whether an
earlier contact was folded into this one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.analytics.kpis import CALL_CHANNELS, REPEAT_WINDOW, Contact, repeated
from helpline.store.models import Callback, Conversation, Handoff, Message, Ticket

UNPROMPTED = "unprompted"  # message meta of an idle reprompt: not an answer to the customer
ANSWER_ROLES = ("agent", "human")


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in UTC."""
    return (datetime.combine(start, datetime.min.time(), UTC),
            datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC))


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass
class _Transcript:
    first_customer: datetime | None = None
    first_answer: datetime | None = None  # after the customer's first line (for a call: the first agent line)
    first_agent: datetime | None = None
    last_customer_text: str = ""


def _transcripts(session: Session, since: datetime, until: datetime) -> dict[str, _Transcript]:
    rows = session.execute(
        select(Message.conversation_id, Message.role, Message.created_at, Message.text, Message.meta)
        .join(Ticket, Ticket.conversation_id == Message.conversation_id)
        .where(Ticket.created_at >= since, Ticket.created_at < until, Message.role.in_(("customer", *ANSWER_ROLES)))
        .order_by(Message.conversation_id, Message.seq))
    found: dict[str, _Transcript] = {}
    for conversation_id, role, created_at, text, meta in rows:
        seen = found.setdefault(conversation_id, _Transcript())
        moment = _utc(created_at)
        if role == "customer":
            seen.first_customer = seen.first_customer or moment
            seen.last_customer_text = text or ""
        elif not (meta or {}).get(UNPROMPTED):
            seen.first_agent = seen.first_agent or moment
            if seen.first_customer is not None and seen.first_answer is None:
                seen.first_answer = moment
    return found


def _handoffs(session: Session, since: datetime, until: datetime) -> dict[str, tuple[datetime, datetime | None]]:
    """Each ticket's first hand-off: when it was made and when a person took it."""
    rows = session.execute(
        select(Handoff.ticket_id, Handoff.created_at, Handoff.accepted_at)
        .join(Ticket, Ticket.id == Handoff.ticket_id)
        .where(Ticket.created_at >= since, Ticket.created_at < until).order_by(Handoff.created_at))
    found: dict[str, tuple[datetime, datetime | None]] = {}
    for ticket_id, created_at, accepted_at in rows:
        if ticket_id is not None and ticket_id not in found:
            found[ticket_id] = (_utc(created_at) or created_at, _utc(accepted_at))
    return found


def _ids(rows: Iterable[str | None]) -> set[str]:
    return {r for r in rows if r}


def _load(session: Session, start: date, end: date) -> list[Contact]:
    """The contacts created from ``start`` to ``end`` (UTC days, inclusive). Reads only; the caller audits."""
    since, until = period_bounds(start, end)
    in_period = (Ticket.created_at >= since, Ticket.created_at < until)
    transcripts = _transcripts(session, since, until)
    handoffs = _handoffs(session, since, until)
    callbacks = _ids(session.scalars(select(Callback.ticket_id).join(Ticket, Ticket.id == Callback.ticket_id)
                                     .where(*in_period)))
    joined = _ids(session.scalars(select(Ticket.merged_into_id).where(Ticket.merged_into_id.is_not(None))
                                  .distinct()))
    rows = session.execute(select(Ticket, Conversation.started_at, Conversation.status)
                           .outerjoin(Conversation, Conversation.id == Ticket.conversation_id)
                           .where(*in_period, Ticket.merged_into_id.is_(None)).order_by(Ticket.created_at))
    contacts = []
    for ticket, started_at, conversation_status in rows:
        seen = transcripts.get(ticket.conversation_id or "", _Transcript())
        start_at = _utc(started_at) or _utc(ticket.created_at)
        is_call = ticket.channel in CALL_CHANNELS
        if is_call:
            answer = seen.first_agent
            waited_from = start_at
        else:
            answer, waited_from = seen.first_answer, seen.first_customer
        wait = (answer - waited_from).total_seconds() if answer and waited_from else None
        handoff = handoffs.get(ticket.id)
        person_wait = (handoff[1] - handoff[0]).total_seconds() if handoff and handoff[1] else None
        contacts.append(Contact(
            created_at=_utc(ticket.created_at) or ticket.created_at, channel=ticket.channel, category=ticket.category,
            status=ticket.status, escalated=handoff is not None or ticket.status == "escalated",
            handle_time_seconds=ticket.handle_time_seconds, csat=ticket.csat, nps=ticket.nps,
            customer_id=ticket.customer_id,
            ended=conversation_status != "active", answer_wait_seconds=None if wait is None else max(wait, 0.0),
            customer_spoke=seen.first_customer is not None, person_wait_seconds=person_wait,
            callback_booked=ticket.id in callbacks, last_customer_text=seen.last_customer_text,
            joined_earlier=ticket.id in joined, qa_score=ticket.qa_score, ticket_number=ticket.number))
    return contacts


def load_contacts(session: Session, start: date, end: date, zone: tzinfo = UTC) -> list[Contact]:
    """The contacts created on the days ``start`` to ``end`` (inclusive, in ``zone``: the business's days), each
    knowing whether the same customer came back about the same issue within a week, even past the period's end."""
    wide = _load(session, start - REPEAT_WINDOW - timedelta(days=1), end + REPEAT_WINDOW + timedelta(days=1))
    again = repeated(wide)
    return [replace(c, repeat_elsewhere=i in again) for i, c in enumerate(wide)
            if start <= c.created_at.astimezone(zone).date() <= end]
