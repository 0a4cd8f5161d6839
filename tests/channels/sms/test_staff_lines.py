"""What is said on an SMS conversation outside a reply is texted (Twilio double on loopback): a person's console
reply and the agent's unprompted lines (a colleague's answer relayed), each once even when two nodes hear the
notice, never to a number that sent STOP, and nothing said to the staff only."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from helpline.channels.sms.staff import SmsStaffRelay, line_key
from helpline.conversation.events import TurnResult
from helpline.conversation.state import ConversationState
from helpline.conversation.turn import TurnContext
from helpline.store.models import Conversation, Message, OutboundMessageRecord
from tests.channels.sms.conftest import CUSTOMER, SmsServer, eventually

DESCALE = "How do I descale my espresso machine?"
ANA = "ana@brightbean.example"


def _conversation(server: SmsServer) -> str:
    assert server.text(DESCALE).status_code == 200
    server.double.wait_for_messages(1)
    with server.runtime.db.read_session() as session:
        return session.scalars(select(Conversation.id)).one()


def _queued(server: SmsServer) -> list[tuple[str, str, str]]:
    with server.runtime.db.read_session() as session:
        return [(r.dedupe_key, r.purpose, r.status) for r in session.scalars(
            select(OutboundMessageRecord).order_by(OutboundMessageRecord.created_at))]


def test_a_console_reply_is_texted_once_even_with_two_nodes(sms_server: SmsServer) -> None:
    conversation_id = _conversation(sms_server)
    service = sms_server.runtime.conversations
    service.take_over(conversation_id, by=ANA, display_name="Ana", actor="console:ana")
    service.whisper(conversation_id, by=ANA, text="she sounds in a hurry", actor="console:ana")
    service.human_reply(conversation_id, by=ANA, display_name="Ana",
                        text="Hi, Ana here: I've added a free descaler to your next order.", actor="console:ana")
    texted = sms_server.double.wait_for_messages(2)[1]
    assert texted.to == CUSTOMER and "free descaler" in texted.body
    # another node hears the same notice: the line is already taken
    other = SmsStaffRelay(sms_server.channel, node="node-b")
    assert asyncio.run(other.relay(conversation_id)) == 0
    assert eventually(lambda: _queued(sms_server) != [] and _queued(sms_server)[0][2] == "sent")
    with sms_server.runtime.db.read_session() as session:
        human_seq = session.scalars(select(Message.seq).where(Message.conversation_id == conversation_id,
                                                              Message.role == "human")).one()
    keys = _queued(sms_server)
    assert len(keys) == 1 and keys[0][:2] == (line_key(conversation_id, human_seq), "staff_reply")
    assert sms_server.double.requests == 2  # the answer to the text, the console reply; not the whisper


def test_an_unprompted_line_is_texted_and_a_stopped_number_gets_nothing(sms_server: SmsServer) -> None:
    conversation_id = _conversation(sms_server)

    def colleague_answered(state: ConversationState, context: TurnContext) -> TurnResult:
        return TurnResult(replies=["A colleague says the descaler is in the box with the machine."])

    sms_server.runtime.conversations.engine_input(conversation_id, colleague_answered)
    texted = sms_server.double.wait_for_messages(2)[1]
    assert "descaler is in the box" in texted.body
    sms_server.text("STOP")
    sms_server.double.wait_for_messages(3)
    sms_server.runtime.conversations.engine_input(conversation_id, colleague_answered)
    assert eventually(lambda: any(status == "blocked" for _, _, status in _queued(sms_server)))
    assert sms_server.double.requests == 3  # the STOP confirmation was the last text
