"""`SmsChannel`: a text in, the conversation continued, one reply out (worded to fit), keywords honoured.

A number's texts continue its open conversation (`sms_threads`); once that has ended, the next text starts a
new one. The number is passed to the conversation as a contact (a number to call back, as a caller's is) and
as the client for verification limits, never as proof: the pack's verification methods and assurance levels
apply as on every channel (a change that needs a one-time code gets one by SMS or email via `CodeSender`).
A score ("5", "4 - quick") from a number with no open conversation that a survey went to in the last week is
the survey's answer: stored on its ticket and thanked (outbound/surveys.py), not a new conversation.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from enum import StrEnum

from starlette.concurrency import run_in_threadpool

from helpline.application.conversations import ConversationClosed, ConversationService
from helpline.application.opt_outs import OptOuts, sms_address
from helpline.application.sms_threads import SmsThreads
from helpline.channels.sms.keywords import (
    START_CONFIRMATION,
    STOP_CONFIRMATION,
    Keyword,
    help_reply,
    keyword_of,
)
from helpline.channels.sms.outbox import ACTOR, SmsOutbox
from helpline.channels.sms.wording import SmsText, fit_reply
from helpline.conversation.ports import ClientIdentity, ClientKind
from helpline.outbound.ports import DeliveryResult, MessagePurpose, OutboundChannel, OutboundMessage
from helpline.outbound.surveys import SurveyReplies, thanks
from helpline.pack.expressions import mask

log = logging.getLogger(__name__)

MAX_SMS_CHARS = 1600  # the most a concatenated SMS carries; anything longer is not a text message
NO_TEXT_REPLY = "Sorry, I can only read text. Please type your question."
# Control characters no phone sends and no database column should keep (PostgreSQL refuses NUL in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
UNDELIVERED_STATUSES = frozenset({"failed", "undelivered"})


class InvalidSms(ValueError):
    """The webhook's fields do not make a text message (no sender)."""


@dataclass(frozen=True)
class InboundSms:
    sender: str  # the customer's number as the provider gave it ("From")
    body: str
    to: str = ""  # our number
    provider_id: str | None = None  # the provider's message sid


class ReplyKind(StrEnum):
    ANSWER = "answer"  # the agent's reply: sent only to a number that has not opted out
    KEYWORD = "keyword"  # the carrier-style answer to STOP / START / HELP: always sent


@dataclass(frozen=True)
class InboundOutcome:
    phone: str
    conversation_id: str | None
    reply: SmsText | None
    kind: ReplyKind
    keyword: Keyword | None = None
    ticket_number: int | None = None


def clean_body(text: str) -> str:
    return _CONTROL.sub("", text).strip()[:MAX_SMS_CHARS]


class SmsChannel:
    def __init__(self, conversations: ConversationService, outbox: SmsOutbox, preferences: OptOuts,
                 threads: SmsThreads, business: str, max_segments: int = 2, region: str | None = None,
                 surveys: SurveyReplies | None = None):
        self.conversations = conversations
        self.surveys = surveys
        self.outbox = outbox
        self.preferences = preferences
        self.threads = threads
        self.business = business
        self.max_segments = max_segments
        self.region = region

    def phone_of(self, sender: str) -> str:
        """The sender in E.164 where it parses (a national number in the business's region too); a short code
        or an alphanumeric sender stays as given."""
        sender = clean_body(sender)[:32]
        if not sender:
            raise InvalidSms("the message has no sender (From)")
        return sms_address(sender, self.region)

    # --- inbound (synchronous: runs in a worker thread) ------------------------------------------

    def receive(self, message: InboundSms) -> InboundOutcome:
        phone = self.phone_of(message.sender)
        body = clean_body(message.body)
        found = keyword_of(body, self.preferences.opted_out(OutboundChannel.SMS, phone))
        if found is not None:
            return self._keyword(phone, *found)
        if not body:
            return InboundOutcome(phone, None, fit_reply(NO_TEXT_REPLY, self.max_segments), ReplyKind.ANSWER)
        surveyed = self._survey_answer(phone, body)
        if surveyed is not None:
            return surveyed
        conversation_id, replies = self._converse(phone, body)
        reply = fit_reply(replies, self.max_segments) if replies else None
        return InboundOutcome(phone, conversation_id, reply, ReplyKind.ANSWER,
                              ticket_number=self.conversations.ticket_number(conversation_id))

    def _survey_answer(self, phone: str, body: str) -> InboundOutcome | None:
        """The text as the answer to a survey sent to this number, if it is one (see the module's docstring)."""
        if self.surveys is None:
            return None
        if self.threads.open_conversation(phone) is not None:
            return None  # a conversation is going on: "5" answers the agent
        answer = self.surveys.take(OutboundChannel.SMS, phone, body, actor=f"customer:sms:{mask(phone, 'phone')}")
        if answer is None:
            return None
        log.info("SMS survey answer %d for ticket %d", answer.score, answer.ticket_number)
        return InboundOutcome(phone, answer.conversation_id, fit_reply(thanks(answer), self.max_segments),
                              ReplyKind.ANSWER, ticket_number=answer.ticket_number)

    def _keyword(self, phone: str, keyword: Keyword, word: str) -> InboundOutcome:
        actor = f"customer:sms:{mask(phone, 'phone')}"
        if keyword is Keyword.OPT_OUT:
            self.preferences.opt_out(OutboundChannel.SMS, phone, word, actor)
            text = STOP_CONFIRMATION
        elif keyword is Keyword.OPT_IN:
            self.preferences.opt_in(OutboundChannel.SMS, phone, word, actor)
            text = START_CONFIRMATION
        else:
            text = help_reply(self.business)
        log.info("SMS keyword %s from %s", word, mask(phone, "phone"))
        return InboundOutcome(phone, None, fit_reply(text, self.max_segments), ReplyKind.KEYWORD, keyword)

    def _converse(self, phone: str, body: str) -> tuple[str, list[str]]:
        """Continue the number's open conversation with `body` (or start one); the turn's replies."""
        for _ in range(2):  # once more if the conversation ended between finding it and posting to it
            conversation_id = self._open_conversation(phone)
            try:
                view = self.conversations.post(conversation_id, body, actor=f"sms:{mask(phone, 'phone')}")
            except ConversationClosed:
                continue
            return conversation_id, view.replies
        raise ConversationClosed(phone)

    def _open_conversation(self, phone: str) -> str:
        existing = self.threads.open_conversation(phone)
        if existing is not None:
            return existing
        contact = {"phone": phone} if phone.startswith("+") else None  # a number to call back
        # The greeting is not texted: the customer's first message already says what they want.
        view = self.conversations.start("sms", actor=f"sms:{mask(phone, 'phone')}", contact=contact,
                                        clients=(ClientIdentity(ClientKind.CALLER, phone),))
        attached = self.threads.attach(phone, view.id)
        if attached != view.id:  # another process started one for this number at the same moment
            self.conversations.end(view.id, actor="sms", reason="duplicate SMS thread")
        return attached

    # --- outbound ---------------------------------------------------------------------------------

    async def deliver(self, outcome: InboundOutcome) -> DeliveryResult | None:
        """Send the outcome's reply (after the webhook has been answered)."""
        if outcome.reply is None:
            return None
        message = OutboundMessage(OutboundChannel.SMS, outcome.phone, outcome.reply.text,
                                  purpose=MessagePurpose.REPLY, conversation_id=outcome.conversation_id,
                                  ticket_number=outcome.ticket_number)
        if outcome.kind is ReplyKind.KEYWORD:
            return await self.outbox.send_keyword_reply(message)
        result = await self.outbox.send(message)
        if not result.delivered and outcome.conversation_id is not None:
            await run_in_threadpool(self._note_on_conversation, outcome.conversation_id,
                                    f"SMS reply not delivered: {result.error}")
        return result

    def status_update(self, provider_id: str, status: str, error_code: str | None) -> bool:
        """A provider's delivery status callback; False when the message is not one of ours."""
        status = clean_body(status).lower()[:20] or "unknown"
        error_code = clean_body(error_code or "")[:16] or None
        updated = self.outbox.deliveries.update_status(provider_id, status, error_code)
        if updated is None:
            return False
        to, conversation_id = updated.to, updated.conversation_id
        if error_code == "21610":
            self.preferences.opt_out(OutboundChannel.SMS, to, "carrier STOP (21610)", ACTOR)
        if status in UNDELIVERED_STATUSES and conversation_id is not None:
            self._note_on_conversation(conversation_id, f"SMS reply {status}" +
                                       (f" (provider error {error_code})" if error_code else ""))
        return True

    def _note_on_conversation(self, conversation_id: str, text: str) -> None:
        """A staff-only line on the conversation, so whoever reads it knows the customer did not get a reply."""
        # ended or erased since: the delivery record keeps it
        with contextlib.suppress(ConversationClosed, LookupError):
            self.conversations.whisper(conversation_id, by=ACTOR, text=text, actor=ACTOR)
