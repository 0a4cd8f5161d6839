"""Which conversation a number's texts continue (``sms_threads``), and the lines of an SMS conversation said outside
a reply to a text that still have to be texted, as the SMS channel needs them without reaching into the store.

A number's texts continue its open conversation; once that has ended, the next text starts a new one. Two texts
from one number arriving at once on two nodes may both start a conversation: ``attach`` keeps the first and tells
the other which one the number's texts go to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from helpline.application.queued_lines import QueuedLine, finish_line, line_key, line_queued, queue_line
from helpline.application.views import STAFF_ONLY, UNPROMPTED
from helpline.outbound.ports import DeliveryResult, MessagePurpose, OutboundChannel, OutboundMessage
from helpline.outbound.queue import RetryPolicy
from helpline.store.db import Database
from helpline.store.models import Conversation, Message, SmsThread, Ticket
from helpline.store.sms import SmsThreadRepository

LINE_KEY_PREFIX = "sms_line"  # the send queue's key of a line: sms_line:<conversation>:<seq>
# Lines older than this are not texted: a node starting on an old database must not send yesterday's history.
RELAY_WINDOW = timedelta(hours=1)
LINES_LOOKED_AT = 50  # the latest lines of a conversation a pass considers
ACTIVE_LISTED = 500  # the open SMS conversations one sweep looks at


@dataclass(frozen=True)
class LineToText:
    """A line said outside a reply: a person's (``human``) or the agent's unprompted one."""

    seq: int
    text: str
    by_person: bool


def said_outside_a_reply(role: str, meta: dict[str, object] | None) -> bool:
    """A person's reply, or an agent line marked unprompted; never a staff-only line."""
    meta = meta or {}
    if meta.get("visibility") == STAFF_ONLY["visibility"]:
        return False
    return role == "human" or bool(meta.get(UNPROMPTED))


@dataclass(frozen=True)
class SmsThreads:
    db: Database

    def open_conversation(self, phone: str) -> str | None:
        """The number's conversation if it is still open."""
        with self.db.read_session() as session:
            return SmsThreadRepository(session).open_conversation(phone)

    def attach(self, phone: str, conversation_id: str) -> str:
        """Make ``conversation_id`` the number's conversation, unless another process attached an open one first:
        the conversation the number's texts go to."""
        with self.db.session() as session:
            return SmsThreadRepository(session).attach(phone, conversation_id)

    def active_conversations(self) -> list[str]:
        """Open SMS conversations (a sweep looks at each in case a bus notice was missed)."""
        with self.db.read_session() as session:
            return list(session.scalars(select(Conversation.id).where(
                Conversation.channel == "sms", Conversation.status == "active").limit(ACTIVE_LISTED)))

    def queue_unsent_lines(self, conversation_id: str, *, now: datetime, node: str, actor: str,
                           word: Callable[[LineToText], str]) -> list[QueuedLine]:
        """Queue each recent line said outside a reply that is not queued yet (worded by ``word``: what one text
        carries) and claim it for ``node``; the lines this node should text now. Another node that queued a line
        first sends it."""
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
            lines = [m for m in reversed(recent) if said_outside_a_reply(m.role, m.meta)]
            if not lines:
                return []
            ticket_id = session.scalar(select(Ticket.id).where(Ticket.conversation_id == conversation_id))
            queued: list[QueuedLine] = []
            for line in lines:
                key = line_key(LINE_KEY_PREFIX, conversation_id, line.seq)
                if line_queued(session, key):
                    continue
                human = line.role == "human"
                message = OutboundMessage(OutboundChannel.SMS, phone, word(LineToText(line.seq, line.text, human)),
                                          purpose=MessagePurpose.STAFF_REPLY if human else MessagePurpose.REPLY,
                                          conversation_id=conversation_id)
                claimed = queue_line(session, message, line.seq, key=key, node=node, now=now, actor=actor,
                                     ticket_id=ticket_id, customer_id=conversation.customer_id)
                if claimed is not None:
                    queued.append(claimed)
            return queued

    def finish_line(self, queued: QueuedLine, result: DeliveryResult, *, node: str, now: datetime,
                    policy: RetryPolicy, actor: str, blocked: bool) -> None:
        """The text's outcome on its queue row (``blocked``: the number opted out; kept as blocked, like the send
        queue's runner does)."""
        finish_line(self.db, queued.row_id, result, node=node, now=now, policy=policy, actor=actor, blocked=blocked)
