"""The email channel end to end on loopback: an email sent over SMTP to the listener is answered once, threaded,
into an SMTP sink; replies continue the conversation; robots get no answer; console replies go out by email."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from helpline.store.models import Ticket
from tests.channels.email.harness import SUPPORT, EmailHarness, email, parsed, plain_text, settings
from tests.conftest import RuntimeFactory
from tests.smtp_inbox import SmtpTestServer, free_port

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # a Friday, 10:00 in Chicago: the team is in
QUOTED = "old quoted words about a grinder"
SIGNATURE = "Head of Espresso, Campbell Consulting"


@pytest.fixture()
def sink() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


@pytest.fixture()
def harness(make_runtime: RuntimeFactory, sink: SmtpTestServer, tmp_path: Path) -> EmailHarness:
    return EmailHarness(make_runtime(NOW), sink, settings(sink, tmp_path))


FIRST = email("Descaling", "Hi,\n\nHow do I descale my espresso machine? And what payment methods do you "
              "accept?\n\nThanks,\nJulia\n--\nJulia Campbell\n" + SIGNATURE + "\n\nOn Mon, Nov 16, 2026 at 9:00 "
              "AM Bea <support@brightbean.example> wrote:\n> " + QUOTED + "\n", message_id="<first@example.com>")


def test_one_threaded_answer_to_everything_in_the_email(harness: EmailHarness) -> None:
    async def scenario(h: EmailHarness) -> None:
        await h.send(FIRST)

    harness.run(scenario)
    replies = harness.replies()
    assert len(replies) == 1
    reply = parsed(replies[0])
    assert reply["In-Reply-To"] == "<first@example.com>" and "<first@example.com>" in reply["References"]
    assert reply["Auto-Submitted"] == "auto-replied" and reply["Message-ID"].endswith("@brightbean.example>")
    assert reply["From"].addresses[0].addr_spec == SUPPORT
    assert reply["Subject"].startswith("Re: Descaling [#")
    text = plain_text(replies[0])
    assert text.startswith("Hi Julia,")
    assert "Descaling and cleaning your machine" in text  # the descaling article
    assert "payment" in text.lower() and "Payment" in text  # the payment-methods article answered too
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    assert len(paragraphs) == len(set(paragraphs))  # nothing said twice
    assert sum("anything else" in p for p in paragraphs[:-2]) <= 1  # the engine's offer at most once
    assert "Bea" in text.splitlines()[-2]
    html_part = reply.get_body(preferencelist=("html",))
    assert html_part is not None and "<p>Hi Julia,</p>" in str(html_part.get_content())
    conversation_id = harness.records()[0].conversation_id
    said = " ".join(harness.customer_lines(conversation_id))
    assert "descale" in said and QUOTED not in said and SIGNATURE not in said and "Thanks" not in said


def test_replies_continue_the_conversation_whatever_the_client_does(harness: EmailHarness) -> None:
    async def scenario(h: EmailHarness) -> None:
        await h.send(email("I want to cancel my order", "I'd like to cancel order BB-10175 please.",
                           message_id="<c1@example.com>"))
        ours = parsed(h.replies()[-1])
        # a proper reply: In-Reply-To our answer
        await h.send(email(f"Re: {ours['Subject']}", "yes, go ahead\n\n> " + QUOTED, message_id="<c2@example.com>",
                           headers={"In-Reply-To": ours["Message-ID"], "References": f"<c1@example.com> "
                                    f"{ours['Message-ID']}"}))
        # the client dropped the thread headers and changed the subject, but kept the reference
        ticket = ours["Subject"].rsplit("[#", 1)[1].rstrip("]")
        await h.send(email(f"one more thing [#{ticket}]", "How do I descale my espresso machine?",
                           message_id="<c3@example.com>"))
        # someone else quoting the same reference is not let into Julia's conversation
        await h.send(email(f"about [#{ticket}]", "How do I descale my espresso machine?",
                           sender="someone.else@example.net", message_id="<x1@example.net>"))

    harness.run(scenario)
    records = [r for r in harness.records() if r.direction == "in"]
    julia = {r.conversation_id for r in records if r.address == "julia.campbell@example.com"}
    assert len(julia) == 1
    stranger = {r.conversation_id for r in records if r.address == "someone.else@example.net"}
    assert stranger and stranger.isdisjoint(julia)
    conversation_id = julia.pop()
    said = harness.customer_lines(conversation_id)
    assert any("cancel order BB-10175" in line for line in said) and "yes, go ahead" in said
    answers = harness.replies()
    assert len(answers) == 3
    second, third = parsed(answers[1]), parsed(answers[2])
    assert second["In-Reply-To"] == "<c2@example.com>" and "<c1@example.com>" in second["References"]
    assert third["In-Reply-To"] == "<c3@example.com>" and "<c1@example.com>" in third["References"]
    assert "Descaling and cleaning your machine" in plain_text(answers[2])


@pytest.mark.parametrize("headers, mail_from", [
    ({"Auto-Submitted": "auto-replied"}, None),  # an out-of-office
    ({"Precedence": "bulk"}, None),
    ({"List-Id": "Coffee news <news.example.com>"}, None),
    ({"X-Autoreply": "yes"}, None),
    ({}, ""),  # a bounce: empty envelope sender (Return-Path <>)
], ids=["auto-submitted", "precedence-bulk", "list-id", "x-autoreply", "null-sender"])
def test_robots_and_lists_get_no_answer(harness: EmailHarness, headers: dict[str, str], mail_from: str | None) -> None:
    async def scenario(h: EmailHarness) -> None:
        await h.send(email("Automatic reply: Descaling", "I am out of the office until Monday. How do I descale?",
                           message_id="<robot@example.com>", headers=headers), mail_from=mail_from)

    harness.run(scenario)
    assert harness.replies() == [] and harness.records() == []


def test_mail_from_ourselves_and_floods_get_no_answer(make_runtime: RuntimeFactory, sink: SmtpTestServer,
                                                      tmp_path: Path) -> None:
    harness = EmailHarness(make_runtime(NOW), sink, settings(sink, tmp_path, replies_per_sender_per_hour=2))

    async def scenario(h: EmailHarness) -> None:
        await h.send(email("loop", "How do I descale?", sender=SUPPORT, message_id="<self@brightbean.example>"))
        for number in range(4):
            await h.send(email(f"question {number}", f"How do I descale machine number {number}?",
                               message_id=f"<flood{number}@example.com>"))

    harness.run(scenario)
    assert harness.replies(SUPPORT) == []
    assert len(harness.replies()) == 2


def test_the_same_email_twice_is_answered_once(harness: EmailHarness) -> None:
    async def scenario(h: EmailHarness) -> None:
        await h.send(FIRST)
        await h.send(FIRST)

    harness.run(scenario)
    assert len(harness.replies()) == 1


def test_html_only_email_is_read_as_text(harness: EmailHarness) -> None:
    message = EmailMessage()
    message["From"] = "julia.campbell@example.com"
    message["To"] = SUPPORT
    message["Subject"] = "question"
    message["Message-ID"] = "<html@example.com>"
    message.set_content("<html><body><p>How do I <b>descale</b> my espresso machine?</p>"
                        "<blockquote>" + QUOTED + "</blockquote></body></html>", subtype="html")

    async def scenario(h: EmailHarness) -> None:
        await h.send(message)

    harness.run(scenario)
    assert "Descaling and cleaning your machine" in plain_text(harness.replies()[0])
    said = harness.customer_lines(harness.records()[0].conversation_id)
    assert said and "<b>" not in said[0] and "descale" in said[0]


def test_attachments_are_kept_with_the_ticket_within_limits(make_runtime: RuntimeFactory, sink: SmtpTestServer,
                                                            tmp_path: Path) -> None:
    harness = EmailHarness(make_runtime(NOW), sink, settings(sink, tmp_path, max_attachment_bytes=1000))
    message = email("photo", "My grinder is jammed, photo attached. What should I do?",
                    message_id="<att@example.com>")
    message.add_attachment(b"\x89PNG small", maintype="image", subtype="png", filename="../../jam.png")
    message.add_attachment(b"x" * 5000, maintype="application", subtype="octet-stream", filename="big.exe")

    async def scenario(h: EmailHarness) -> None:
        await h.send(message)

    harness.run(scenario)
    record = harness.records()[0]
    kept = {a["name"]: a for a in record.attachments}
    assert kept["big.exe"]["skipped"] and not kept["big.exe"]["path"]
    path = tmp_path / "attachments" / kept["../../jam.png"]["path"]
    assert path.read_bytes() == b"\x89PNG small" and path.parent.name.startswith("ticket-")
    assert path.stat().st_mode & 0o111 == 0 and (tmp_path / "attachments") in path.parents
    assert len(harness.replies()) == 1


def test_console_reply_is_sent_by_email_in_the_thread(harness: EmailHarness) -> None:
    async def scenario(h: EmailHarness) -> None:
        await h.send(email("Descaling", "How do I descale my espresso machine?", message_id="<s1@example.com>"))
        conversation_id = h.records()[0].conversation_id
        service = h.runtime.conversations
        service.take_over(conversation_id, by="ana@brightbean.example", display_name="Ana", actor="console:ana")
        service.human_reply(conversation_id, by="ana@brightbean.example", display_name="Ana",
                            text="Hi Julia, I've also added a free descaler to your next order.", actor="console:ana")
        assert h.service is not None
        for _ in range(100):  # the relay hears the bus notice and sends
            if len(h.replies()) == 2:
                break
            await __import__("asyncio").sleep(0.05)
        # a customer email while a person has the conversation: stored for them, no AI answer
        await h.send(email("Re: Descaling", "Thank you!", message_id="<s2@example.com>",
                           headers={"In-Reply-To": "<s1@example.com>"}))

    harness.run(scenario)
    replies = harness.replies()
    assert len(replies) == 2
    staff = parsed(replies[1])
    assert "free descaler" in plain_text(replies[1]) and "Auto-Submitted" not in staff
    assert staff["In-Reply-To"] == "<s1@example.com>" and staff["Subject"].startswith("Re: Descaling [#")
    conversation_id = harness.records()[0].conversation_id
    assert "Thank you!" in harness.customer_lines(conversation_id)


def test_a_relay_that_is_down_and_a_bounce_are_recorded_on_the_ticket(make_runtime: RuntimeFactory,
                                                                     sink: SmtpTestServer, tmp_path: Path) -> None:
    runtime = make_runtime(NOW)
    down = EmailHarness(runtime, sink, settings(sink, tmp_path, relay_port=free_port()))

    async def relay_down(h: EmailHarness) -> None:
        await h.send(email("Descaling", "How do I descale my espresso machine?", message_id="<d1@example.com>"))

    down.run(relay_down)
    failed = [r for r in down.records() if r.direction == "out"]
    assert [r.status for r in failed] == ["failed"] and "could not be reached" in failed[0].error

    up = EmailHarness(runtime, sink, settings(sink, tmp_path))

    async def bounce(h: EmailHarness) -> None:
        await h.send(email("Re: Descaling", "And how often should I clean the grinder?",
                           message_id="<d2@example.com>", headers={"In-Reply-To": failed[0].message_id}))
        ours = parsed(h.replies()[-1])
        report = EmailMessage()
        report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.com>"
        report["To"] = SUPPORT
        report["Subject"] = "Undelivered Mail Returned to Sender"
        report["Auto-Submitted"] = "auto-replied"
        report.set_content("Your message could not be delivered.")
        report.add_attachment("Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; "
                              "julia.campbell@example.com\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; "
                              "550 5.1.1 mailbox unavailable\n", subtype="delivery-status")
        report.add_attachment(f"Message-ID: {ours['Message-ID']}\nSubject: {ours['Subject']}\n",
                              subtype="rfc822-headers")
        report.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"; boundary="'
                              + str(report.get_boundary()) + '"')
        await h.send(report, mail_from="")

    up.run(bounce)
    outbound = [r for r in up.records() if r.direction == "out"]
    assert [r.status for r in outbound] == ["failed", "bounced"] and "5.1.1" in outbound[1].error
    with runtime.db.read_session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == outbound[0].conversation_id)).one()
        assert "email_undelivered" in ticket.flags
        assert "not delivered" in ticket.notes and "bounced" in ticket.notes


def test_an_email_thread_is_not_closed_for_silence(harness: EmailHarness) -> None:
    async def scenario(h: EmailHarness) -> None:
        await h.send(email("Descaling", "How do I descale my espresso machine?", message_id="<q1@example.com>"))

    harness.run(scenario)
    service = harness.runtime.conversations
    service.clock = lambda: NOW + timedelta(days=2)  # the customer answers two days later
    assert service.sweep_idle() == 0

    async def later(h: EmailHarness) -> None:
        await h.send(email("Re: Descaling", "And what payment methods do you accept?", message_id="<q2@example.com>",
                           headers={"In-Reply-To": "<q1@example.com>"}))

    harness.run(later)
    assert len({r.conversation_id for r in harness.records()}) == 1 and len(harness.replies()) == 2
