"""Two customers' contacts written through the real repositories, and a scan of every table for personal data.

Aisha (the customer erased in the tests) has a verified chat with a ticket, hand-off, done callback and an
operation that was called with her email; an unverified phone call from her number with a callback still
scheduled; and a staff search for her name in the audit log. Lucas has one verified chat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from helpline.conversation.state import ConversationState
from helpline.store.db import Database
from helpline.store.models import Base
from helpline.store.repositories import (
    AuditLog,
    CallbackRepository,
    ConversationRepository,
    CustomerRepository,
    HandoffRepository,
    TicketRepository,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AISHA = {"id": "C-1038", "name": "Aisha Patel", "first_name": "Aisha", "email": "aisha.patel@example.com",
         "phone": "+19155550170", "address_line": "5185 Guadalupe Ave", "zip": "79901"}
LUCAS = {"id": "C-1001", "name": "Lucas Reed", "first_name": "Lucas", "email": "lucas.reed@example.com",
         "phone": "+12105550157", "address_line": "4161 Guadalupe St", "zip": "78212"}
# Whatever could tell who Aisha is, however it was written.
AISHA_TRACES = ("aisha", "patel", "aisha.patel@example.com", "9155550170", "915 555 0170", "c-1038",
                "5185 guadalupe")
LUCAS_TRACES = ("lucas reed", "lucas.reed@example.com", "2105550157", "c-1001")


@dataclass
class Seeded:
    aisha_id: str  # Helpline's customer id
    lucas_id: str
    chat_id: str  # Aisha's verified chat
    call_id: str  # Aisha's unverified phone call
    lucas_chat_id: str
    chat_ticket: int
    call_ticket: int
    lucas_ticket: int


def _state(record: dict[str, str] | None, known: dict[str, str], problem: str) -> dict[str, Any]:
    state = ConversationState(customer=record, assurance=1 if record else 0, known=known, problem=problem,
                              ended=True, turn=4, sentiment=-0.2, max_frustration=0.4)
    state.verification.collected = {"email": known.get("email", "")}
    state.flags = [f"name_mismatch: said '{record['first_name']}x', record '{record['name']}'"] \
        if record else []
    state.last_reply = f"Thanks {record['first_name']}, that's done." if record else "Goodbye."
    data = state.to_json()
    data["requests"] = [{"procedure_id": "cancel_order", "title": "Cancel an order", "category": "orders",
                         "priority": "normal", "outcome": "resolved",
                         "resolution": f"Cancelled; refund to {known.get('email', '')}", "tags": ["cancel"]}]
    return data


def _contact(db: Database, record: dict[str, str] | None, *, channel: str, started: datetime, known: dict[str, str],
             words: str, csat: int | None, callback: str | None, handoff: bool, ended: bool = True) -> tuple[str, int]:
    """One conversation with its transcript, ticket, and optionally a hand-off and a callback."""
    with db.session() as session:
        customer_id = None
        if record:
            customer_id = CustomerRepository(session).upsert_from_record(
                actor="test", external_id=record["id"], name=record["name"], email=record["email"],
                phone=record["phone"]).id
        conversations = ConversationRepository(session)
        conversation = conversations.create(channel=channel, actor="test", customer_id=customer_id, now=started)
        actor = f"ai:conversation:{conversation.id}"
        conversations.append_message(conversation.id, "customer", words, {"intent": "cancel_order"}, now=started)
        greeting = f"Thanks {record['first_name']}, I found your account." if record else "Thanks."
        conversations.append_message(conversation.id, "agent", greeting, now=started)
        conversations.save_state(conversation.id, state=_state(record, known, words), actor=actor, now=started)
        ticket = TicketRepository(session).create(
            actor=actor, channel=channel, conversation_id=conversation.id, customer_id=customer_id,
            category="orders", summary=f"{words}; Cancel an order", status="resolved",
            steps_taken=[f"Verified {known.get('email') or known.get('phone')}"],
            resolution=f"Refund to card; confirmation sent to {known.get('email') or known.get('phone')}",
            flags=[f"name_mismatch: said '{record['first_name']}x', record '{record['name']}'"] if record else [],
            notes=f"Customer lives at {record['address_line']}" if record else "", now=started)
        TicketRepository(session).update(ticket.id, actor=actor, handle_time_seconds=300, csat=csat, now=started)
        if handoff:
            HandoffRepository(session).create(
                actor=actor, tier="tier2", conversation_id=conversation.id, ticket_id=ticket.id,
                customer_summary=f"{record['name'] if record else 'Caller'}, verified by email",
                issue=words, steps_tried=["Looked up the order"], customer_wants="a refund", mood="calm",
                urgency="normal", now=started)
        if callback:
            CallbackRepository(session).schedule(
                actor=actor, ticket_id=ticket.id, customer_id=customer_id, phone=callback,
                due_at=started + timedelta(hours=4), reason=f"Call {callback} about the refund", now=started)
        AuditLog(session).record(actor, "read", "operation:find_customer", known.get("email") or "x",
                                 customer_id, {"args": dict(known), "ok": True, "error": None}, at=started)
        if ended:
            conversations.end(conversation.id, actor="test", now=started + timedelta(minutes=5))
        return conversation.id, ticket.number


def seed(db: Database, start: datetime = T0) -> Seeded:
    chat_id, chat_ticket = _contact(
        db, AISHA, channel="chat", started=start, known={"email": AISHA["email"]},
        words="Please cancel order BB-10160, I'm Aisha Patel at 5185 Guadalupe Ave", csat=4,
        callback="+19155550170", handoff=True)
    with db.session() as session:
        ticket = TicketRepository(session).get_by_number(chat_ticket, actor="test")
        assert ticket is not None
        CallbackRepository(session).complete(
            CallbackRepository(session).list(actor="test", ticket_id=ticket.id)[0].id, actor="test",
            outcome="Spoke to Aisha, refund confirmed", now=start + timedelta(hours=1))
    call_id, call_ticket = _contact(
        db, None, channel="phone", started=start + timedelta(days=1), known={"phone": "915 555 0170"},
        words="This is about my refund, call me on 915 555 0170", csat=None, callback="+19155550170",
        handoff=False)
    lucas_chat_id, lucas_ticket = _contact(
        db, LUCAS, channel="chat", started=start + timedelta(days=2), known={"email": LUCAS["email"]},
        words="Where is order BB-10001? I'm Lucas Reed", csat=5, callback=None, handoff=True)
    with db.session() as session:
        # A supervisor searched the tickets for her name: the search is in the audit log.
        AuditLog(session).record("apikey:hl_staff", "read", "ticket", "*", None,
                                 {"filters": {"q": "Aisha Patel"}, "numbers": [chat_ticket]})
        customers = CustomerRepository(session)
        aisha = customers.find_by_identity("external", "C-1038", actor="test")
        lucas = customers.find_by_identity("external", "C-1001", actor="test")
        assert aisha is not None and lucas is not None
        return Seeded(aisha.id, lucas.id, chat_id, call_id, lucas_chat_id, chat_ticket, call_ticket, lucas_ticket)


def rows_with(db: Database, traces: tuple[str, ...], skip: tuple[str, ...] = ()) -> list[str]:
    """Every row of every table (but ``skip``) holding one of ``traces`` (case-insensitively; phone numbers
    also with their punctuation removed), as "table: row"."""
    found = []
    with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            for row in connection.execute(select(table)):
                text = json.dumps([str(v) if not isinstance(v, dict | list) else v for v in row],
                                  default=str).lower()
                digits = "".join(c for c in text if c.isdigit() or c == " ")
                if any(t in text or (t.replace(" ", "").isdigit() and t in digits) for t in traces):
                    found.append(f"{table.name}: {text[:300]}")
    return found
