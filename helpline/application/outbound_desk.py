"""The outbound queue as supervisors see it in the console: messages waiting, sent and failed, retried or
cancelled; every kind of message previewed for a real recent ticket; the incidents notices may go out for. And a
ticket's follow-up (recap, apology-and-plan, survey) drafted or queued now, as the API does it. Plain views, never
the store's rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from helpline.application.ticket_desk import NamedTicket, TicketView, existing_ticket_row
from helpline.outbound.ports import MessagePurpose
from helpline.outbound.preview import all_drafts, draft_for, queue_now
from helpline.outbound.queue import OutboundQueue
from helpline.outbound.writers import Draft
from helpline.pack.loader import BusinessPack
from helpline.store.db import Database
from helpline.store.models import Conversation, OutboundMessageRecord, Ticket
from helpline.store.repositories import TicketRepository

MESSAGES_SHOWN = 200


@dataclass(frozen=True)
class OutboundMessageView:
    id: str
    channel: str  # email | sms
    to: str  # "" = no address
    purpose: str
    subject: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    provider_id: str | None
    ticket_id: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: OutboundMessageRecord) -> OutboundMessageView:
        return cls(id=row.id, channel=row.channel, to=row.to, purpose=row.purpose, subject=row.subject,
                   status=row.status, attempts=row.attempts, next_attempt_at=row.next_attempt_at,
                   last_error=row.last_error, provider_id=row.provider_id, ticket_id=row.ticket_id,
                   created_at=row.created_at, sent_at=row.sent_at)


@dataclass(frozen=True)
class OutboundOverview:
    messages: list[OutboundMessageView]
    numbers: dict[str, int]  # ticket id -> ticket number, for the messages' tickets
    counts: dict[str, int]  # messages per status
    preview_ticket: TicketView | None
    drafts: dict[Any, Draft]  # each kind of message as written for the preview ticket


def _preview_ticket(session: Any, number: int | None, actor: str) -> Ticket | None:
    """The ticket asked for, else the latest one whose conversation ended (a real recent contact)."""
    if number is not None:
        return TicketRepository(session).get_by_number(number, actor=actor)
    return session.scalar(select(Ticket).join(Conversation, Conversation.id == Ticket.conversation_id)
                          .where(Conversation.ended_at.is_not(None), Ticket.merged_into_id.is_(None))
                          .order_by(Conversation.ended_at.desc()).limit(1))


def outbound_overview(db: Database, pack: BusinessPack, actor: str, *, status: str | None,
                      preview_number: int | None) -> OutboundOverview:
    """The queue (of ``status`` only, when given), its counts, and the drafts for ticket ``preview_number`` (else
    the latest ended contact's)."""
    with db.session() as session:
        queue = OutboundQueue(session)
        messages = queue.list(actor=actor, status=status, limit=MESSAGES_SHOWN)
        numbers = {m.ticket_id: t.number for m in messages if m.ticket_id
                   for t in [session.get(Ticket, m.ticket_id)] if t is not None}
        counts = queue.counts()
        chosen = _preview_ticket(session, preview_number, actor)
        drafts = all_drafts(session, pack, chosen) if chosen is not None else {}
        return OutboundOverview([OutboundMessageView.of(m) for m in messages], numbers, counts,
                                TicketView.of(chosen) if chosen is not None else None, dict(drafts))


def retry_message(db: Database, message_id: str, actor: str, now: datetime) -> bool:
    """Queue a failed message again; False when it is not a failed one."""
    with db.session() as session:
        return OutboundQueue(session).retry(message_id[:36], actor=actor, now=now) is not None


def cancel_message(db: Database, message_id: str, actor: str, now: datetime) -> bool:
    """Cancel a queued message; False when it is not queued."""
    with db.session() as session:
        return OutboundQueue(session).cancel(message_id[:36], actor=actor, now=now) is not None


def follow_up_draft(db: Database, pack: BusinessPack, which: NamedTicket, purpose: MessagePurpose,
                    actor: str) -> Draft | None:
    """The message of ``purpose`` about the ticket, as it would be sent (None when there is none to write: a
    reminder without a callback, a notice without an incident); TicketNotFound."""
    with db.session() as session:
        ticket = existing_ticket_row(TicketRepository(session), which, actor)
        return draft_for(session, pack, ticket, purpose)


def queue_follow_up(db: Database, pack: BusinessPack, which: NamedTicket, purpose: MessagePurpose, actor: str,
                    now: datetime) -> str:
    """Queue the ticket's message of ``purpose`` now (under the automatic one's key: never sent twice); what
    happened, in words. TicketNotFound."""
    with db.session() as session:
        ticket = existing_ticket_row(TicketRepository(session), which, actor)
        return queue_now(session, pack, ticket, purpose, actor=actor, now=now)
