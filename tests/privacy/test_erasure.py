"""Erasing a customer (GDPR art. 17) on SQLite in memory, SQLite on disk and PostgreSQL: no trace of them left
in any table, other customers and the KPI figures untouched, one audit entry, idempotent, dry run."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import func, select

from helpline.analytics import kpis
from helpline.console.dashboard import load_contacts
from helpline.privacy.anonymise import PLACEHOLDER
from helpline.privacy.erasure import CustomerErasure, NothingHeld, identifier_hash
from helpline.privacy.recordings import RecordingStore, link_recording
from helpline.runtime import Runtime
from helpline.store.db import Database
from helpline.store.models import AuditEntry, Base, Callback, Conversation, Customer, Message, Ticket
from helpline.store.repositories import ConversationRepository
from tests.privacy.seed import AISHA_TRACES, LUCAS_TRACES, T0, rows_with, seed

ADMIN = "apikey:hl_admin"


def kpi_figures(db: Database) -> dict[str, Any]:
    """The dashboard's figures, computed by the dashboard's own code."""
    business = SimpleNamespace(timezone="UTC")  # the dashboard counts the business's days (its pack's zone)
    runtime = cast(Runtime, SimpleNamespace(db=db, pack=SimpleNamespace(business=business)))
    contacts = load_contacts(runtime, date(2026, 3, 1), date(2026, 3, 31), "test")
    return {"containment": kpis.containment_rate(contacts), "escalation": kpis.escalation_rate(contacts),
            "fcr": kpis.first_contact_resolution(contacts), "aht": kpis.average_handle_time(contacts),
            "csat": asdict(kpis.csat(contacts)), "reasons": kpis.top_reasons(contacts),
            "per_day": kpis.contacts_per_day(contacts, date(2026, 3, 1), date(2026, 3, 5))}


def dump(db: Database, *, audit: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    with db.engine.connect() as connection:
        return {table.name: sorted(tuple(str(v) for v in row) for row in connection.execute(select(table)))
                for table in Base.metadata.sorted_tables if audit or table.name != "audit_log"}


def audit_count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_erasure_leaves_no_trace_of_the_customer_in_any_table(db: Database) -> None:
    seeded = seed(db)
    assert len(rows_with(db, AISHA_TRACES)) > 10  # the scan finds her before
    report = CustomerErasure(db).erase("C-1038", actor=ADMIN)
    assert rows_with(db, AISHA_TRACES) == []
    assert report.complete and report.matched_by == ("external_id",)
    erased = report.erased
    assert (erased.conversations, erased.tickets, erased.handoffs, erased.callbacks, erased.customers) == \
        (2, 2, 1, 2, 1)
    assert erased.messages == 4 and erased.identities == 3 and erased.audit_entries >= 3
    with db.session() as session:
        call_callback = session.scalars(select(Callback).join(Ticket, Callback.ticket_id == Ticket.id)
                                        .where(Ticket.number == seeded.call_ticket)).one()
        # nobody may call back a customer who asked to be forgotten
        assert call_callback.status == "cancelled" and call_callback.phone is None
        texts = set(session.scalars(select(Message.text).join(Conversation).where(
            Conversation.id.in_([seeded.chat_id, seeded.call_id]))))
        assert texts == {PLACEHOLDER}
        chat_ticket = session.scalars(select(Ticket).where(Ticket.number == seeded.chat_ticket)).one()
        assert chat_ticket.summary == "Cancel an order"  # the pack's title of what was asked stays
        assert chat_ticket.flags == ["name_mismatch"] and chat_ticket.notes == PLACEHOLDER
        customer = session.get(Customer, seeded.aisha_id)
        assert customer is not None and (customer.external_id, customer.name, customer.email) == (None,) * 3


def test_erasure_keeps_other_customers_and_the_kpi_figures(db: Database) -> None:
    seeded = seed(db)
    figures = kpi_figures(db)
    before = rows_with(db, LUCAS_TRACES)
    with db.session() as session:
        lucas_messages = list(session.scalars(select(Message.text).where(
            Message.conversation_id == seeded.lucas_chat_id).order_by(Message.seq)))
        lucas_state = session.get(Conversation, seeded.lucas_chat_id).state  # type: ignore[union-attr]
    CustomerErasure(db).erase("C-1038", actor=ADMIN)
    assert kpi_figures(db) == figures
    assert figures["csat"]["responses"] == 2 and figures["escalation"] == 2 / 3
    # Lucas's rows are all still there, unchanged
    after = rows_with(db, LUCAS_TRACES)
    assert len(after) == len(before) and [r for r in after if not r.startswith("audit_log")] == \
        [r for r in before if not r.startswith("audit_log")]
    with db.session() as session:
        assert list(session.scalars(select(Message.text).where(Message.conversation_id == seeded.lucas_chat_id)
                                    .order_by(Message.seq))) == lucas_messages
        assert session.get(Conversation, seeded.lucas_chat_id).state == lucas_state  # type: ignore[union-attr]


def test_one_audit_entry_records_the_erasure_without_personal_data(db: Database) -> None:
    seed(db)
    entries_before = audit_count(db)
    report = CustomerErasure(db).erase("C-1038", actor=ADMIN)
    assert audit_count(db) == entries_before + 1
    with db.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "customer_erasure")).one()
    assert (entry.actor, entry.action, entry.entity_id) == (ADMIN, "delete", identifier_hash("C-1038"))
    assert entry.entity_id == report.subject
    assert entry.detail["erased"]["conversations"] == 2 and entry.detail["open_conversations_kept"] == 0
    assert identifier_hash("aisha.patel@example.com") in entry.detail["identifiers"]
    text = str((entry.entity_id, entry.detail)).lower()
    assert not any(trace in text for trace in AISHA_TRACES)


def test_erasing_again_changes_nothing_and_says_when_it_was_done(db: Database) -> None:
    seed(db)
    CustomerErasure(db).erase("C-1038", actor=ADMIN)
    after = dump(db, audit=True)
    for identifier in ("C-1038", "aisha.patel@example.com", "+19155550170"):
        with pytest.raises(NothingHeld) as held:
            CustomerErasure(db).erase(identifier, actor=ADMIN)
        assert held.value.erased_at is not None, identifier
    assert dump(db, audit=True) == after
    with pytest.raises(NothingHeld) as never:
        CustomerErasure(db).erase("C-9999", actor=ADMIN)
    assert never.value.erased_at is None


def test_a_dry_run_counts_the_same_and_changes_nothing(db: Database) -> None:
    seed(db)
    before = dump(db)
    preview = CustomerErasure(db).erase("C-1038", actor=ADMIN, dry_run=True)
    assert dump(db) == before
    with db.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "customer_erasure")).one()
        assert entry.action == "read" and entry.detail["dry_run"] is True
    report = CustomerErasure(db).erase("C-1038", actor=ADMIN)
    assert preview.dry_run and preview.erased == report.erased and preview.subject == report.subject


def test_an_open_conversation_is_left_alone_until_it_has_ended(db: Database) -> None:
    seeded = seed(db)
    with db.session() as session:
        repo = ConversationRepository(session)
        live = repo.create(channel="chat", actor="test", customer_id=seeded.aisha_id, now=T0 + timedelta(days=3))
        repo.append_message(live.id, "customer", "Aisha again, one more thing", now=T0 + timedelta(days=3))
        live_id = live.id
    first = CustomerErasure(db).erase("C-1038", actor=ADMIN)
    assert not first.complete and first.open_conversations == 1 and first.erased.conversations == 2
    with db.session() as session:
        assert session.scalar(select(Message.text).where(Message.conversation_id == live_id)) == \
            "Aisha again, one more thing"
        assert session.get(Customer, seeded.aisha_id).external_id == "C-1038"  # type: ignore[union-attr]
        ConversationRepository(session).end(live_id, actor="test")
    second = CustomerErasure(db).erase("C-1038", actor=ADMIN)
    assert second.complete and second.erased.conversations == 1 and second.erased.customers == 1
    assert rows_with(db, AISHA_TRACES) == []


def test_a_contact_who_never_verified_is_found_by_email_or_phone(db: Database) -> None:
    seed(db)
    # by a national number with the pack's region: the unverified call and her customer record
    report = CustomerErasure(db, region="US").erase("(915) 555-0170", actor=ADMIN)
    assert report.matched_by == ("phone",) and report.erased.conversations == 2
    assert rows_with(db, AISHA_TRACES) == []
    with db.session() as session:
        repo = ConversationRepository(session)
        chat = repo.create(channel="chat", actor="test")
        repo.append_message(chat.id, "customer", "I'm zoe.quinn@example.com, I never got a code")
        repo.save_state(chat.id, state={"known": {"email": "zoe.quinn@example.com"}})
        repo.end(chat.id, actor="test")
    zoe = CustomerErasure(db).erase("Zoe.Quinn@Example.com", actor=ADMIN)
    assert zoe.erased.conversations == 1 and zoe.erased.customers == 0
    assert rows_with(db, ("zoe.quinn",)) == []


def test_the_customers_recordings_are_deleted_and_no_others(db: Database, tmp_path: Path) -> None:
    seeded = seed(db)
    folder = tmp_path / "recordings"
    folder.mkdir()
    for call, conversation in (("call-a", seeded.call_id), ("call-b", seeded.lucas_chat_id)):
        files = [folder / f"{call}-caller.wav", folder / f"{call}-agent.wav"]
        for file in files:
            file.write_bytes(b"RIFF")
        link_recording(files, conversation)
    (folder / "call-c-caller.wav").write_bytes(b"RIFF")  # a call that never reached a conversation
    report = CustomerErasure(db, recordings=RecordingStore(folder)).erase("C-1038", actor=ADMIN)
    assert report.erased.recordings == 2
    assert sorted(p.name for p in folder.iterdir()) == ["call-b-agent.wav", "call-b-caller.wav",
                                                        "call-b.link.json", "call-c-caller.wav"]
