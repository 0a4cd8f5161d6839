"""Email threads through the application layer: which conversation an email continues (Message-ID, then a ticket
reference from the same address, then sender and subject), duplicates, outcomes and bounces, notes for the staff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from helpline.application.email_threads import EmailConversations, ThreadedBy, plain_subject, ticket_reference
from helpline.runtime import Runtime
from helpline.store.models import Message, Ticket
from tests.conftest import RuntimeFactory

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
JULIA = "julia.campbell@example.com"


def _thread(runtime: Runtime) -> tuple[EmailConversations, str]:
    threads = EmailConversations(runtime.db, turn_wait_seconds=5.0)
    conversation = runtime.conversations.start("email", actor="test").id
    ids = threads.record_received(conversation, "<j1@example.com>", JULIA, "Descaling my machine", NOW)
    assert ids == ["<j1@example.com>"]
    threads.record_sending(conversation, "<ours1@brightbean.example>", JULIA, "Re: Descaling my machine [#1]", NOW)
    return threads, conversation


def test_subjects_are_compared_as_people_mean_them() -> None:
    assert plain_subject("RE: Fwd:  Descaling my MACHINE [#1234]") == "descaling my machine"
    assert ticket_reference("Re: one more thing [#1234]") == 1234 and ticket_reference("no reference") is None


def test_an_email_continues_its_thread_by_message_id_reference_or_subject(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    threads, conversation = _thread(runtime)
    by_id = threads.find("someone@example.net", "anything", ("<ours1@brightbean.example>",), NOW)
    assert by_id is not None and (by_id.conversation_id, by_id.by) == (conversation, ThreadedBy.MESSAGE_ID)
    number = runtime.conversations.ticket_number(conversation)
    by_reference = threads.find(JULIA, f"one more thing [#{number}]", (), NOW)
    assert by_reference is not None and by_reference.by is ThreadedBy.TICKET_REFERENCE
    assert threads.find("stranger@example.net", f"about [#{number}]", (), NOW) is None  # not a password
    by_subject = threads.find(JULIA, "Re: descaling my machine", (), NOW + timedelta(days=1))
    assert by_subject is not None and by_subject.by is ThreadedBy.SUBJECT
    assert threads.find(JULIA, "Re: descaling my machine", (), NOW + timedelta(days=30)) is None  # too long ago
    runtime.conversations.end(conversation, actor="test")
    assert threads.find(JULIA, "anything", ("<ours1@brightbean.example>",), NOW) is None  # ended: a new one


def test_duplicates_outcomes_bounces_and_notes(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    threads, conversation = _thread(runtime)
    assert threads.seen("<j1@example.com>") and not threads.seen("<ours1@brightbean.example>")  # inbound only
    assert threads.mark_sent("<ours1@brightbean.example>", False, "relay down") == JULIA
    assert threads.mark_sent("<not-ours@example.com>", True, "") == ""
    assert threads.mark_bounced(("<not-ours@example.com>",), "Status: 5.1.1") is None
    bounce = threads.mark_bounced(("<x@example.com>", "<ours1@brightbean.example>"), "")
    assert bounce is not None and (bounce.conversation_id, bounce.address) == (conversation, JULIA)
    assert bounce.why == "returned by the receiving server"
    assert not threads.handled_by_person(conversation)
    runtime.conversations.take_over(conversation, by="ana", display_name="Ana", actor="test")
    assert threads.handled_by_person(conversation) and threads.taken_over() == [conversation]
    threads.note(conversation, "The email bounced.", flag="email_undelivered", actor="test", now=NOW)
    threads.note(conversation, "Email attachments: a.png", flag=None, actor="test", now=NOW)
    lines, _ = runtime.conversations.staff_lines_since(conversation, 0)
    assert not any("bounced" in text or "attachments" in text for _, text in lines)  # staff-only: never spoken
    with runtime.db.read_session() as session:
        notes = [m.text for m in session.scalars(select(Message).where(
            Message.conversation_id == conversation, Message.role == "system").order_by(Message.seq))
            if (m.meta or {}).get("visibility") == "staff"]
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == conversation)).one()
        assert notes == ["The email bounced.", "Email attachments: a.png"]
        assert "The email bounced." in ticket.notes and ticket.flags.count("email_undelivered") == 1
        assert "attachments" not in ticket.notes
