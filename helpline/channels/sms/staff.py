"""What is said on an SMS conversation outside a reply to a text goes out by SMS: a person's console reply, and
the agent's lines marked `unprompted` (a colleague's answer to a team question relayed by team/questions.py, a
wait that ran out). Replies to the customer's own texts are sent by the webhook (service.py), not here.

Like channels/email/staff.py it listens on the event bus (and sweeps every so often, in case a notice was
missed). Each line becomes a row of the durable send queue under the key ``sms_line:<conversation>:<seq>``: the
unique key makes exactly one node take it when several hear the same notice, and the queue gives it retries,
opt-out checks and a place in the console's Outbound page. The node that queued it sends it at once; a
temporary failure is retried by the queue's runner.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from helpline.application.conversations import STAFF_ONLY, UNPROMPTED
from helpline.application.relay import BusRelay
from helpline.channels.sms.outbox import OPTED_OUT_ERROR
from helpline.channels.sms.service import MAX_SMS_CHARS, SmsChannel
from helpline.channels.sms.wording import fit_reply
from helpline.outbound.ports import DeliveryResult, MessagePurpose, OutboundChannel, OutboundMessage
from helpline.outbound.queue import OutboundQueue, RetryPolicy, message_of
from helpline.outbound.runner import node_name
from helpline.store.db import Database
from helpline.store.models import Conversation, Message, SmsThread, Ticket

log = logging.getLogger(__name__)

ACTOR = "channel:sms"
KEY_PREFIX = "sms_line"
# Lines older than this are not texted: a node starting on an old database must not send yesterday's history.
RELAY_WINDOW = timedelta(hours=1)
LINES_LOOKED_AT = 50  # the latest lines of a conversation a pass considers


def line_key(conversation_id: str, seq: int) -> str:
    return f"{KEY_PREFIX}:{conversation_id}:{seq}"


@dataclass(frozen=True)
class _Queued:
    row_id: str
    message: OutboundMessage


class SmsStaffRelay(BusRelay):
    name = "sms-staff-lines"
    kinds = ("message", "ended")

    def __init__(self, channel: SmsChannel, sweep_seconds: float = 30.0, node: str | None = None,
                 policy: RetryPolicy | None = None):
        super().__init__(channel.conversations.bus, sweep_seconds)
        self.channel = channel
        self.node = node or node_name()
        self.policy = policy or RetryPolicy()

    @property
    def db(self) -> Database:
        return self.channel.db

    def sweep(self) -> list[str]:
        return self._active()

    def _active(self) -> list[str]:
        with self.db.read_session() as session:
            return list(session.scalars(select(Conversation.id).where(
                Conversation.channel == "sms", Conversation.status == "active").limit(500)))

    async def relay(self, conversation_id: str) -> int:
        """Text every line of this conversation said outside a reply and not yet texted; how many were sent."""
        sent = 0
        for queued in await asyncio.to_thread(self._queue_pending, conversation_id):
            sent += await self._send(queued)
        return sent

    def _queue_pending(self, conversation_id: str) -> list[_Queued]:
        now = self.channel.conversations.clock()
        with self.db.session() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.channel != "sms":
                return []
            phone = session.scalar(select(SmsThread.phone).where(SmsThread.conversation_id == conversation_id))
            if phone is None:
                return []
            recent = list(session.scalars(select(Message).where(
                Message.conversation_id == conversation_id, Message.role.in_(("human", "agent")),
                Message.created_at >= now - RELAY_WINDOW).order_by(Message.seq.desc()).limit(LINES_LOOKED_AT)))
            lines = [m for m in reversed(recent) if _said_outside_a_reply(m)]
            if not lines:
                return []
            ticket_id = session.scalar(select(Ticket.id).where(Ticket.conversation_id == conversation_id))
            queue = OutboundQueue(session)
            queued: list[_Queued] = []
            for line in lines:
                key = line_key(conversation_id, line.seq)
                if queue.exists(key):
                    continue
                human = line.role == "human"
                # a person's words go as written (up to what one SMS can carry); the agent's are fitted
                text = (line.text.strip()[:MAX_SMS_CHARS] if human
                        else fit_reply(line.text, self.channel.max_segments).text)
                message = OutboundMessage(OutboundChannel.SMS, phone, text,
                                          purpose=MessagePurpose.STAFF_REPLY if human else MessagePurpose.REPLY,
                                          conversation_id=conversation_id)
                record = queue.enqueue(message, dedupe_key=key, actor=ACTOR, now=now, ticket_id=ticket_id,
                                       customer_id=conversation.customer_id)
                if record is None:
                    continue  # another node queued it first: it sends it
                if queue.claim_queued(record.id, node=self.node, now=now):
                    queued.append(_Queued(record.id, message_of(record)))
            return queued

    async def _send(self, queued: _Queued) -> int:
        """Through the outbox (opt-outs honoured, the delivery recorded), then the result on the queue's row."""
        result = await self.channel.outbox.send(queued.message)
        await asyncio.to_thread(self._finish, queued.row_id, result)
        return int(result.delivered)

    def _finish(self, row_id: str, result: DeliveryResult) -> None:
        now: datetime = self.channel.conversations.clock()
        with self.db.session() as session:
            queue = OutboundQueue(session)
            if not result.delivered and result.error == OPTED_OUT_ERROR:  # kept as blocked, like the runner does
                queue.block(row_id, result.error, node=self.node, now=now, actor=ACTOR)
            else:
                queue.finish(row_id, result, node=self.node, now=now, policy=self.policy, actor=ACTOR)


def _said_outside_a_reply(message: Message) -> bool:
    meta = message.meta or {}
    if meta.get("visibility") == STAFF_ONLY["visibility"]:
        return False
    return message.role == "human" or bool(meta.get(UNPROMPTED))
