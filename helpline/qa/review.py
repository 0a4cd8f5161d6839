"""Scoring contacts and storing the result on their tickets; supervisors' disputes.

``QaReviewer.run_once`` claims ended, unscored contacts with one conditional UPDATE each (store/claims.py, as
every durable job claims its work), so any number of workers may run it and each contact is scored once; a
claim older than ``CLAIM_TIMEOUT`` belongs to a worker that died and is taken again."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.pack.loader import BusinessPack
from helpline.qa.checks import PackFacts, Result, check_contact
from helpline.qa.contact import load_contact
from helpline.qa.rubric import Rubric, load_rubric
from helpline.qa.score import DISPUTE, score
from helpline.store.claims import Claims
from helpline.store.db import Database
from helpline.store.models import Conversation, Ticket
from helpline.store.repositories import AuditLog

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=5)
# A ticket is scored by one worker at a time; scoring it releases the claim.
QA_CLAIMS = Claims(Ticket, Ticket.id, Ticket.qa_claimed_by, Ticket.qa_claimed_at)
BATCH = 50
QA_ACTOR = "system:qa"
MAX_REASON = 2000


class DisputeError(ValueError):
    """The finding to dispute does not exist, or no reason was given."""


@dataclass(frozen=True)
class QaReport:
    scored: int
    skipped: int  # tickets with no conversation left to judge (marked reviewed with no score)


def pack_facts(pack: BusinessPack) -> PackFacts:
    """The operations that return or change one customer's data: those owned by a customer or changing data."""
    operations = pack.operations.operations
    account = frozenset(name for name, spec in operations.items() if spec.owner_field or spec.changes_data)
    return PackFacts(pack.business.name, account, pack.business.service_level.answer_seconds)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class QaReviewer:
    def __init__(self, db: Database, rubric: Rubric, pack: PackFacts, *, clock: Callable[[], datetime] = _utcnow,
                 node: str | None = None) -> None:
        self.db = db
        self.rubric = rubric
        self.pack = pack
        self.clock = clock
        self.node = (node or f"{socket.gethostname()}:qa")[:100]

    @classmethod
    def for_pack(cls, db: Database, pack: BusinessPack, **kwargs: Any) -> QaReviewer:
        return cls(db, load_rubric(pack.root), pack_facts(pack), **kwargs)

    def findings_for(self, session: Session, ticket: Ticket) -> list[dict[str, Any]] | None:
        contact = load_contact(session, ticket)
        if contact is None:
            return None
        return [{"id": f"{f.criterion}-{n}", **f.as_dict()}
                for n, f in enumerate(check_contact(contact, self.rubric, self.pack), start=1)]

    def run_once(self, since: datetime | None = None, limit: int = BATCH) -> QaReport:
        """Score the ended contacts not yet scored (those whose conversation ended at or after ``since``)."""
        scored = skipped = 0
        for ticket_id in self._claim(since, limit):
            with self.db.session() as session:
                ticket = session.get(Ticket, ticket_id)
                if ticket is None:
                    continue
                findings = self.findings_for(session, ticket)
                ticket.qa_findings = findings
                ticket.qa_score = score(findings) if findings is not None else None
                ticket.qa_reviewed_at = self.clock()
                QA_CLAIMS.release(ticket)
                # QA reads the transcript and the customer's ticket: say so, as every reader of customer data does.
                AuditLog(session).record(QA_ACTOR, "read", "ticket", ticket.id, ticket.customer_id,
                                         {"report": "qa", "score": ticket.qa_score})
                scored += findings is not None
                skipped += findings is None
        return QaReport(scored, skipped)

    def _claim(self, since: datetime | None, limit: int) -> list[str]:
        now = self.clock()
        free = QA_CLAIMS.free(now, CLAIM_TIMEOUT)
        query = (select(Ticket.id).join(Conversation, Conversation.id == Ticket.conversation_id)
                 .where(Ticket.qa_reviewed_at.is_(None), Ticket.merged_into_id.is_(None),
                        Conversation.status == "ended", free)
                 .order_by(Conversation.ended_at).limit(limit))
        if since is not None:
            query = query.where(Conversation.ended_at >= since)
        with self.db.session() as session:
            return QA_CLAIMS.claim(session, query, still=Ticket.qa_reviewed_at.is_(None) & free, node=self.node,
                                   now=now)


def dispute(session: Session, ticket: Ticket, finding_id: str, by: str, why: str, at: datetime) -> float | None:
    """A supervisor disputes one finding: kept with who, why and when, no longer counted; returns the new score."""
    why = why.strip()
    if not why:
        raise DisputeError("Say why the finding is wrong.")
    findings = [dict(f) for f in (ticket.qa_findings or [])]
    target = next((f for f in findings if f.get("id") == finding_id), None)
    if target is None:
        raise DisputeError(f"No finding {finding_id!r} on ticket #{ticket.number}.")
    if target.get("result") == Result.NOT_APPLICABLE:
        raise DisputeError("A finding that did not apply has nothing to dispute.")
    target[DISPUTE] = {"by": by, "why": why[:MAX_REASON], "at": at.isoformat()}
    ticket.qa_findings = findings  # a new list: JSON columns see reassignment, not in-place edits
    ticket.qa_score = score(findings)
    return ticket.qa_score
