"""`SmsOutbox`: the SMS `MessageSender` everything else uses — opt-outs honoured, every text recorded.

Before a message goes to the provider it asks `ContactPreferences` (a STOPped number gets nothing, replies
included); after, it records the outcome in `sms_deliveries` (the provider's sid, which status callbacks update;
the refusal and its reason when permanent). A provider's "recipient unsubscribed" (21610: the carrier saw STOP)
is recorded as an opt-out too, so later notices are not even attempted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from helpline.application.opt_outs import OptOuts, normalise_address
from helpline.application.sms_deliveries import SentText, SmsDeliveries
from helpline.channels.sms.segments import count_segments
from helpline.channels.sms.twilio import UNSUBSCRIBED_RECIPIENT, error_code
from helpline.outbound.ports import DeliveryResult, MessageSender, OutboundChannel, OutboundMessage

log = logging.getLogger(__name__)

OPTED_OUT_ERROR = "the recipient has opted out of texts (replied STOP)"
ACTOR = "sms"


@dataclass
class SmsOutbox:
    provider: MessageSender
    preferences: OptOuts
    deliveries: SmsDeliveries
    channel: OutboundChannel = OutboundChannel.SMS

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        if message.channel is not OutboundChannel.SMS:
            return DeliveryResult(False, error="not an SMS message", permanent=True)
        to = normalise_address(OutboundChannel.SMS, message.to)
        allowed = await run_in_threadpool(self.preferences.allows, OutboundChannel.SMS, to, message.purpose)
        if not allowed:
            result = DeliveryResult(False, error=OPTED_OUT_ERROR, permanent=True)
            await run_in_threadpool(self._record, message, to, result, "blocked")
            return result
        return await self._deliver(message, to)

    async def send_keyword_reply(self, message: OutboundMessage) -> DeliveryResult:
        """The answer to STOP, START or HELP: sent whatever the opt-out says (the STOP confirmation is the one
        text a number gets after opting out)."""
        return await self._deliver(message, normalise_address(OutboundChannel.SMS, message.to))

    async def _deliver(self, message: OutboundMessage, to: str) -> DeliveryResult:
        result = await self.provider.send(message)
        status = "accepted" if result.delivered else ("rejected" if result.permanent else "failed")
        if not result.delivered and error_code(result) == UNSUBSCRIBED_RECIPIENT:
            # before the delivery is recorded: whoever sees the refusal must find the number opted out, so a
            # notice sent in between is blocked rather than refused by the carrier again
            await run_in_threadpool(self.preferences.opt_out, OutboundChannel.SMS, to, "carrier STOP (21610)", ACTOR)
        await run_in_threadpool(self._record, message, to, result, status)
        return result

    def _record(self, message: OutboundMessage, to: str, result: DeliveryResult, status: str) -> None:
        count = count_segments(message.text)
        try:
            self.deliveries.record(SentText(
                to=to, purpose=message.purpose.value, status=status, provider_id=result.provider_id,
                conversation_id=message.conversation_id, ticket_number=message.ticket_number,
                error=result.error or "", error_code=error_code(result), segments=count.segments,
                encoding=count.encoding.value))
        except Exception:  # the text went (or not) either way: a bookkeeping failure must not undo that
            log.exception("could not record an SMS delivery (sid %s)", result.provider_id)
