"""An emailed survey answer end to end on loopback: the survey goes out through the send queue and the SMTP
sender, the customer's reply ("5", their client quoting the survey below) is stored on the surveyed ticket and
thanked in the thread, not answered as a new conversation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpline.outbound.ports import MessagePurpose, OutboundChannel, OutboundMessage
from helpline.outbound.queue import OutboundQueue
from helpline.outbound.runner import OutboundRunner
from helpline.store.models import Conversation, Ticket
from helpline.store.opt_outs import StoredContactPreferences
from tests.channels.email.harness import EmailHarness, email, parsed, plain_text, settings
from tests.conftest import RuntimeFactory
from tests.smtp_inbox import SmtpTestServer

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
JULIA = "julia.campbell@example.com"


@pytest.fixture()
def sink() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


@pytest.fixture()
def harness(make_runtime: RuntimeFactory, sink: SmtpTestServer, tmp_path: Path) -> EmailHarness:
    return EmailHarness(make_runtime(NOW), sink, settings(sink, tmp_path))


def _conversations(h: EmailHarness) -> int:
    with h.runtime.db.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(Conversation)) or 0)


def _csat(h: EmailHarness, number: int) -> int | None:
    with h.runtime.db.read_session() as session:
        return session.scalar(select(Ticket.csat).where(Ticket.number == number))


async def _survey(h: EmailHarness) -> tuple[int, str]:
    """Julia's email contact, ended and resolved, and the survey about it sent; its number and Message-ID."""
    await h.send(email("Descaling", "How do I descale my espresso machine?", message_id="<d1@example.com>"))
    conversation_id = h.records()[0].conversation_id
    h.runtime.conversations.end(conversation_id)
    with h.runtime.db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)).one()
        ticket.status = "resolved"
        OutboundQueue(session).enqueue(
            OutboundMessage(OutboundChannel.EMAIL, JULIA, "How did we do? Reply with a number from 1 to 5.",
                            purpose=MessagePurpose.SURVEY, subject=f"How did we do? [#{ticket.number}]",
                            conversation_id=conversation_id),
            dedupe_key=f"survey:{ticket.id}", actor="test", now=NOW, ticket_id=ticket.id)
        number = ticket.number
    assert h.service is not None
    runner = OutboundRunner(h.runtime.db, {OutboundChannel.EMAIL: h.service.sender},
                            StoredContactPreferences(h.runtime.db), node="test",
                            clock=lambda: NOW + timedelta(minutes=1))
    assert (await runner.run_once()).sent == 1
    survey = parsed(h.replies()[-1])
    assert str(survey["Subject"]).startswith("How did we do")
    return number, str(survey["Message-ID"])


def test_an_emailed_score_is_stored_on_the_surveyed_ticket_and_thanked(harness: EmailHarness) -> None:
    found: dict[str, object] = {}

    async def scenario(h: EmailHarness) -> None:
        number, survey_id = await _survey(h)
        found["number"], found["conversations"] = number, _conversations(h)
        await h.send(email(f"Re: How did we do? [#{number}]",
                           "5 - sorted in minutes\n\nOn Fri, Nov 20, 2026 Brightbean <support@brightbean.example> "
                           "wrote:\n> How did we do? Reply with a number from 1 to 5.\n",
                           message_id="<a1@example.com>", headers={"In-Reply-To": survey_id}))
        # the same email again (SMTP and IMAP, a retry): handled once
        await h.send(email(f"Re: How did we do? [#{number}]", "5 - sorted in minutes",
                           message_id="<a1@example.com>", headers={"In-Reply-To": survey_id}))

    harness.run(scenario)
    number = int(str(found["number"]))
    replies = harness.replies()
    assert len(replies) == 3  # the answer, the survey, the thanks
    thanks = parsed(replies[2])
    assert thanks["In-Reply-To"] == "<a1@example.com>" and f"[#{number}]" in str(thanks["Subject"])
    assert "5 out of 5" in plain_text(replies[2])
    assert _csat(harness, number) == 5
    assert _conversations(harness) == found["conversations"]  # no new conversation


def test_a_score_continuing_an_open_thread_answers_the_agent(harness: EmailHarness) -> None:
    async def scenario(h: EmailHarness) -> int:
        number, _ = await _survey(h)
        await h.send(email("Order BB-10166", "Where is my order BB-10166?", message_id="<o1@example.com>"))
        await h.send(email("Re: Order BB-10166", "5", message_id="<o2@example.com>",
                           headers={"In-Reply-To": "<o1@example.com>"}))
        return number

    number = harness.run(scenario)
    assert _csat(harness, number) is None
    assert all("out of 5" not in plain_text(reply) for reply in harness.replies())
