"""Every kind of message as it would be written for one ticket: the console's preview, the API's drafts and a
person's "send now"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.outbound.facts import FactsReader
from helpline.outbound.planner import ACTOR, keep
from helpline.outbound.ports import MessagePurpose
from helpline.outbound.queue import OutboundQueue
from helpline.outbound.writers import CallbackFacts, Draft, IncidentFacts, Recipient, Writer
from helpline.pack.loader import BusinessPack
from helpline.store.models import Callback, Incident, Ticket

CONTACT_KINDS = (MessagePurpose.RECAP, MessagePurpose.APOLOGY, MessagePurpose.SURVEY)


def draft_for(session: Session, pack: BusinessPack, ticket: Ticket, purpose: MessagePurpose) -> Draft | None:
    """The message of ``purpose`` about ``ticket`` (None for a reminder without a callback, or an outage
    notice with no active incident)."""
    facts = FactsReader(session, pack).for_ticket(ticket)
    writer = Writer(pack)
    if purpose == MessagePurpose.RECAP:
        return writer.recap(facts)
    if purpose == MessagePurpose.APOLOGY:
        return writer.apology(facts)
    if purpose == MessagePurpose.SURVEY:
        return writer.survey(facts)
    if purpose == MessagePurpose.CALLBACK_REMINDER:
        callback = session.scalar(select(Callback).where(Callback.ticket_id == ticket.id).order_by(
            Callback.due_at.desc()).limit(1))
        return writer.callback_reminder(facts, CallbackFacts(callback.id, callback.due_at, callback.phone)) \
            if callback is not None else None
    if purpose == MessagePurpose.OUTAGE_NOTICE:
        incident = session.scalar(select(Incident).where(Incident.ended_at.is_(None))
                                  .order_by(Incident.started_at.desc()).limit(1))
        if incident is None:
            return None
        recipient = Recipient(facts.customer_name, facts.email, facts.phone, facts.customer_id,
                              key=f"customer:{facts.customer_id or ticket.id}")
        return writer.outage_notice(IncidentFacts.of(incident), recipient)
    return None


def all_drafts(session: Session, pack: BusinessPack, ticket: Ticket) -> dict[MessagePurpose, Draft]:
    found: dict[MessagePurpose, Draft] = {}
    for purpose in (*CONTACT_KINDS, MessagePurpose.CALLBACK_REMINDER, MessagePurpose.OUTAGE_NOTICE):
        draft = draft_for(session, pack, ticket, purpose)
        if draft is not None:
            found[purpose] = draft
    return found


def queue_now(session: Session, pack: BusinessPack, ticket: Ticket, purpose: MessagePurpose, *, actor: str,
              now: datetime) -> str:
    """A person sends one of the ticket's messages now; returns what happened, in words. Under the same key
    as the automatic one, so it is never sent twice."""
    draft = draft_for(session, pack, ticket, purpose)
    if draft is None:
        return f"There is no {purpose.replace('_', ' ')} to send for ticket {ticket.number}."
    outcome = keep(OutboundQueue(session), draft, now)
    if outcome == "queued":
        return f"The {purpose.replace('_', ' ')} for ticket {ticket.number} is queued to {draft.to}."
    if outcome == "unsendable":
        return f"Not sent: {draft.unsendable}."
    return f"The {purpose.replace('_', ' ')} for ticket {ticket.number} was queued already."


__all__ = ["ACTOR", "CONTACT_KINDS", "all_drafts", "draft_for", "queue_now"]
