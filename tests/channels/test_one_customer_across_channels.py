"""One customer across channels (the seeds' concurrent-contacts exercise): a customer who calls while their email
about the same request is open hears about it, gets one ticket (the email's is joined and closed with the call's
outcome), and the stale email thread never contradicts the call. Real SMTP on loopback for the email side."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from helpline.store.models import EmailRecord, Ticket
from tests.channels.email.harness import EmailHarness, email, plain_text, settings
from tests.conftest import RuntimeFactory
from tests.smtp_inbox import SmtpTestServer

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # a Friday, 10:00 in Chicago
SAMUEL = "Samuel Rogers <samuel.rogers@example.com>"


def test_a_call_about_the_emailed_request_joins_the_tickets_and_the_thread_follows(
        make_runtime: RuntimeFactory, tmp_path: Path) -> None:
    runtime = make_runtime(NOW)
    service = runtime.conversations
    with SmtpTestServer() as sink:
        harness = EmailHarness(runtime, sink, settings(sink, tmp_path))

        async def scenario(h: EmailHarness) -> list[list[str]]:
            await h.send(email("Cancel my order", "Hi, please cancel my order BB-10166. Samuel Rogers, 78681",
                               sender=SAMUEL, message_id="<c1@example.com>"))
            call = await asyncio.to_thread(service.start, "phone")
            said = []
            for text in ("I want to cancel order BB-10166", "Samuel Rogers, 78681", "I ordered it by mistake",
                         "yes, go ahead"):
                said.append((await asyncio.to_thread(service.post, call.id, text)).replies)
            await h.send(email("Re: Cancel my order", "Any news?", sender=SAMUEL, message_id="<c2@example.com>",
                               headers={"In-Reply-To": "<c1@example.com>"}))
            return said

        call_replies = harness.run(scenario)
        heard = " ".join(" ".join(r) for r in call_replies)
        assert "also wrote to us by email" in heard and "joined" in heard
        assert "cancelled" in " ".join(call_replies[-1]).lower()
        replies = harness.replies("samuel.rogers@example.com")
        assert len(replies) == 2
        follow_up = plain_text(replies[1])
        # the email thread says what the call did, and does not start the cancellation again
        assert "picked this up on your call" in follow_up and "cancel" in follow_up.lower()
        assert "why you'd like to cancel" not in follow_up and "Shall I go ahead" not in follow_up
    with runtime.db.session() as session:
        tickets = {t.channel: t for t in session.scalars(select(Ticket))}
        assert tickets["email"].merged_into_id == tickets["phone"].id and tickets["email"].status == "resolved"
        assert tickets["email"].resolution.startswith(f"Resolved on #{tickets['phone'].number} (phone)")
        assert tickets["phone"].status == "resolved"


def test_nothing_of_another_contact_is_said_before_verification(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    service = runtime.conversations
    thread = service.start(channel="email", contact={"email": "samuel.rogers@example.com"})
    with runtime.db.session() as session:  # the email channel's record of the thread (its own tests send it by SMTP)
        session.add(EmailRecord(conversation_id=thread.id, direction="in", message_id="<d1@example.com>",
                                address="samuel.rogers@example.com", subject="Cancel my order"))
    service.post(thread.id, "Please cancel my order BB-10166. Samuel Rogers, 78681")
    call = service.start(channel="phone")
    before = " ".join(service.post(call.id, "I want to cancel order BB-10166").replies)
    assert "ticket #" not in before and "wrote to us" not in before
    after = " ".join(service.post(call.id, "Samuel Rogers, 78681").replies)
    assert "wrote to us by email" in after  # and once verified, it is


def test_an_unrelated_open_contact_is_asked_about_not_joined(make_runtime: RuntimeFactory, tmp_path: Path) -> None:
    runtime = make_runtime(NOW)
    service = runtime.conversations
    first = service.start(channel="chat")
    for text in ("Please cancel my order BB-10166", "Samuel Rogers, 78681"):  # left waiting for a reason
        service.post(first.id, text)
    second = service.start(channel="chat")
    replies = []
    for text in ("Hi, I'd like to update my phone number", "Samuel Rogers 78681"):
        replies.extend(service.post(second.id, text).replies)
    said = " ".join(replies)
    assert "ticket #" in said and "joined" not in said
    with runtime.db.session() as session:
        assert all(t.merged_into_id is None for t in session.scalars(select(Ticket)))
