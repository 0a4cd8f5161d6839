"""Tickets, callbacks and incidents as the console works them through the application layer: plain views, reads
audited even when the change they were for is refused, a resolved conversation's callbacks no longer owed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpline.application import console_exports, incident_desk, ticket_desk
from helpline.application.audit import AuditEntryView
from helpline.application.ticket_desk import Conflict, TicketNotFound, TicketView
from helpline.store.db import Database
from helpline.store.models import AuditEntry
from helpline.store.repositories import CallbackRepository, ConversationRepository, TicketRepository

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ACTOR = "console:sam@example.com"


def _contact(db: Database, summary: str) -> tuple[str, int]:
    with db.session() as session:
        conversation = ConversationRepository(session).create(channel="chat", actor="test")
        ticket = TicketRepository(session).create(actor="test", channel="chat", conversation_id=conversation.id,
                                                  summary=summary)
        return conversation.id, ticket.number


def _reads_by_staff(db: Database) -> int:
    with db.session() as session:
        return session.query(AuditEntry).filter(AuditEntry.actor == ACTOR, AuditEntry.action == "read").count()


def test_find_and_read_a_ticket_as_plain_views(db: Database) -> None:
    _contact(db, "parcel late")
    _, number = _contact(db, "refund please")
    found, total = ticket_desk.find_tickets(db, ACTOR, limit=1, q="refund")
    assert total == 1 and isinstance(found[0], TicketView) and found[0].number == number
    detail = ticket_desk.ticket_detail(db, number, ACTOR)
    assert detail.ticket.summary == "refund please" and detail.kept is None and detail.merged == []
    with pytest.raises(TicketNotFound):
        ticket_desk.ticket_detail(db, 999_999, ACTOR)


def test_a_refused_merge_keeps_its_audited_reads(db: Database) -> None:
    _, first = _contact(db, "parcel late")
    _, second = _contact(db, "parcel late again")
    ticket_desk.merge_tickets(db, first, second, ACTOR)
    before = _reads_by_staff(db)
    with pytest.raises(Conflict):
        ticket_desk.merge_tickets(db, first, second, ACTOR)  # already merged
    assert _reads_by_staff(db) > before  # who looked is logged even though nothing changed
    detail = ticket_desk.ticket_detail(db, first, ACTOR)
    assert [t.number for t in detail.merged] == [second]


def test_resolving_a_conversation_resolves_its_ticket_and_cancels_owed_callbacks(db: Database) -> None:
    conversation_id, number = _contact(db, "no internet")
    ticket = ticket_desk.ticket_of_conversation(db, conversation_id, ACTOR)
    assert ticket is not None
    with db.session() as session:
        CallbackRepository(session).schedule(actor="test", due_at=NOW + timedelta(hours=2), ticket_id=ticket.id,
                                             phone="+14155550100")
    assert len(ticket_desk.callback_queue(db, ACTOR)) == 1
    ticket_desk.resolve_conversation_ticket(db, conversation_id, ACTOR, "Resolved by Sam", "")
    resolved = ticket_desk.ticket_detail(db, number, ACTOR).ticket
    assert resolved.status == "resolved" and resolved.resolution == "Resolved by Sam"
    assert resolved.steps_taken[-1] == "Resolved by Sam"
    assert ticket_desk.callback_queue(db, ACTOR) == []
    (callback, ticket_number), = ticket_desk.callback_queue(db, ACTOR, everything=True)
    assert callback.status == "cancelled" and ticket_number == number
    with pytest.raises(Conflict):
        ticket_desk.finish_callback(db, callback.id, done=True, actor=ACTOR, outcome="called")


def test_incidents_declared_listed_and_ended(db: Database) -> None:
    declared = incident_desk.declare_incident(db, actor=ACTOR, title="Outage in Millbrook", message="We know.",
                                              scope={"region": ["Millbrook"]})
    assert [i.title for i in incident_desk.incidents(db, not_ended_only=True)] == ["Outage in Millbrook"]
    assert declared.scope == {"region": ["Millbrook"]}
    incident_desk.end_incident(db, declared.id, ACTOR)
    assert incident_desk.incidents(db, not_ended_only=True) == []
    ended = incident_desk.incident(db, declared.id)
    assert ended is not None and ended.ended_at is not None
    with pytest.raises(incident_desk.NotFound):
        incident_desk.end_incident(db, "no-such-incident", ACTOR)
    with pytest.raises(ValueError):
        incident_desk.declare_incident(db, actor=ACTOR, title=" ")


def test_export_rows_stream_in_clear_for_the_console_to_mask(db: Database) -> None:
    conversation_id, number = _contact(db, "=cmd|' /C calc'!A0")
    tickets = list(console_exports.ticket_rows(db, channel="chat"))
    assert [t.number for t in tickets] == [number] and tickets[0].summary.startswith("=")
    assert list(console_exports.ticket_rows(db, channel="sms")) == []
    assert [c.id for c in console_exports.conversation_rows(db, since=NOW - timedelta(days=3650))] == \
        [conversation_id]
    assert list(console_exports.conversation_rows(db, until=datetime(2000, 1, 1, tzinfo=UTC))) == []
    entries = list(console_exports.audit_rows(db))
    assert entries and all(isinstance(e, AuditEntryView) for e in entries)
