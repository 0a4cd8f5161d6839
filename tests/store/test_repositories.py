"""Repository behaviour on every backend (see conftest: SQLite memory, SQLite file, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from helpline.store.db import Database
from helpline.store.models import ApiKey, AuditEntry
from helpline.store.repositories import (
    ApiKeyRepository,
    AuditLog,
    CallbackRepository,
    Conflict,
    ConversationRepository,
    CustomerRepository,
    HandoffRepository,
    IncidentRepository,
    NotFound,
    TicketRepository,
)

T0 = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
ACTOR = "apikey:hl_test1"


def audit(db: Database, **filters: str) -> list[AuditEntry]:
    with db.session() as session:
        return list(reversed(AuditLog(session).list(**filters)))  # type: ignore[arg-type]


# --- customers ---------------------------------------------------------------------------------


def test_upsert_links_identities_and_finds_across_channels(db: Database) -> None:
    with db.session() as session:
        repo = CustomerRepository(session)
        customer = repo.upsert_from_record(actor="system", external_id="C-1001", name="Lucas Reed",
                                           email="Lucas.Reed@Example.com", phone="+12105550157")
        customer_id = customer.id
        assert customer.email == "lucas.reed@example.com"
    with db.session() as session:
        repo = CustomerRepository(session)
        by_email = repo.find_by_identity("email", "LUCAS.REED@example.com", actor=ACTOR)
        by_phone = repo.find_by_identity("phone", "(210) 555-0157", actor=ACTOR, region="US")
        by_id = repo.find_by_identity("external", "C-1001", actor=ACTOR)
        assert by_email is not None and by_phone is not None and by_id is not None
        assert by_email.id == by_phone.id == by_id.id == customer_id
        assert repo.find_by_identity("email", "nobody@example.com", actor=ACTOR) is None
        assert {(i.kind, i.value) for i in repo.identities(customer_id)} == {
            ("external", "C-1001"), ("email", "lucas.reed@example.com"), ("phone", "+12105550157")}
    reads = audit(db, entity="customer", action="read")
    assert [(e.actor, e.customer_id) for e in reads] == [(ACTOR, customer_id)] * 3
    assert audit(db, entity="customer", action="create")[0].detail["fields"]


def test_upsert_updates_the_same_customer(db: Database) -> None:
    with db.session() as session:
        first = CustomerRepository(session).upsert_from_record(actor="system", external_id="C-1", name="Jon Smith",
                                                               email="jon@example.com")
        first_id = first.id
    with db.session() as session:
        again = CustomerRepository(session).upsert_from_record(actor="system", external_id="C-1", name="John Smith",
                                                               email="jon@example.com", phone="not a phone")
        assert again.id == first_id
        assert again.name == "John Smith"
        assert again.phone is None  # a malformed phone in the business's data is skipped, not fatal
    updates = audit(db, entity="customer", action="update")
    assert updates[-1].detail["fields"] == ["name"]


def test_identity_belongs_to_one_customer(db: Database) -> None:
    with db.session() as session:
        repo = CustomerRepository(session)
        a = repo.upsert_from_record(actor="system", external_id="A", email="a@example.com")
        b = repo.upsert_from_record(actor="system", external_id="B", email="b@example.com")
        repo.link_identity(a.id, "chat", "web:abc", actor="system")
        with pytest.raises(Conflict):
            repo.link_identity(b.id, "chat", "web:abc", actor="system")
        with pytest.raises(ValueError, match="identity kind"):
            repo.link_identity(a.id, "fax", "123", actor="system")
        with pytest.raises(NotFound):
            repo.link_identity("missing", "chat", "web:xyz", actor="system")


# --- conversations -----------------------------------------------------------------------------


def test_conversation_transcript_state_and_end(db: Database) -> None:
    with db.session() as session:
        repo = ConversationRepository(session)
        conversation = repo.create(channel="chat", actor=ACTOR, now=T0)
        cid = conversation.id
        for n, role in enumerate(["agent", "customer", "agent"]):
            message = repo.append_message(cid, role=role, text=f"line {n}", meta={"n": n},
                                          now=T0 + timedelta(seconds=n))
            assert message.seq == n + 1
        repo.save_state(cid, state={"turn": 2, "slots": {"order_id": "BB-1"}}, current_procedure="cancel_order",
                        sentiment=-0.25)
    with db.session() as session:
        repo = ConversationRepository(session)
        loaded = repo.get(cid, actor=ACTOR)
        assert loaded is not None
        assert loaded.state == {"turn": 2, "slots": {"order_id": "BB-1"}}
        assert loaded.current_procedure == "cancel_order" and loaded.sentiment == -0.25
        assert loaded.started_at == T0 and loaded.started_at.tzinfo is not None
        assert [(m.seq, m.role, m.text, m.meta) for m in repo.messages(cid)] == [
            (1, "agent", "line 0", {"n": 0}), (2, "customer", "line 1", {"n": 1}), (3, "agent", "line 2", {"n": 2})]
        assert [c.id for c in repo.list_active(actor=ACTOR)] == [cid]
        ended = repo.end(cid, actor=ACTOR, now=T0 + timedelta(minutes=5))
        assert ended.status == "ended" and ended.ended_at == T0 + timedelta(minutes=5)
        repo.end(cid, actor=ACTOR)  # idempotent
        assert repo.list_active(actor=ACTOR) == []
        with pytest.raises(ValueError, match="channel"):
            repo.create(channel="pigeon", actor=ACTOR)
        with pytest.raises(ValueError, match="message role"):
            repo.append_message(cid, role="robot", text="x")
        with pytest.raises(NotFound):
            repo.append_message("missing", role="agent", text="x")
    actions = [(e.action, e.entity) for e in audit(db, entity_id=cid)]
    assert ("create", "conversation") in actions and ("read", "conversation") in actions
    assert actions.count(("update", "conversation")) == 2  # save_state, end (the second end is a no-op)
    assert audit(db, entity="message")[0].actor == f"ai:conversation:{cid}"


# --- tickets -----------------------------------------------------------------------------------


def _ticket(session: object, **fields: object) -> str:
    defaults: dict[str, object] = {"actor": ACTOR, "channel": "chat"}
    defaults.update(fields)
    return TicketRepository(session).create(**defaults).id  # type: ignore[arg-type]


def test_ticket_numbers_start_at_1001_and_increase(db: Database) -> None:
    with db.session() as session:
        repo = TicketRepository(session)
        numbers = [repo.create(actor=ACTOR, channel="voice").number for _ in range(3)]
    with db.session() as session:
        numbers.append(TicketRepository(session).create(actor=ACTOR, channel="email").number)
        found = TicketRepository(session).get_by_number(1003, actor=ACTOR)
        assert found is not None and found.channel == "voice"
        assert TicketRepository(session).get_by_number(999, actor=ACTOR) is None
    assert numbers == [1001, 1002, 1003, 1004]


def test_ticket_update_validates_and_tracks_closing(db: Database) -> None:
    with db.session() as session:
        ticket_id = _ticket(session, summary="Parcel missing")
    with db.session() as session:
        repo = TicketRepository(session)
        with pytest.raises(ValueError, match="priority 'whenever'"):
            repo.update(ticket_id, actor=ACTOR, priority="whenever")
        with pytest.raises(ValueError, match="ticket status"):
            repo.update(ticket_id, actor=ACTOR, status="done")
        with pytest.raises(ValueError, match="csat"):
            repo.update(ticket_id, actor=ACTOR, csat=9)
        with pytest.raises(ValueError, match="tags"):
            repo.update(ticket_id, actor=ACTOR, tags="refund")
        with pytest.raises(ValueError, match="cannot update"):
            repo.update(ticket_id, actor=ACTOR, number=5)
        with pytest.raises(NotFound):
            repo.update("missing", actor=ACTOR, notes="x")
        resolved = repo.update(ticket_id, actor=ACTOR, status="resolved", resolution="Refunded", csat=5,
                               tags=["refund"], now=T0)
        assert resolved.closed_at == T0 and resolved.tags == ["refund"]
    with db.session() as session:
        repo = TicketRepository(session)
        repo.update(ticket_id, actor=ACTOR, status="resolved", csat=5)  # nothing changes: not audited
        reopened = repo.update(ticket_id, actor=ACTOR, status="open")
        assert reopened.closed_at is None
    updates = audit(db, entity="ticket", action="update")
    assert [u.detail["fields"] for u in updates] == [["csat", "resolution", "status", "tags"], ["status"]]
    assert updates[0].detail["status"] == ["open", "resolved"]


def test_ticket_list_filters(db: Database) -> None:
    with db.session() as session:
        customer = CustomerRepository(session).upsert_from_record(actor="system", external_id="C-9")
        conversation = ConversationRepository(session).create(channel="voice", actor=ACTOR)
        _ticket(session, summary="Refund for 50% off voucher", category="billing", priority="high",
                customer_id=customer.id, now=T0)
        _ticket(session, summary="Where is my parcel", channel="voice", conversation_id=conversation.id,
                category="orders", now=T0 + timedelta(hours=1))
        _ticket(session, summary="App crashes on login", channel="email", status="escalated", priority="urgent",
                category="app", now=T0 + timedelta(hours=2))
        customer_id, conversation_id = customer.id, conversation.id
    with db.session() as session:
        repo = TicketRepository(session)

        def numbers(**filters: object) -> list[int]:
            return [t.number for t in repo.list(actor=ACTOR, **filters)]  # type: ignore[arg-type]

        assert numbers() == [1003, 1002, 1001]  # newest first
        assert numbers(status="escalated") == [1003]
        assert numbers(priority="high") == [1001]
        assert numbers(channel="voice") == [1002]
        assert numbers(category="orders") == [1002]
        assert numbers(customer_id=customer_id) == [1001]
        assert numbers(conversation_id=conversation_id) == [1002]
        assert numbers(q="PARCEL") == [1002]
        assert numbers(q="50%") == [1001]  # % is literal, not a wildcard
        assert numbers(q="5%o") == []
        assert numbers(created_from=T0 + timedelta(minutes=30)) == [1003, 1002]
        assert numbers(created_to=T0 + timedelta(hours=1)) == [1001]  # exclusive
        assert numbers(limit=1, offset=1) == [1002]
        assert repo.count(channel="chat") == 1 and repo.count() == 3
        with pytest.raises(ValueError, match="priority"):
            repo.list(actor=ACTOR, priority="whenever")
    reads = audit(db, entity="ticket", action="read")
    assert reads[0].detail["numbers"] == [1003, 1002, 1001]
    customer_read = next(r for r in reads if r.detail["filters"].get("customer_id"))
    assert customer_read.customer_id == customer_id and customer_read.entity_id != "*"


def test_ticket_get_is_audited_with_customer(db: Database) -> None:
    with db.session() as session:
        customer = CustomerRepository(session).upsert_from_record(actor="system", external_id="C-2")
        ticket_id = _ticket(session, customer_id=customer.id)
        customer_id = customer.id
    with db.session() as session:
        assert TicketRepository(session).get(ticket_id, actor=ACTOR) is not None
        assert TicketRepository(session).get("missing", actor=ACTOR) is None
    [read] = audit(db, entity="ticket", action="read")
    assert (read.actor, read.entity_id, read.customer_id) == (ACTOR, ticket_id, customer_id)
    assert read.at.tzinfo is not None


# --- handoffs ----------------------------------------------------------------------------------


def test_handoff_create_and_accept(db: Database) -> None:
    with db.session() as session:
        conversation = ConversationRepository(session).create(channel="voice", actor=ACTOR)
        ticket_id = _ticket(session, conversation_id=conversation.id)
        handoff = HandoffRepository(session).create(
            actor="ai:conversation:x", tier="tier2", conversation_id=conversation.id, ticket_id=ticket_id,
            customer_summary="Lucas Reed, verified by email", issue="Grinder jams", steps_tried=["Cleaned burrs"],
            customer_wants="A replacement", mood="frustrated", urgency="high",
        )
        handoff_id = handoff.id
    with db.session() as session:
        repo = HandoffRepository(session)
        assert [h.id for h in repo.list(actor=ACTOR, pending_only=True)] == [handoff_id]
        accepted = repo.accept(handoff_id, actor=ACTOR, accepted_by="Dana", now=T0)
        assert accepted.accepted_by == "Dana" and accepted.accepted_at == T0
        assert accepted.steps_tried == ["Cleaned burrs"]
        with pytest.raises(Conflict):
            repo.accept(handoff_id, actor=ACTOR)
        assert repo.list(actor=ACTOR, pending_only=True) == []
    assert [e.action for e in audit(db, entity="handoff", entity_id=handoff_id)] == ["create", "update"]


# --- callbacks ---------------------------------------------------------------------------------


def test_callbacks_due_missed_and_completed(db: Database) -> None:
    with db.session() as session:
        repo = CallbackRepository(session)
        early = repo.schedule(actor=ACTOR, due_at=T0, phone="(512) 555-0126", region="US", reason="Refund check")
        late = repo.schedule(actor=ACTOR, due_at=T0 + timedelta(hours=4), email="Sam@Example.com")
        assert early.phone == "+15125550126" and late.email == "sam@example.com"
        with pytest.raises(ValueError, match="phone"):
            repo.schedule(actor=ACTOR, due_at=T0, phone="12")
        with pytest.raises(ValueError, match="email"):
            repo.schedule(actor=ACTOR, due_at=T0, email="not-an-email")
        early_id, late_id = early.id, late.id
    with db.session() as session:
        repo = CallbackRepository(session)
        assert repo.due(T0 - timedelta(minutes=1), actor="system") == []
        assert [c.id for c in repo.due(T0 + timedelta(minutes=1), actor="system")] == [early_id]
        assert [c.id for c in repo.list(actor=ACTOR, due_before=T0 + timedelta(hours=1))] == [early_id]
        missed = repo.mark_missed_overdue(T0 + timedelta(hours=1), grace=timedelta(minutes=30))
        assert [c.id for c in missed] == [early_id]
        assert repo.mark_missed_overdue(T0 + timedelta(hours=1)) == []
        assert [c.id for c in repo.list(actor=ACTOR, status="missed")] == [early_id]
        done = repo.complete(early_id, actor=ACTOR, outcome="Called back, refund confirmed", now=T0)
        assert done.status == "done" and done.completed_at == T0
        repo.cancel(late_id, actor=ACTOR)
        with pytest.raises(Conflict):
            repo.complete(late_id, actor=ACTOR)
        with pytest.raises(NotFound):
            repo.complete("missing", actor=ACTOR)
        with pytest.raises(ValueError, match="callback status"):
            repo.list(actor=ACTOR, status="lost")
    statuses = [e.detail.get("status") for e in audit(db, entity="callback", entity_id=early_id)]
    assert statuses == [None, ["scheduled", "missed"], ["missed", "done"]]


# --- incidents ---------------------------------------------------------------------------------


def test_incident_active_window(db: Database) -> None:
    with db.session() as session:
        repo = IncidentRepository(session)
        incident = repo.declare(actor=ACTOR, title="App login outage", message="We know; fixing it.",
                                affected=["app"], expected_fix="by 3pm", started_at=T0)
        incident_id = incident.id
        with pytest.raises(ValueError, match="title"):
            repo.declare(actor=ACTOR, title="  ", message="x")
    with db.session() as session:
        repo = IncidentRepository(session)
        assert repo.active(T0 - timedelta(seconds=1)) == []
        [active] = repo.active(T0 + timedelta(minutes=1))
        assert active.affected == ["app"] and active.created_by == ACTOR
        repo.end(incident_id, actor=ACTOR, at=T0 + timedelta(hours=2))
        repo.end(incident_id, actor=ACTOR)  # already ended: keeps the first end time
        assert [i.id for i in repo.active(T0 + timedelta(hours=1))] == [incident_id]
        assert repo.active(T0 + timedelta(hours=2)) == []
        assert repo.list(active_only=True, at=T0 + timedelta(hours=3)) == []
        assert [i.id for i in repo.list(active_only=False)] == [incident_id]
        with pytest.raises(NotFound):
            repo.end("missing", actor=ACTOR)
    assert [e.action for e in audit(db, entity="incident")] == ["create", "update"]


# --- API keys ----------------------------------------------------------------------------------


def test_api_key_verify_and_revoke(db: Database) -> None:
    with db.session() as session:
        repo = ApiKeyRepository(session)
        plaintext, key = repo.create(role="supervisor", label="Dana's console")
        other, _ = repo.create(role="agent")
        assert plaintext.startswith("hl_") and len(plaintext) > 40
        assert key.prefix == plaintext[:8]
        key_id = key.id
        with pytest.raises(ValueError, match="role"):
            repo.create(role="root")
    with db.session() as session:
        stored = session.scalars(select(ApiKey).where(ApiKey.id == key_id)).one()
        assert plaintext not in (stored.key_hash, stored.prefix, stored.label)
        repo = ApiKeyRepository(session)
        found = repo.verify(plaintext)
        assert found is not None and found.role == "supervisor"
        assert repo.verify(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
        assert repo.verify("not-a-key") is None and repo.verify("") is None
        repo.revoke(key_id, actor="system", now=T0)
        assert repo.verify(plaintext) is None
        assert repo.verify(other) is not None
        assert [k.role for k in repo.list()] == ["agent"]
        assert len(repo.list(include_revoked=True)) == 2
        revoked = repo.revoke(other[:8], actor="system")  # by the prefix shown in lists
        assert revoked.revoked_at is not None
        with pytest.raises(NotFound):
            repo.revoke("nope", actor="system")
    assert [e.action for e in audit(db, entity="api_key")] == ["create", "create", "update", "update"]


def test_concurrent_ticket_numbers_are_unique(db: Database) -> None:
    if db.url == "sqlite:///:memory:":
        pytest.skip("the in-memory database is one shared connection: no real concurrency to test")
    from concurrent.futures import ThreadPoolExecutor

    def create_five(_: int) -> list[int]:
        numbers = []
        for _n in range(5):
            with db.session() as session:
                numbers.append(TicketRepository(session).create(actor=ACTOR, channel="chat").number)
        return numbers

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = [n for batch in pool.map(create_five, range(6)) for n in batch]
    assert sorted(results) == list(range(1001, 1031))
