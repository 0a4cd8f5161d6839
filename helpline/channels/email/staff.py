"""A person's console reply on an email conversation goes out by email, and so does what the agent says outside a
reply to an email (a colleague's answer to a question it asked the team: lines marked `unprompted`).

ConversationService.human_reply stores the reply and publishes "message" on the event bus; this relay listens
(and sweeps every so often, in case a notice was missed) and emails each line not yet sent. Each line is claimed
first, as the SMS relay's are: a send-queue row keyed ``email_line:<conversation>:<seq>``, claimed by the node that
queued it (application/queued_lines.py, store/claims.py), so with several nodes on one Redis bus, every node hears
the notice and exactly one sends.
"""

from __future__ import annotations

import asyncio
import logging

from helpline.application.email_threads import UnsentReply
from helpline.application.queued_lines import QueuedLine
from helpline.application.relay import BusRelay
from helpline.channels.email.channel import EmailChannel
from helpline.outbound.ports import MessagePurpose, OutboundMessage
from helpline.outbound.runner import node_name

log = logging.getLogger(__name__)

ACTOR = "channel:email"


class StaffReplyRelay(BusRelay):
    name = "email-staff-replies"

    def __init__(self, channel: EmailChannel, sweep_seconds: float = 30.0, node: str | None = None):
        super().__init__(channel.service.bus, sweep_seconds)
        self.channel = channel
        self.node = node or node_name()

    def sweep(self) -> list[str]:
        return self.channel.threads.taken_over()

    async def relay(self, conversation_id: str) -> int:
        """Email every console reply of this conversation not yet sent; returns how many were sent."""
        sent = 0
        for queued in await asyncio.to_thread(self._claim_pending, conversation_id):
            result = await self.channel.send_recorded(queued.message)
            await asyncio.to_thread(self.channel.threads.finish_line, queued, result, node=self.node,
                                    now=self.channel.clock(), actor=ACTOR)
            sent += result.delivered
        return sent

    def _claim_pending(self, conversation_id: str) -> list[QueuedLine]:
        return self.channel.threads.queue_unsent_replies(
            conversation_id, now=self.channel.clock(), node=self.node, actor=ACTOR,
            new_message_id=self.channel.new_message_id, write=self._write)

    def _write(self, line: UnsentReply) -> OutboundMessage:
        reply = self.channel.composer.compose_staff(line.text, line.subject, line.ticket_number)
        return self.channel.thread_email(line.conversation_id, line.to, reply, MessagePurpose.STAFF_REPLY,
                                         message_id=line.message_id, in_reply_to=line.in_reply_to,
                                         references=line.references, ticket_number=line.ticket_number)


def relayed_lines(channel: EmailChannel, conversation_id: str) -> list[int]:
    """The transcript lines already emailed (for tests and the console)."""
    return channel.threads.relayed_lines(conversation_id)
