"""The retention job with an injected clock, on SQLite in memory, SQLite on disk and PostgreSQL: only what is
past its age goes, open conversations and contacts awaiting a callback are kept, the KPI figures stay."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from helpline.pack.models import Retention
from helpline.privacy.anonymise import PLACEHOLDER
from helpline.privacy.erasure import CustomerErasure
from helpline.privacy.recordings import RecordingStore, link_recording
from helpline.privacy.retention import RetentionJob, RetentionLoop, RetentionReport
from helpline.store.db import Database
from helpline.store.models import AuditEntry, Callback, Conversation, Message, Ticket, utcnow
from helpline.store.repositories import AuditLog, CallbackRepository, ConversationRepository
from tests.privacy.seed import AISHA_TRACES, LUCAS_TRACES, T0, rows_with, seed
from tests.privacy.test_erasure import dump, kpi_figures

CUSTOMER_TABLES = ("customers", "customer_identities")
YEAR = Retention(transcripts_days=365, recordings_days=None, audit_days=None)


def job(db: Database, now: datetime, policy: Retention = YEAR, **kwargs: object) -> RetentionJob:
    return RetentionJob(db, policy, clock=lambda: now, **kwargs)  # type: ignore[arg-type]


def texts(db: Database, conversation_id: str) -> set[str]:
    with db.session() as session:
        return set(session.scalars(select(Message.text).where(Message.conversation_id == conversation_id)))


def test_only_transcripts_past_their_age_are_anonymised(db: Database) -> None:
    seeded = seed(db)  # Aisha's chat ends at T0, her call a day later, Lucas's chat two days later
    assert not job(db, T0 + timedelta(days=365)).run().changed()  # not a day too early
    report = job(db, T0 + timedelta(days=366, hours=12)).run()
    assert report.erased.conversations == 1 and texts(db, seeded.chat_id) == {PLACEHOLDER}
    assert PLACEHOLDER not in texts(db, seeded.call_id) | texts(db, seeded.lucas_chat_id)
    assert rows_with(db, LUCAS_TRACES)


def test_a_contact_awaiting_its_callback_keeps_what_the_callback_needs(db: Database) -> None:
    seeded = seed(db)
    figures = kpi_figures(db)
    later = T0 + timedelta(days=400)
    report = job(db, later).run()
    assert report.erased.conversations == 2 and report.kept_for_callbacks == 1
    with db.session() as session:
        callback = session.scalars(select(Callback).join(Ticket, Callback.ticket_id == Ticket.id)
                                   .where(Ticket.number == seeded.call_ticket)).one()
        assert callback.phone == "+19155550170" and "915" in callback.reason
        ticket = session.scalars(select(Ticket).where(Ticket.number == seeded.call_ticket)).one()
        assert "915 555 0170" in ticket.summary
        CallbackRepository(session).complete(callback.id, actor="test", outcome="Spoke to her", now=later)
    assert "This is about my refund, call me on 915 555 0170" in texts(db, seeded.call_id)
    again = job(db, later + timedelta(days=1)).run()
    assert again.erased.conversations == 1 and again.erased.callbacks == 1 and again.kept_for_callbacks == 0
    # Every contact is anonymised, and what the agent's operations were called with. The customer records
    # (mirrored from the business's system) are not contacts: retention leaves them, an erasure empties
    # them; the rest of the audit log has its own age (audit_days).
    assert rows_with(db, LUCAS_TRACES + AISHA_TRACES, skip=(*CUSTOMER_TABLES, "audit_log")) == []
    with db.session() as session:
        operations = list(session.scalars(select(AuditEntry).where(AuditEntry.entity.startswith("operation:"))))
    assert len(operations) == 3 and all(e.detail["args"] == {"email": PLACEHOLDER} or
                                        e.detail["args"] == {"phone": PLACEHOLDER} for e in operations)
    assert rows_with(db, LUCAS_TRACES + AISHA_TRACES)
    assert kpi_figures(db) == figures  # counts, handle times, CSAT, escalations, repeat contacts all stay


def test_open_conversations_are_never_touched(db: Database) -> None:
    with db.session() as session:
        repo = ConversationRepository(session)
        stale = repo.create(channel="chat", actor="test", now=T0)
        repo.append_message(stale.id, "customer", "still here, my email is ada@example.com", now=T0)
        stale_id = stale.id
    assert not job(db, T0 + timedelta(days=1000)).run().changed()
    assert texts(db, stale_id) == {"still here, my email is ada@example.com"}


def test_running_again_changes_nothing_and_a_dry_run_changes_nothing(db: Database) -> None:
    seed(db)
    later = T0 + timedelta(days=400)
    before = dump(db)
    preview = job(db, later).run(dry_run=True)
    assert dump(db) == before
    report = job(db, later).run()
    assert preview.erased == report.erased and report.changed()
    after = dump(db, audit=True)
    assert not job(db, later).run().changed()
    assert dump(db, audit=True) == after
    with db.session() as session:
        runs = list(session.scalars(select(AuditEntry).where(AuditEntry.entity == "retention")
                                    .order_by(AuditEntry.id)))
    assert [r.action for r in runs] == ["read", "delete"]
    assert runs[1].detail["erased"]["conversations"] == 2
    assert not any(t in str(runs[1].detail).lower() for t in AISHA_TRACES)


def test_audit_entries_past_their_age_go_but_erasures_stay(db: Database) -> None:
    seed(db)  # the repositories date most entries now, a few at T0
    CustomerErasure(db, clock=lambda: T0 + timedelta(days=3)).erase("C-1001", actor="cli")
    now = utcnow() + timedelta(days=150)
    with db.session() as session:
        AuditLog(session).record("test", "read", "ticket", "*", None, {"recent": True}, at=now - timedelta(days=99))
        total = len(list(session.scalars(select(AuditEntry))))
    policy = Retention(transcripts_days=None, recordings_days=None, audit_days=100)
    report = job(db, now, policy).run()
    assert report.audit_entries_deleted == total - 2 > 20
    with db.session() as session:
        left = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.entity, e.detail.get("recent")) for e in left] == \
        [("customer_erasure", None), ("ticket", True), ("retention", None)]


def test_recordings_past_their_age_are_deleted_except_an_open_calls(db: Database, tmp_path: Path) -> None:
    seeded = seed(db)
    with db.session() as session:
        live_id = ConversationRepository(session).create(channel="phone", actor="test").id
    now = datetime.now().astimezone()
    old = (now - timedelta(days=91)).timestamp()
    folder = tmp_path / "recordings"
    folder.mkdir()
    for call, conversation, written in (("old", seeded.call_id, old), ("new", seeded.chat_id, now.timestamp()),
                                        ("live", live_id, old), ("orphan", None, old)):
        files = [folder / f"{call}-caller.wav", folder / f"{call}-agent.wav"]
        for file in files:
            file.write_bytes(b"RIFF")
        if conversation:
            link_recording(files, conversation)
        for path in folder.glob(f"{call}*"):
            os.utime(path, (written, written))
    policy = Retention(transcripts_days=None, recordings_days=90, audit_days=None)
    report = job(db, now, policy, recordings=RecordingStore(folder)).run()
    assert report.erased.recordings == 4  # old (2 files) and orphan (2 files)
    assert sorted(p.name for p in folder.iterdir()) == [
        "live-agent.wav", "live-caller.wav", "live.link.json", "new-agent.wav", "new-caller.wav", "new.link.json"]


def test_the_server_loop_runs_the_job(db: Database) -> None:
    seeded = seed(db)
    ran = threading.Event()

    class Signalling(RetentionJob):
        def run(self, *, dry_run: bool = False, actor: str = "system:retention") -> RetentionReport:
            report = super().run(dry_run=dry_run, actor=actor)
            ran.set()
            return report

    loop = RetentionLoop(Signalling(db, YEAR, clock=lambda: T0 + timedelta(days=400)), every_seconds=3600,
                         first_after_seconds=0.01)
    loop.start()
    try:
        assert ran.wait(10)
    finally:
        loop.stop()
    assert texts(db, seeded.lucas_chat_id) == {PLACEHOLDER}
    with db.session() as session:
        assert session.get(Conversation, seeded.call_id).state.get("_erased") is None  # type: ignore[union-attr]
