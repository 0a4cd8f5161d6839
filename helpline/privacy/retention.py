"""The retention job: anonymises transcripts, deletes recordings and audit entries past the pack's ages.

Run by ``helpline retention run`` and, in ``helpline serve``, by ``RetentionLoop`` every few hours. A
conversation's transcript is anonymised (``helpline.privacy.anonymise``) once it has been ended for
``transcripts_days``; open conversations are never touched, nor is a contact whose callback is still to
be made (it keeps the number, the reason and the ticket until the callback is done or cancelled). With a
transcript go its emails' addresses and subjects, its email attachments, its texts' numbers, the messages
queued about it and its team questions (``channel_data``); texts, sent messages and team questions that belong
to no conversation go by their own age.
Recordings go ``recordings_days`` after they were written; audit entries after ``audit_days`` if set,
except the records of erasures. Each run that changes something writes one audit entry with its counts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from helpline.pack.models import Retention
from helpline.privacy.anonymise import OPEN_CALLBACK, Anonymiser, ErasedCounts, chunks, not_anonymised
from helpline.privacy.attachments import AttachmentFolder
from helpline.privacy.channel_data import ChannelData
from helpline.privacy.erasure import ERASURE_ENTITY
from helpline.privacy.recordings import RecordingStore
from helpline.store.db import Database
from helpline.store.models import AuditEntry, Callback, Conversation, Handoff, Ticket, utcnow
from helpline.store.repositories import AuditLog

log = logging.getLogger(__name__)

RETENTION_ACTOR = "system:retention"
RETENTION_ENTITY = "retention"
BATCH = 200  # conversations per transaction: short write locks on SQLite
DEFAULT_EVERY_SECONDS = 6 * 3600.0
FIRST_RUN_AFTER_SECONDS = 60.0  # not during start-up, when the models load


@dataclass(frozen=True)
class RetentionReport:
    dry_run: bool
    erased: ErasedCounts
    kept_for_callbacks: int  # contacts past their age whose callback is still open
    audit_entries_deleted: int

    def changed(self) -> bool:
        return self.erased.total() > 0 or self.audit_entries_deleted > 0


class RetentionJob:
    def __init__(self, db: Database, policy: Retention, *, recordings: RecordingStore | None = None,
                 attachments: AttachmentFolder | None = None,
                 clock: Callable[[], datetime] | None = None, batch: int = BATCH) -> None:
        self.db = db
        self.policy = policy
        self.recordings = recordings
        self.attachments = attachments
        self.clock = clock or utcnow
        self.batch = max(1, batch)

    def run(self, *, dry_run: bool = False, actor: str = RETENTION_ACTOR) -> RetentionReport:
        now = self.clock()
        counts = ErasedCounts()
        kept = 0
        erased_ids: list[str] = []
        if self.policy.transcripts_days is not None:
            cutoff = now - timedelta(days=self.policy.transcripts_days)
            kept = self._transcripts(cutoff, now, counts, erased_ids, dry_run)
            self._unlinked(cutoff, now, counts, dry_run)
        if self.policy.recordings_days is not None and self.recordings is not None:
            counts.recordings = self._recordings(now - timedelta(days=self.policy.recordings_days), dry_run)
        audit_deleted = 0
        if self.policy.audit_days is not None:
            audit_deleted = self._audit(now - timedelta(days=self.policy.audit_days), dry_run)
        report = RetentionReport(dry_run, counts, kept, audit_deleted)
        if report.changed():
            with self.db.session() as session:
                AuditLog(session).record(
                    actor, "read" if dry_run else "delete", RETENTION_ENTITY, "*", None,
                    {"dry_run": dry_run, "erased": counts.as_dict(), "kept_for_callbacks": kept,
                     "audit_entries_deleted": audit_deleted, "policy": self.policy.model_dump(),
                     "conversation_ids": erased_ids},
                    at=now)
        return report

    # -- transcripts

    def _transcripts(self, cutoff: datetime, now: datetime, counts: ErasedCounts, erased_ids: list[str],
                     dry_run: bool) -> int:
        kept = 0
        after = ""
        while True:
            with self.db.session() as session:
                batch = list(session.scalars(
                    select(Conversation).where(
                        Conversation.status == "ended",
                        func.coalesce(Conversation.ended_at, Conversation.last_activity_at) < cutoff,
                        not_anonymised(), Conversation.id > after)
                    .order_by(Conversation.id).limit(self.batch)))
                if not batch:
                    return kept
                after = batch[-1].id
                anonymiser = Anonymiser(session, erased_by="retention", now=now)
                channels = ChannelData(anonymiser, self.attachments)
                waiting = self._waiting_for_callback(session, {c.id for c in batch})
                done = [c for c in batch if c.id not in waiting]
                kept += len(batch) - len(done)
                self._anonymise(anonymiser, channels, done)
                erased_ids.extend(c.id for c in done)
                if dry_run:
                    anonymiser.counts.attachments = sum(1 for path in channels.files if path.exists())
                    session.rollback()
                else:
                    session.flush()
                    anonymiser.counts.attachments = AttachmentFolder.delete(channels.files)
                _add(counts, anonymiser.counts)

    def _unlinked(self, cutoff: datetime, now: datetime, counts: ErasedCounts, dry_run: bool) -> None:
        with self.db.session() as session:
            anonymiser = Anonymiser(session, erased_by="retention", now=now)
            ChannelData(anonymiser, None).unlinked_before(cutoff)
            _add(counts, anonymiser.counts)
            if dry_run:
                session.rollback()

    @staticmethod
    def _waiting_for_callback(session: Session, conversation_ids: set[str]) -> set[str]:
        """The conversations among these whose ticket has a callback still to make."""
        waiting: set[str] = set()
        for chunk in chunks(conversation_ids):
            rows = session.execute(
                select(Ticket.conversation_id).join(Callback, Callback.ticket_id == Ticket.id)
                .where(Ticket.conversation_id.in_(chunk), Callback.status.in_(OPEN_CALLBACK)))
            waiting.update(str(row[0]) for row in rows)
        return waiting

    @staticmethod
    def _anonymise(anonymiser: Anonymiser, channels: ChannelData, conversations: list[Conversation]) -> None:
        session = anonymiser.session
        ids = {c.id for c in conversations}
        tickets: dict[str, int] = {}
        for conversation in conversations:
            titles = [str(r.get("title", "")) for r in (conversation.state or {}).get("requests", [])
                      if isinstance(r, dict)]
            anonymiser.conversation(conversation)
            for ticket in session.scalars(select(Ticket).where(Ticket.conversation_id == conversation.id)):
                tickets[ticket.id] = ticket.number
                anonymiser.ticket(ticket, titles)
                for callback in session.scalars(select(Callback).where(Callback.ticket_id == ticket.id)):
                    anonymiser.callback(callback, cancel_open=False)
        for chunk in chunks(ids):
            ticket_ids = select(Ticket.id).where(Ticket.conversation_id.in_(chunk))
            for handoff in session.scalars(select(Handoff).where(
                    or_(Handoff.conversation_id.in_(chunk), Handoff.ticket_id.in_(ticket_ids)))):
                anonymiser.handoff(handoff)
        anonymiser.audit_of_conversations(ids)
        channels.contacts(ids, set(tickets), set(tickets.values()), cancel_pending=False)

    # -- recordings and audit

    def _recordings(self, cutoff: datetime, dry_run: bool) -> int:
        assert self.recordings is not None

        def is_open(conversation_id: str) -> bool:
            if not conversation_id:
                return False
            with self.db.session() as session:
                status = session.scalar(select(Conversation.status).where(Conversation.id == conversation_id))
            return status is not None and status != "ended"

        expired = self.recordings.older_than(cutoff, is_open)
        return RecordingStore.existing_audio(expired) if dry_run else RecordingStore.delete(expired)

    def _audit(self, cutoff: datetime, dry_run: bool) -> int:
        old = (AuditEntry.at < cutoff, AuditEntry.entity != ERASURE_ENTITY)
        with self.db.session() as session:
            if dry_run:
                return int(session.scalar(select(func.count()).select_from(AuditEntry).where(*old)) or 0)
            result = session.execute(delete(AuditEntry).where(*old))
            return int(getattr(result, "rowcount", 0) or 0)


def _add(total: ErasedCounts, part: ErasedCounts) -> None:
    for name, value in part.as_dict().items():
        setattr(total, name, getattr(total, name) + value)


class RetentionLoop:
    """Background thread for ``helpline serve``: runs the job shortly after start, then every few hours."""

    def __init__(self, job: RetentionJob, every_seconds: float = DEFAULT_EVERY_SECONDS,
                 first_after_seconds: float = FIRST_RUN_AFTER_SECONDS) -> None:
        self.job = job
        self.every_seconds = every_seconds
        self.first_after_seconds = first_after_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        wait = self.first_after_seconds
        while not self._stop.wait(wait):
            wait = self.every_seconds
            try:
                report = self.job.run()
            except Exception:  # the loop must outlive one failed run; the next one retries
                log.exception("retention run failed")
                continue
            if report.changed():
                log.info("retention: %s; %d audit entries deleted; %d contacts kept for their callbacks",
                         report.erased.as_dict(), report.audit_entries_deleted, report.kept_for_callbacks)
