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
from datetime import datetime

from helpline.application.queued_lines import QueuedLine
from helpline.application.queued_lines import line_key as queue_line_key
from helpline.application.relay import BusRelay
from helpline.application.sms_threads import LINE_KEY_PREFIX, LineToText
from helpline.channels.sms.outbox import OPTED_OUT_ERROR
from helpline.channels.sms.service import MAX_SMS_CHARS, SmsChannel
from helpline.channels.sms.wording import fit_reply
from helpline.outbound.queue import RetryPolicy
from helpline.outbound.runner import node_name

log = logging.getLogger(__name__)

ACTOR = "channel:sms"


def line_key(conversation_id: str, seq: int) -> str:
    return queue_line_key(LINE_KEY_PREFIX, conversation_id, seq)


class SmsStaffRelay(BusRelay):
    name = "sms-staff-lines"
    kinds = ("message", "ended")

    def __init__(self, channel: SmsChannel, sweep_seconds: float = 30.0, node: str | None = None,
                 policy: RetryPolicy | None = None):
        super().__init__(channel.conversations.bus, sweep_seconds)
        self.channel = channel
        self.node = node or node_name()
        self.policy = policy or RetryPolicy()

    def sweep(self) -> list[str]:
        return self.channel.threads.active_conversations()

    async def relay(self, conversation_id: str) -> int:
        """Text every line of this conversation said outside a reply and not yet texted; how many were sent."""
        sent = 0
        for queued in await asyncio.to_thread(self._queue_pending, conversation_id):
            sent += await self._send(queued)
        return sent

    def _queue_pending(self, conversation_id: str) -> list[QueuedLine]:
        return self.channel.threads.queue_unsent_lines(conversation_id, now=self.channel.conversations.clock(),
                                                       node=self.node, actor=ACTOR, word=self._word)

    def _word(self, line: LineToText) -> str:
        # a person's words go as written (up to what one SMS can carry); the agent's are fitted
        return line.text.strip()[:MAX_SMS_CHARS] if line.by_person else fit_reply(line.text,
                                                                                  self.channel.max_segments).text

    async def _send(self, queued: QueuedLine) -> int:
        """Through the outbox (opt-outs honoured, the delivery recorded), then the result on the queue's row."""
        result = await self.channel.outbox.send(queued.message)
        now: datetime = self.channel.conversations.clock()
        # a number that sent STOP: kept as blocked, like the send queue's runner does
        await asyncio.to_thread(self.channel.threads.finish_line, queued, result, node=self.node, now=now,
                                policy=self.policy, actor=ACTOR, blocked=result.error == OPTED_OUT_ERROR)
        return int(result.delivered)
