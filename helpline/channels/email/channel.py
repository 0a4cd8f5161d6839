"""The email channel: one inbound email in, at most one reply out, everything kept with the conversation.

  parse (parsing.py) → a bounce about one of our replies is recorded on its ticket → noise gets no answer
  (safety.py) → a repeat delivery is dropped → the thread finds its conversation (application/email_threads.py)
  or a new one starts, the sender's address given as a contact (an identity hint, not proof: changes still need the
  pack's assurance, a one-time code) → attachments kept with the ticket → each request in the email is
  posted to the conversation in turn → one reply joins the answers (reply.py) → sent (sender.py), its
  Message-ID, status and any failure recorded. A score ("5", "4 - quick") that continues no open thread, from an
  address a survey went to in the last week, is the survey's answer: stored on its ticket and thanked.

The conversation's database work is synchronous (ConversationService); it runs in a worker thread so the
SMTP listener and the IMAP poller stay responsive. Emails from one sender are taken one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import make_msgid
from enum import StrEnum

from sqlalchemy.exc import IntegrityError

from helpline.application.conversations import ConversationClosed, ConversationService
from helpline.application.email_threads import EmailConversations, plain_subject
from helpline.channels.email.attachments import AttachmentStore, KeptAttachment
from helpline.channels.email.parsing import InboundEmail, UnreadableEmail, parse_email
from helpline.channels.email.reply import ComposedReply, ReplyComposer, first_name
from helpline.channels.email.safety import Noise, SenderRateLimit, noise
from helpline.channels.email.splitting import split_requests
from helpline.conversation.ports import ClientIdentity, ClientKind
from helpline.outbound.ports import DeliveryResult, MessagePurpose, MessageSender, OutboundChannel, OutboundMessage
from helpline.outbound.surveys import SurveyAnswer, SurveyReplies, thanks
from helpline.pack.expressions import mask

log = logging.getLogger(__name__)

ACTOR = "channel:email"
REFERENCES_KEPT = 10  # the thread's Message-IDs repeated in References (the first and the latest ones)
GENERIC_SUBJECTS = frozenset({"", "question", "help", "hi", "hello", "support", "inquiry", "enquiry", "request",
                              "no subject", "(no subject)", "query", "issue", "problem"})
UNDELIVERED_FLAG = "email_undelivered"
_DIAGNOSTIC = re.compile(r"^(Status|Diagnostic-Code|Action):\s*(.+)$", re.M | re.I)


class Outcome(StrEnum):
    ANSWERED = "answered"
    STORED = "stored"  # kept in the conversation; nothing to say now (a person has it)
    NOISE = "noise"  # an auto-reply, list mail, ourselves: no answer
    BOUNCE = "bounce"
    DUPLICATE = "duplicate"
    RATE_LIMITED = "rate limited"
    SURVEY_ANSWER = "survey answer"  # stored on the surveyed ticket, thanked
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Handled:
    outcome: Outcome
    conversation_id: str | None = None
    detail: str = ""
    reply_message_id: str | None = None
    delivered: bool = False


@dataclass
class _TakenIn:
    conversation_id: str
    ticket_number: int | None
    answers: list[list[str]] = field(default_factory=list)
    handled_by_person: bool = False
    escalated: bool = False
    references: list[str] = field(default_factory=list)


class EmailChannel:
    def __init__(self, service: ConversationService, sender: MessageSender, composer: ReplyComposer,
                 address: str, attachments: AttachmentStore | None = None,
                 rate_limit: SenderRateLimit | None = None, own_addresses: tuple[str, ...] = (),
                 surveys: SurveyReplies | None = None):
        self.service = service
        self.sender = sender
        self.composer = composer
        self.address = address.lower()
        self.own_addresses = tuple({self.address, *(a.lower() for a in own_addresses)})
        self.attachments = attachments
        self.rate_limit = rate_limit or SenderRateLimit(limit=10)
        self.surveys = surveys
        self.threads = EmailConversations(service.db, service.turn_wait_seconds)
        self._sender_locks: dict[str, asyncio.Lock] = {}

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.service.clock

    def new_message_id(self) -> str:
        return make_msgid(domain=self.address.rpartition("@")[2] or "helpline.invalid")

    # --- inbound ------------------------------------------------------------------------------

    async def receive(self, raw: bytes, envelope_sender: str | None = None) -> Handled:
        """Handle one email as received (SMTP DATA or an IMAP fetch). Raises only for a failure of our own
        (the database): the SMTP listener then answers 451 and the sender's server tries again."""
        try:
            email = parse_email(raw)
        except UnreadableEmail as exc:
            return Handled(Outcome.UNREADABLE, detail=str(exc))
        reason = noise(email, self.own_addresses, envelope_sender)
        if reason is Noise.BOUNCE:
            conversation_id = await asyncio.to_thread(self._record_bounce, email, raw)
            return Handled(Outcome.BOUNCE, conversation_id, detail="delivery report")
        if reason is not None:
            log.info("email from %s not answered: %s", mask(email.sender, "email"), reason.value)
            return Handled(Outcome.NOISE, detail=reason.value)
        lock = self._sender_locks.setdefault(email.sender, asyncio.Lock())
        async with lock:
            try:
                return await self._answer(email)
            finally:
                if not lock.locked() and len(self._sender_locks) > 1000:
                    self._sender_locks.pop(email.sender, None)

    async def _answer(self, email: InboundEmail) -> Handled:
        if await asyncio.to_thread(self._seen, email.message_id):
            return Handled(Outcome.DUPLICATE, detail=email.message_id)
        if not self.rate_limit.allow(email.sender):
            log.warning("email from %s not answered: more than %d this hour", mask(email.sender, "email"),
                        self.rate_limit.limit)
            return Handled(Outcome.RATE_LIMITED)
        survey = await asyncio.to_thread(self._survey_answer, email)
        if survey is not None:
            return await self._thank(email, survey)
        try:
            taken = await asyncio.to_thread(self._take_in, email)
        except IntegrityError:  # another node took the same email in at the same moment
            return Handled(Outcome.DUPLICATE, detail=email.message_id)
        if taken.handled_by_person or not any(taken.answers):
            return Handled(Outcome.STORED, taken.conversation_id)
        reply = self.composer.compose(taken.answers, first_name(email.sender_name), taken.ticket_number,
                                      email.subject, person_will_reply=taken.escalated)
        message_id, delivered = await self.deliver(taken.conversation_id, email.sender, reply, MessagePurpose.REPLY,
                                                   in_reply_to=email.message_id, references=taken.references,
                                                   ticket_number=taken.ticket_number)
        return Handled(Outcome.ANSWERED, taken.conversation_id, reply_message_id=message_id, delivered=delivered)

    def _survey_answer(self, email: InboundEmail) -> SurveyAnswer | None:
        """The email as the answer to a survey sent to its sender, unless it continues an open thread."""
        if self.surveys is None:
            return None
        if self.threads.find(email.sender, email.subject, email.thread_ids, self.clock()) is not None:
            return None  # a conversation is going on: a "5" there answers the agent
        return self.surveys.take(OutboundChannel.EMAIL, email.sender, email.text, actor=ACTOR)

    async def _thank(self, email: InboundEmail, answer: SurveyAnswer) -> Handled:
        reply = self.composer.compose_staff(thanks(answer), email.subject, answer.ticket_number)
        if answer.conversation_id is None:  # no thread to keep it in: sent, not recorded
            result = await self.sender.send(OutboundMessage(
                OutboundChannel.EMAIL, email.sender, reply.text, purpose=MessagePurpose.REPLY, subject=reply.subject,
                html=reply.html, headers={"In-Reply-To": email.message_id, "References": email.message_id},
                ticket_number=answer.ticket_number))
            return Handled(Outcome.SURVEY_ANSWER, detail=f"{answer.score}", delivered=result.delivered)
        # kept in the surveyed contact's thread: the same email delivered twice is handled once
        await asyncio.to_thread(self._record_in, answer.conversation_id, email)
        message_id, delivered = await self.deliver(answer.conversation_id, email.sender, reply, MessagePurpose.REPLY,
                                                   in_reply_to=email.message_id, references=[email.message_id],
                                                   ticket_number=answer.ticket_number)
        return Handled(Outcome.SURVEY_ANSWER, answer.conversation_id, detail=f"{answer.score}",
                       reply_message_id=message_id, delivered=delivered)

    def _record_in(self, conversation_id: str, email: InboundEmail) -> None:
        self.threads.record_received(conversation_id, email.message_id, email.sender, email.subject, self.clock())

    def _seen(self, message_id: str) -> bool:
        return self.threads.seen(message_id)

    def _take_in(self, email: InboundEmail) -> _TakenIn:
        """Thread, record and post the email's requests (in a worker thread)."""
        now = self.clock()
        match = self.threads.find(email.sender, email.subject, email.thread_ids, now)
        conversation_id = match.conversation_id if match else self._start(email)
        if match:
            log.info("email continues conversation %s (by %s)", conversation_id, match.by.value)
        ticket_number = self.service.ticket_number(conversation_id)
        kept = (self.attachments.keep(ticket_number, email.attachments)
                if self.attachments is not None and ticket_number is not None and email.attachments else [])
        ids = self.threads.record_received(conversation_id, email.message_id, email.sender, email.subject, now,
                                           attachments=[k.as_json() for k in kept])
        references = ids[:1] + ids[1:][-(REFERENCES_KEPT - 1):] if len(ids) > REFERENCES_KEPT else ids
        if kept:
            self._note(conversation_id, _attachments_line(kept), flag=None)
        taken = _TakenIn(conversation_id, ticket_number, references=references)
        for request in self._requests(email, first=match is None):
            try:
                view = self.service.post(conversation_id, request, actor=ACTOR)
            except ConversationClosed:
                break
            taken.answers.append(view.replies)
            taken.escalated = view.escalated
            if view.ended:
                break
        taken.handled_by_person = self.threads.handled_by_person(conversation_id)
        return taken

    def _start(self, email: InboundEmail) -> str:
        view = self.service.start(channel="email", actor=ACTOR, contact={"email": email.sender},
                                  clients=(ClientIdentity(ClientKind.EMAIL, email.sender),))
        return view.id  # the chat greeting is not sent: the email's own greeting is in the reply template

    @staticmethod
    def _requests(email: InboundEmail, first: bool) -> list[str]:
        requests = split_requests(email.text)
        subject = plain_subject(email.subject)
        # The first email's subject often is the request ("Order BB-10166 not arrived" / "Any news?")
        if first and subject not in GENERIC_SUBJECTS and subject not in email.text.lower():
            topic = " ".join(email.subject.split()).rstrip(".!?")
            topic = re.sub(r"^\s*((re|fwd?)\s*:\s*)+", "", topic, flags=re.I)
            requests = [f"{topic}. {requests[0]}", *requests[1:]] if requests else [topic]
        return requests

    # --- outbound -------------------------------------------------------------------------------

    async def deliver(self, conversation_id: str, to: str, reply: ComposedReply, purpose: MessagePurpose,
                      in_reply_to: str | None, references: list[str], ticket_number: int | None) -> tuple[str, bool]:
        """Send one email of the conversation's thread and record it (and a failure on the ticket)."""
        message_id = self.new_message_id()
        await asyncio.to_thread(self.threads.record_sending, conversation_id, message_id, to, reply.subject,
                                self.clock())
        message = self.thread_email(conversation_id, to, reply, purpose, message_id=message_id,
                                    in_reply_to=in_reply_to, references=references, ticket_number=ticket_number)
        result = await self.send_recorded(message)
        return message_id, result.delivered

    @staticmethod
    def thread_email(conversation_id: str, to: str, reply: ComposedReply, purpose: MessagePurpose, *,
                     message_id: str, in_reply_to: str | None, references: list[str] | tuple[str, ...],
                     ticket_number: int | None) -> OutboundMessage:
        """One email of the conversation's thread, its Message-ID and threading headers set."""
        headers = {"Message-ID": message_id}
        if in_reply_to:
            headers["In-Reply-To"] = in_reply_to
        if references:
            headers["References"] = " ".join(references)
        return OutboundMessage(OutboundChannel.EMAIL, to, reply.text, purpose=purpose, subject=reply.subject,
                               html=reply.html, headers=headers, conversation_id=conversation_id,
                               ticket_number=ticket_number)

    async def send_recorded(self, message: OutboundMessage) -> DeliveryResult:
        """Send an email already recorded in its thread (as "sending"), then record the outcome (and a failure
        on the ticket)."""
        result = await self.sender.send(message)
        await asyncio.to_thread(self._delivered, message.conversation_id or "", message.headers["Message-ID"],
                                result.delivered, result.error or "")
        return result

    def _delivered(self, conversation_id: str, message_id: str, delivered: bool, error: str) -> None:
        address = self.threads.mark_sent(message_id, delivered, error)
        if not delivered:
            self._note(conversation_id, f"The email reply to {address} was not delivered: {error}.",
                       flag=UNDELIVERED_FLAG)

    def _record_bounce(self, email: InboundEmail, raw: bytes) -> str | None:
        """A delivery report about one of our emails: the email is marked bounced and the ticket told why."""
        details = "; ".join(f"{k}: {v.strip()}" for k, v in _DIAGNOSTIC.findall(raw.decode("utf-8", "replace")))
        bounce = self.threads.mark_bounced(email.reported_message_ids + email.thread_ids, details)
        if bounce is None:
            return None
        self._note(bounce.conversation_id, f"The email to {bounce.address} bounced ({bounce.why}).",
                   flag=UNDELIVERED_FLAG)
        return bounce.conversation_id

    def _note(self, conversation_id: str, text: str, flag: str | None) -> None:
        """A line for the staff in the conversation (never sent to the customer) and, for a failure, the ticket's
        notes and flags, under the conversation's lock."""
        self.threads.note(conversation_id, text, flag=flag, actor=ACTOR, now=self.clock())
        self.service.bus.publish(conversation_id, "message")


def _attachments_line(kept: list[KeptAttachment]) -> str:
    parts = [f"{k.name} ({k.size} bytes)" + (f" - not kept: {k.skipped}" if k.skipped else "") for k in kept]
    return "Email attachments: " + ", ".join(parts)
