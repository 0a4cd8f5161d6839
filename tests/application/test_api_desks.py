"""What the API reads and changes through the application layer (ticket_desk, incident_desk, audit, live_view,
outbound_desk): plain views, a ticket named by number or id, a rating never replaced, reads audited as the caller's
and a refused change keeping nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpline.application import audit, incident_desk, ticket_desk
from helpline.application.live_view import conversation_record
from helpline.application.outbound_desk import follow_up_draft
from helpline.application.ticket_desk import NamedTicket, RatingKept, TicketNotFound
from helpline.outbound.ports import MessagePurpose
from helpline.pack.loader import load_pack
from helpline.store.db import Database
from helpline.store.models import AuditEntry
from helpline.store.repositories import CallbackRepository, ConversationRepository, TicketRepository
from tests.conftest import DEMO

ACTOR = "apikey:hl_Ab3dE"


def _contact(db: Database, summary: str) -> tuple[str, str, int]:
    with db.session() as session:
        conversation = ConversationRepository(session).create(channel="chat", actor="test")
        ConversationRepository(session).append_message(conversation.id, "customer", "my parcel is late")
        ticket = TicketRepository(session).create(actor="test", channel="chat", conversation_id=conversation.id,
                                                  summary=summary, customer_id=None)
        return conversation.id, ticket.id, ticket.number


def _reads(db: Database) -> int:
    with db.session() as session:
        return session.query(AuditEntry).filter(AuditEntry.actor == ACTOR, AuditEntry.action == "read").count()


def test_a_ticket_is_named_by_number_or_id(db: Database) -> None:
    _, ticket_id, number = _contact(db, "parcel late")
    by_number = ticket_desk.ticket_named(db, NamedTicket(number=number), ACTOR)
    by_id = ticket_desk.ticket_named(db, NamedTicket(id=ticket_id), ACTOR)
    assert by_number is not None and by_number == by_id and by_number.summary == "parcel late"
    assert ticket_desk.ticket_named(db, NamedTicket(number=number + 1), ACTOR) is None
    assert ticket_desk.ticket_named(db, NamedTicket(id=str(number)), ACTOR) is None  # a number is not an id
    assert _reads(db) == 2


def test_a_rating_is_kept_and_a_refused_edit_keeps_nothing(db: Database) -> None:
    _, _, number = _contact(db, "parcel late")
    rated = ticket_desk.edit_ticket(db, NamedTicket(number=number), ACTOR, csat=2, notes="called back")
    assert rated.csat == 2 and rated.notes == "called back"
    reads = _reads(db)
    with pytest.raises(RatingKept, match=rf"ticket {number} already has a rating \(2\)"):
        ticket_desk.edit_ticket(db, NamedTicket(number=number), ACTOR, csat=5, notes="changed")
    assert _reads(db) == reads  # rolled back, its read too (as the API always did)
    kept = ticket_desk.ticket_named(db, NamedTicket(number=number), ACTOR)
    assert kept is not None and kept.csat == 2 and kept.notes == "called back"
    assert ticket_desk.edit_ticket(db, NamedTicket(number=number), ACTOR, csat=None).csat is None  # cleared
    with pytest.raises(TicketNotFound):
        ticket_desk.edit_ticket(db, NamedTicket(number=number + 1), ACTOR, notes="x")


def test_callbacks_carry_their_customer_and_are_filtered(db: Database) -> None:
    _, ticket_id, _ = _contact(db, "call me")
    due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with db.session() as session:
        repo = CallbackRepository(session)
        repo.schedule(actor="test", due_at=due, ticket_id=ticket_id, customer_id=None, phone="+15125550126")
        repo.schedule(actor="test", due_at=due + timedelta(days=2), phone="+15125550127")
    found = ticket_desk.callbacks(db, ACTOR, status="scheduled", due_before=due + timedelta(days=1), limit=10)
    assert [(c.phone, c.ticket_id) for c in found] == [("+15125550126", ticket_id)]
    assert found[0].created_at is not None and found[0].customer_id is None
    assert len(ticket_desk.callbacks(db, ACTOR, limit=10)) == 2
    assert ticket_desk.callbacks(db, ACTOR, status="done", limit=10) == []


def test_incidents_are_marked_active_only_while_they_are(db: Database) -> None:
    now = datetime.now(UTC)
    outage = incident_desk.declare_incident(db, actor=ACTOR, title="Fibre cut", message="Engineers on site.")
    planned = incident_desk.declare_incident(db, actor=ACTOR, title="Upgrade", message="Short drops.",
                                             kind="planned_maintenance", window_start=now - timedelta(hours=2),
                                             window_end=now - timedelta(hours=1))
    assert outage.created_by == ACTOR
    assert incident_desk.incidents_marked_active(db, include_ended=False, limit=10) == [(outage, True)]
    listed = dict((i.id, active) for i, active in incident_desk.incidents_marked_active(db, include_ended=True,
                                                                                         limit=10))
    assert listed == {outage.id: True, planned.id: False}  # a window that has passed is not active


def test_audit_entries_are_filtered(db: Database) -> None:
    _, ticket_id, number = _contact(db, "parcel late")
    ticket_desk.ticket_named(db, NamedTicket(number=number), ACTOR)
    reads = audit.audit_entries(db, actor=ACTOR, action="read")
    assert [(e.entity, e.entity_id) for e in reads] == [("ticket", ticket_id)]
    assert audit.audit_entries(db, actor=ACTOR, action="update") == []
    assert len(audit.audit_entries(db, entity="ticket", limit=1)) == 1


def test_a_conversation_record_has_its_ticket_and_lines(db: Database) -> None:
    conversation_id, ticket_id, number = _contact(db, "parcel late")
    record = conversation_record(db, conversation_id, ACTOR)
    assert record is not None and record.conversation.id == conversation_id and record.conversation.ended_at is None
    assert (record.ticket_id, record.ticket_number) == (ticket_id, number)
    assert [(line.seq, line.role, line.text) for line in record.lines] == [(1, "customer", "my parcel is late")]
    assert conversation_record(db, "0f8e2a4c-5b7d-4f5e-9d1a-2c3b4a5d6e7f", ACTOR) is None


def test_a_follow_up_for_an_unknown_ticket_is_refused(db: Database) -> None:
    _, _, number = _contact(db, "parcel late")
    pack = load_pack(DEMO)
    draft = follow_up_draft(db, pack, NamedTicket(number=number), MessagePurpose("recap"), ACTOR)
    assert draft is not None and draft.ticket_number == number
    with pytest.raises(TicketNotFound):
        follow_up_draft(db, pack, NamedTicket(number=number + 1), MessagePurpose("recap"), ACTOR)


def test_the_average_qa_score_is_of_scored_tickets_only(db: Database) -> None:
    assert ticket_desk.average_qa_score(db) is None
    for summary, score in (("one", 80.0), ("two", 90.0), ("three", None)):
        _, ticket_id, _ = _contact(db, summary)
        with db.session() as session:
            row = TicketRepository(session).get(ticket_id, actor="test")
            assert row is not None
            row.qa_score = score
    assert ticket_desk.average_qa_score(db) == pytest.approx(85.0)
