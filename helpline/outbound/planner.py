"""Decides what to send on its own, as the pack's `outbound:` settings enable it: a recap after a resolved
contact, an apology-and-plan after an escalation, a survey after a contact, a reminder before a callback, a
notice to the customers an active incident affects. Each is written when planned and queued under a key that
names it (``recap:<ticket id>``…), so planning again — on another node, after a restart — adds nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select

from helpline.outbound.audience import Audience
from helpline.outbound.facts import FactsReader
from helpline.outbound.ports import MessagePurpose
from helpline.outbound.queue import OutboundQueue
from helpline.outbound.surveys import ASKS
from helpline.outbound.writers import CallbackFacts, Draft, IncidentFacts, Writer
from helpline.pack.expressions import ExpressionError
from helpline.pack.loader import BusinessPack
from helpline.pack.models import parse_duration
from helpline.store.db import Database
from helpline.store.models import Callback, Conversation, Incident, Ticket

log = logging.getLogger(__name__)

ACTOR = "system:outbound"
# Contacts that ended longer ago than this are never followed up: turning automatic recaps on must not
# write to every customer of the past year.
LOOKBACK = timedelta(days=1)
BATCH = 200
ESCALATED_STATUSES = ("escalated", "awaiting_callback")


@dataclass
class PlanReport:
    queued: int = 0
    unsendable: int = 0  # recorded as cancelled, with why (no address)


def keep(queue: OutboundQueue, draft: Draft, now: datetime, not_before: datetime | None = None) -> str | None:
    """Queue a draft (or record why it cannot go); returns "queued", "unsendable" or None when it was there."""
    if draft.unsendable is not None:
        kept = queue.record_unsendable(draft.message(), dedupe_key=draft.dedupe_key, reason=draft.unsendable,
                                       actor=ACTOR, now=now, ticket_id=draft.ticket_id, customer_id=draft.customer_id)
        return "unsendable" if kept is not None else None
    kept = queue.enqueue(draft.message(), dedupe_key=draft.dedupe_key, actor=ACTOR, now=now, not_before=not_before,
                         ticket_id=draft.ticket_id, customer_id=draft.customer_id)
    return "queued" if kept is not None else None


def _unsurveyed(asks: str, ticket: Ticket) -> bool:
    """A resolved contact the survey has a question for: one of the asked answers is missing."""
    missing = {"csat": ticket.csat is None, "nps": ticket.nps is None}
    return ticket.status == "resolved" and any(missing[scale] for scale in ASKS[asks])


class Planner:
    def __init__(self, db: Database, pack: BusinessPack, audience: Audience | None = None) -> None:
        self.db = db
        self.pack = pack
        self.audience = audience

    def plan(self, now: datetime) -> PlanReport:
        report = PlanReport()
        settings = self.pack.business.outbound
        automatic = set(settings.automatic)
        if not automatic:
            return report
        delay = parse_duration(settings.delay)
        contacts: list[tuple[MessagePurpose, Callable[[Ticket], bool]]] = []
        if "recap" in automatic:
            contacts.append((MessagePurpose.RECAP, lambda t: t.status == "resolved"))
        if "apology" in automatic:
            contacts.append((MessagePurpose.APOLOGY, lambda t: t.status in ESCALATED_STATUSES))
        if "survey" in automatic:
            contacts.append((MessagePurpose.SURVEY, partial(_unsurveyed, settings.survey_asks)))
        if contacts:
            self._after_contacts(contacts, now, delay, report)
        if "callback_reminder" in automatic:
            self._reminders(now, parse_duration(settings.reminder_before), report)
        if "outage_notice" in automatic and self.audience is not None:
            with self.db.read_session() as session:
                incidents = [IncidentFacts.of(i) for i in session.scalars(select(Incident).where(
                    Incident.ended_at.is_(None), Incident.started_at >= now - LOOKBACK))]
            for incident in incidents:
                self.notify_incident(incident, now, report)
        return report

    def notify_incident(self, facts: IncidentFacts, now: datetime, report: PlanReport | None = None) -> PlanReport:
        """Queue the incident's notice for everyone it affects (also a console action)."""
        report = report or PlanReport()
        if self.audience is None:
            return report
        writer = Writer(self.pack)
        for recipient in self.audience.recipients(facts, now):
            with self.db.session() as session:
                write = partial(writer.outage_notice, facts, recipient)
                self._count(report, self._keep(OutboundQueue(session), write, now))
        return report

    def _after_contacts(self, kinds: list[tuple[MessagePurpose, Callable[[Ticket], bool]]], now: datetime,
                        delay: timedelta, report: PlanReport) -> None:
        writer = Writer(self.pack)
        with self.db.read_session() as session:
            ticket_ids = list(session.scalars(
                select(Ticket.id).join(Conversation, Conversation.id == Ticket.conversation_id)
                .where(Conversation.ended_at.is_not(None), Conversation.ended_at <= now - delay,
                       Conversation.ended_at >= now - LOOKBACK, Ticket.merged_into_id.is_(None))
                .order_by(Conversation.ended_at).limit(BATCH)))
        for ticket_id in ticket_ids:
            with self.db.session() as session:
                ticket = session.get(Ticket, ticket_id)
                queue = OutboundQueue(session)
                if ticket is None:
                    continue
                for purpose, wanted in kinds:
                    if not wanted(ticket) or queue.exists(f"{purpose}:{ticket.id}"):
                        continue
                    facts = FactsReader(session, self.pack).for_ticket(ticket)
                    write = {MessagePurpose.RECAP: writer.recap, MessagePurpose.APOLOGY: writer.apology,
                             MessagePurpose.SURVEY: writer.survey}[purpose]
                    self._count(report, self._keep(queue, partial(write, facts), now))

    def _reminders(self, now: datetime, before: timedelta, report: PlanReport) -> None:
        writer = Writer(self.pack)
        with self.db.session() as session:
            callbacks = list(session.scalars(select(Callback).where(
                Callback.status == "scheduled", Callback.due_at > now, Callback.due_at <= now + before,
                Callback.ticket_id.is_not(None)).limit(BATCH)))
            queue = OutboundQueue(session)
            for callback in callbacks:
                # booked only just before it is due: the customer has just been told the time
                if callback.due_at - callback.created_at <= before or queue.exists(
                        f"{MessagePurpose.CALLBACK_REMINDER}:{callback.id}"):
                    continue
                ticket = session.get(Ticket, callback.ticket_id)
                if ticket is None:
                    continue
                facts = FactsReader(session, self.pack).for_ticket(ticket)
                due = CallbackFacts(callback.id, callback.due_at, callback.phone)
                self._count(report, self._keep(queue, partial(writer.callback_reminder, facts, due), now))

    @staticmethod
    def _keep(queue: OutboundQueue, write: Callable[[], Draft], now: datetime) -> str | None:
        try:
            draft = write()
        except ExpressionError:  # a broken pack template: say so, and go on with the others
            log.exception("outbound: a template failed to render")
            return None
        return keep(queue, draft, now)

    @staticmethod
    def _count(report: PlanReport, outcome: str | None) -> None:
        if outcome == "queued":
            report.queued += 1
        elif outcome == "unsendable":
            report.unsendable += 1
