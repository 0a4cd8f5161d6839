"""A texted survey answer end to end (Twilio double on loopback): the survey goes out through the send queue and
the SMS outbox, the customer's "4 - quick" is stored on the surveyed ticket and thanked, not a new conversation;
a "5" while a conversation is open answers the agent."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from helpline.outbound.ports import MessagePurpose, OutboundChannel, OutboundMessage
from helpline.outbound.queue import OutboundQueue
from helpline.outbound.runner import OutboundRunner
from helpline.store.models import Conversation, Message, Ticket
from helpline.store.opt_outs import StoredContactPreferences
from tests.channels.sms.conftest import CUSTOMER, NOW, SmsServer

DESCALE = "How do I descale my espresso machine?"


def _conversation_count(server: SmsServer) -> int:
    with server.runtime.db.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(Conversation)) or 0)


def _csat(server: SmsServer, ticket_number: int) -> int | None:
    with server.runtime.db.read_session() as session:
        return session.scalar(select(Ticket.csat).where(Ticket.number == ticket_number))


def _surveyed_contact(server: SmsServer) -> tuple[str, int]:
    """A text conversation that ended, and the survey about it sent through the queue and the outbox."""
    assert server.text(DESCALE).status_code == 200
    server.double.wait_for_messages(1)
    with server.runtime.db.read_session() as session:
        conversation_id = session.scalars(select(Conversation.id)).one()
    server.runtime.conversations.end(conversation_id)
    with server.runtime.db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)).one()
        ticket.status = "resolved"
        OutboundQueue(session).enqueue(
            OutboundMessage(OutboundChannel.SMS, CUSTOMER, "How did we do? Reply with a number from 1 to 5.",
                            purpose=MessagePurpose.SURVEY, conversation_id=conversation_id),
            dedupe_key=f"survey:{ticket.id}", actor="test", now=NOW, ticket_id=ticket.id)
        number = ticket.number
    runner = OutboundRunner(server.runtime.db, {OutboundChannel.SMS: server.channel.outbox},
                            StoredContactPreferences(server.runtime.db), node="test",
                            clock=lambda: NOW + timedelta(minutes=1))
    assert asyncio.run(runner.run_once()).sent == 1
    assert "How did we do" in server.double.wait_for_messages(2)[1].body
    return conversation_id, number


def test_a_texted_score_is_stored_on_the_surveyed_ticket_and_thanked(sms_server: SmsServer) -> None:
    conversation_id, number = _surveyed_contact(sms_server)
    conversations = _conversation_count(sms_server)
    assert sms_server.text("4 - quick and friendly").status_code == 200
    thanks = sms_server.double.wait_for_messages(3)[2]
    assert thanks.to == CUSTOMER and "4 out of 5" in thanks.body and f"#{number}" in thanks.body
    assert _csat(sms_server, number) == 4
    assert _conversation_count(sms_server) == conversations  # not a new conversation
    with sms_server.runtime.db.read_session() as session:  # nor a line of the ended one
        said = list(session.scalars(select(Message.text).where(Message.conversation_id == conversation_id,
                                                                Message.role == "customer")))
    assert said == [DESCALE]
    # a second answer: thanked, the first one counts
    sms_server.text("1")
    again = sms_server.double.wait_for_messages(4)[3]
    assert "already have your rating" in again.body and _csat(sms_server, number) == 4


def test_a_score_in_an_open_conversation_answers_the_agent(sms_server: SmsServer) -> None:
    _, number = _surveyed_contact(sms_server)
    sms_server.text("Where is my order BB-10166?")  # a new conversation starts
    sms_server.double.wait_for_messages(3)
    conversations = _conversation_count(sms_server)
    sms_server.text("5")
    reply = sms_server.double.wait_for_messages(4)[3]
    assert "out of 5" not in reply.body
    assert _csat(sms_server, number) is None and _conversation_count(sms_server) == conversations
    with sms_server.runtime.db.read_session() as session:
        assert "5" in set(session.scalars(select(Message.text).where(Message.role == "customer")))


def test_a_score_from_a_number_no_survey_went_to_starts_a_conversation(sms_server: SmsServer) -> None:
    sms_server.text("5")
    sms_server.double.wait_for_messages(1)
    assert _conversation_count(sms_server) == 1
