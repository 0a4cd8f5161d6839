"""A person's console reply on an email conversation goes out by email, and so does what the agent says outside a
reply to an email (a colleague's answer to a question it asked the team: lines marked `unprompted`).

ConversationService.human_reply stores the reply and publishes "message" on the event bus; this relay listens
(and sweeps every so often, in case a notice was missed) and emails each human line not yet sent. Each line is
claimed first (email_messages' unique conversation + transcript line): with several nodes on one Redis bus,
every node hears the notice and exactly one sends.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select

from helpline.application.conversations import UNPROMPTED
from helpline.application.relay import BusRelay
from helpline.channels.email.channel import EmailChannel
from helpline.channels.email.threads import EmailThreads
from helpline.outbound.ports import MessagePurpose
from helpline.store.models import Conversation, EmailRecord, Message, Ticket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _PendingReply:
    conversation_id: str
    seq: int
    text: str
    to: str
    subject: str
    in_reply_to: str | None
    references: list[str]
    ticket_number: int | None
    message_id: str


class StaffReplyRelay(BusRelay):
    name = "email-staff-replies"

    def __init__(self, channel: EmailChannel, sweep_seconds: float = 30.0):
        super().__init__(channel.service.bus, sweep_seconds)
        self.channel = channel

    def sweep(self) -> list[str]:
        return self._taken_over()

    def _taken_over(self) -> list[str]:
        with self.channel.service.db.read_session() as session:
            return list(session.scalars(select(Conversation.id).where(
                Conversation.channel == "email", Conversation.status == "active",
                Conversation.handled_by.is_not(None))))

    async def relay(self, conversation_id: str) -> int:
        """Email every console reply of this conversation not yet sent; returns how many were sent."""
        sent = 0
        for pending in await asyncio.to_thread(self._claim_pending, conversation_id):
            reply = self.channel.composer.compose_staff(pending.text, pending.subject, pending.ticket_number)
            _, delivered = await self.channel.deliver(
                conversation_id, pending.to, reply, MessagePurpose.STAFF_REPLY, in_reply_to=pending.in_reply_to,
                references=pending.references, ticket_number=pending.ticket_number, source_seq=pending.seq,
                message_id=pending.message_id)
            sent += delivered
        return sent

    def _claim_pending(self, conversation_id: str) -> list[_PendingReply]:
        now = self.channel.clock()
        with self.channel.service.db.session() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.channel != "email":
                return []
            threads = EmailThreads(session)
            after = threads.last_relayed_seq(conversation_id)
            lines = [m for m in session.scalars(select(Message).where(
                Message.conversation_id == conversation_id, Message.role.in_(("human", "agent")), Message.seq > after)
                .order_by(Message.seq)) if m.role == "human" or (m.meta or {}).get(UNPROMPTED)]
            if not lines:
                return []
            thread = threads.thread_of(conversation_id)
            inbound = [r for r in thread if r.direction == "in"]
            if not inbound:
                return []
            ticket = session.scalar(select(Ticket.number).where(Ticket.conversation_id == conversation_id))
            ids = [r.message_id for r in thread]
            claimed = []
            for line in lines:
                message_id = self.channel.new_message_id()
                if not threads.claim(conversation_id, line.seq, message_id, inbound[-1].address, inbound[0].subject,
                                     now):
                    continue
                claimed.append(_PendingReply(conversation_id, line.seq, line.text, inbound[-1].address,
                                             inbound[0].subject, inbound[-1].message_id, ids, ticket, message_id))
                ids.append(message_id)
            return claimed


def relayed_lines(channel: EmailChannel, conversation_id: str) -> list[int]:
    """The transcript lines already emailed (for tests and the console)."""
    with channel.service.db.read_session() as session:
        return [s for s in session.scalars(select(EmailRecord.source_seq).where(
            EmailRecord.conversation_id == conversation_id, EmailRecord.source_seq.is_not(None))) if s is not None]
