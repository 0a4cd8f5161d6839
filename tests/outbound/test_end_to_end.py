"""End to end over real SMTP: a resolved chat becomes a recap email that arrives at an SMTP server on loopback
(aiosmtpd), sent by the queue's runner through the email channel's SmtpSender, with the customer's name, the
reference and what was done; planned again, nothing is sent twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

from helpline.channels.email.sender import SmtpSender
from helpline.connectors.smtp_relay import SmtpRelay, SmtpTls
from helpline.outbound.planner import Planner
from helpline.outbound.ports import OutboundChannel
from helpline.outbound.queue import OutboundQueue
from helpline.outbound.runner import OutboundRunner
from tests.conftest import RuntimeFactory
from tests.outbound.conftest import OptOuts
from tests.smtp_inbox import SmtpTestServer

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def _modern(message: Message) -> EmailMessage:
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body((subtype,))
    assert body is not None, f"no {subtype} part"
    return str(body.get_content())


def test_a_resolved_chat_gets_its_recap_by_email(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    runtime.pack.business.outbound.automatic = ["recap", "survey"]
    runtime.pack.business.outbound.delay = "10m"
    service = runtime.conversations
    started = service.start(channel="chat", actor="test")
    service.post(started.id, "cancel order BB-10160 please, I'm aisha.patel@example.com, bought by mistake",
                 actor="test")
    service.post(started.id, "yes", actor="test")
    service.end(started.id, actor="test")
    number = service.ticket_number(started.id)

    with SmtpTestServer() as smtp:
        sender = SmtpSender(SmtpRelay("127.0.0.1", smtp.port, SmtpTls.NONE, sender="care@brightbean.example"),
                            "care@brightbean.example", "Brightbean Coffee Co.")
        clock = {"now": NOW + timedelta(minutes=5)}
        runner = OutboundRunner(runtime.db, {OutboundChannel.EMAIL: sender}, OptOuts(),
                                Planner(runtime.db, runtime.pack), node="test", clock=lambda: clock["now"])
        assert asyncio.run(runner.run_once()).sent == 0  # not before the pack's delay
        clock["now"] = NOW + timedelta(minutes=11)
        assert asyncio.run(runner.run_once()).sent == 2  # the recap and the survey
        assert asyncio.run(runner.run_once()).sent == 0  # planned again: nothing twice

        mail = {m.message["Subject"]: m for m in smtp.inbox.messages}
    recap = next(m for subject, m in mail.items() if "what we did" in subject)
    assert recap.to == ["aisha.patel@example.com"] and str(number) in recap.message["Subject"]
    assert recap.message["Auto-Submitted"] == "auto-generated"
    parsed = _modern(recap.message)
    text = _part(parsed, "plain")
    assert text.startswith("Hi Aisha,") and "We cancelled order BB-10160" in text and str(number) in text
    assert "Started '" not in text and "cancel_order done" not in text
    assert "<li>We cancelled order BB-10160" in _part(parsed, "html")
    survey = next(m for subject, m in mail.items() if "How did we do" in subject)
    assert "number from 1 to 5" in _part(_modern(survey.message), "plain")

    with runtime.db.session() as session:
        counts = OutboundQueue(session).counts()
    assert counts["sent"] == 2 and counts["queued"] == 0
