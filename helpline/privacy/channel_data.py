"""What email, SMS, the send queue and team questions keep about a contact, under the rules of ``anonymise``.

- ``email_messages``: the customer's address and the subject become ``[erased]``, a delivery error too, the
  Message-ID its hash (a client may put the sender's name or host in it; the hash keeps the row unique), the
  attachments list keeps only each file's type, size and why it was skipped; the files themselves, under the
  ticket's folder, are deleted.
- ``sms_threads`` rows are deleted (a number -> its open conversation: nothing to keep once that has ended);
  ``sms_deliveries`` keep purpose, status, segments and the provider's id, not the number or error text.
- ``outbound_messages`` (recaps, surveys, notices: they hold names and addresses) keep purpose, channel,
  status, attempts and times; address, subject, text, HTML and headers go. Erasure cancels what is still to
  be sent; retention leaves a message that is still queued or being sent alone.
- ``team_questions``: the question and the colleague's answer go; who answered and when stay. An open
  question is withdrawn.
- ``contact_opt_outs`` are kept on erasure (the record that the address must not be contacted), keyed by
  ``store.opt_outs.keyed_address`` instead of the address. Retention keeps them as they are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from helpline.outbound.ports import OutboundChannel
from helpline.privacy.anonymise import PLACEHOLDER, Anonymiser, chunks
from helpline.privacy.attachments import AttachmentFolder
from helpline.store.models import (
    ContactOptOut,
    EmailRecord,
    OutboundMessageRecord,
    SmsDelivery,
    SmsThread,
    TeamQuestion,
)
from helpline.store.opt_outs import KEYED_PREFIX, keyed_address, normalise_address

ERASED_MESSAGE_ID = "erased-"
PENDING_OUTBOUND = ("queued", "sending")  # still to be sent (or in flight)
RETRIABLE_OUTBOUND = ("failed",)  # a supervisor may send it again from the console
CANCELLED_BY_ERASURE = "cancelled: the customer's personal data was erased"
OPEN_QUESTION = "open"
WITHDRAWN_QUESTION = "withdrawn"
KEPT_ATTACHMENT_FACTS = ("content_type", "size", "skipped")


def _erased(text: str | None) -> str:
    return PLACEHOLDER if text else ""


def erased_message_id(message_id: str) -> str:
    if message_id.startswith(ERASED_MESSAGE_ID):
        return message_id
    return ERASED_MESSAGE_ID + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()[:40]


def _attachment_facts(item: Any) -> dict[str, Any]:
    facts = {key: item[key] for key in KEPT_ATTACHMENT_FACTS if isinstance(item, dict) and key in item}
    return {"name": PLACEHOLDER, **facts, "path": ""}


def _set(row: Any, values: dict[str, Any]) -> bool:
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    for name, value in changed.items():
        setattr(row, name, value)
    return bool(changed)


class ChannelData:
    """Anonymises the channels' rows in the anonymiser's transaction and counts them in its ``counts``. Files
    are only collected (``files``): the caller deletes them once the rows are flushed, or counts them for a dry
    run."""

    def __init__(self, anonymiser: Anonymiser, attachments: AttachmentFolder | None) -> None:
        self.anonymiser = anonymiser
        self.session: Session = anonymiser.session
        self.attachments = attachments
        self.files: list[Path] = []

    @property
    def counts(self) -> Any:
        return self.anonymiser.counts

    # -- finding

    @staticmethod
    def conversations_of_contacts(session: Session, emails: Collection[str], phones: Collection[str]) -> set[str]:
        """Conversations an email address wrote in or was written to, or a number texted from or was texted."""
        found: set[str] = set()
        if emails:
            found.update(session.scalars(select(EmailRecord.conversation_id).where(
                EmailRecord.address.in_(sorted({e.lower() for e in emails})))))
        if phones:
            numbers = sorted(phones)
            found.update(session.scalars(select(SmsThread.conversation_id).where(SmsThread.phone.in_(numbers))))
            found.update(c for c in session.scalars(select(SmsDelivery.conversation_id).where(
                SmsDelivery.to.in_(numbers))) if c)
        return found

    # -- one contact's rows

    def contacts(self, conversation_ids: Collection[str], ticket_ids: Collection[str],
                 ticket_numbers: Collection[int], *, cancel_pending: bool) -> None:
        """Everything these conversations and tickets left in the channels' tables."""
        for chunk in chunks(set(conversation_ids)):
            for record in self.session.scalars(select(EmailRecord).where(EmailRecord.conversation_id.in_(chunk))):
                self._email(record)
            removed = self.session.execute(delete(SmsThread).where(SmsThread.conversation_id.in_(chunk)))
            self.counts.sms_threads += int(getattr(removed, "rowcount", 0) or 0)
            for delivery in self.session.scalars(select(SmsDelivery).where(SmsDelivery.conversation_id.in_(chunk))):
                self._delivery(delivery)
        terms = [*(OutboundMessageRecord.conversation_id.in_(c) for c in chunks(set(conversation_ids))),
                 *(OutboundMessageRecord.ticket_id.in_(c) for c in chunks(set(ticket_ids)))]
        if terms:
            for message in self.session.scalars(select(OutboundMessageRecord).where(or_(*terms))):
                self._outbound(message, cancel_pending=cancel_pending)
        question_terms = [*(TeamQuestion.conversation_id.in_(c) for c in chunks(set(conversation_ids))),
                          *(TeamQuestion.ticket_id.in_(c) for c in chunks(set(ticket_ids)))]
        if question_terms:
            for question in self.session.scalars(select(TeamQuestion).where(or_(*question_terms))):
                self._question(question)
        if self.attachments is not None and ticket_numbers:
            self.files.extend(self.attachments.files_of(ticket_numbers))

    # -- one customer's rows outside their conversations (erasure)

    def addressed_to(self, emails: Collection[str], phones: Collection[str], customer_ids: Collection[str],
                     keep_conversations: Collection[str], keep_tickets: Collection[str]) -> None:
        """Texts and queued messages to the customer's addresses, or for them, that no conversation being kept
        (still open) holds: outage notices, one-time codes, a delivery whose conversation was erased."""
        kept_conversations, kept_tickets = set(keep_conversations), set(keep_tickets)
        addresses = sorted({*(e.lower() for e in emails), *phones})
        terms = [OutboundMessageRecord.to.in_(addresses)] if addresses else []
        terms += [OutboundMessageRecord.customer_id.in_(c) for c in chunks(set(customer_ids))]
        if terms:
            for message in self.session.scalars(select(OutboundMessageRecord).where(or_(*terms))):
                if message.conversation_id not in kept_conversations and message.ticket_id not in kept_tickets:
                    self._outbound(message, cancel_pending=True)
        if not phones:
            return
        numbers = sorted(phones)
        for delivery in self.session.scalars(select(SmsDelivery).where(SmsDelivery.to.in_(numbers))):
            if delivery.conversation_id not in kept_conversations:
                self._delivery(delivery)
        for thread in self.session.scalars(select(SmsThread).where(SmsThread.phone.in_(numbers))):
            if thread.conversation_id not in kept_conversations:
                self.session.delete(thread)
                self.counts.sms_threads += 1

    def key_opt_outs(self, emails: Collection[str], phones: Collection[str]) -> None:
        """Keep each opt-out of these addresses, under its key instead of the address."""
        for channel, addresses in ((OutboundChannel.EMAIL, emails), (OutboundChannel.SMS, phones)):
            for address in sorted(set(addresses)):
                normalised = normalise_address(channel, address)
                if normalised.startswith(KEYED_PREFIX):
                    continue
                plain = self.session.scalar(select(ContactOptOut).where(
                    ContactOptOut.channel == channel.value, ContactOptOut.address == normalised))
                if plain is None:
                    continue
                key = keyed_address(channel, normalised)
                keyed = self.session.scalar(select(ContactOptOut).where(
                    ContactOptOut.channel == channel.value, ContactOptOut.address == key))
                if keyed is not None:  # keyed by an earlier erasure: the plain row is the newer word
                    keyed.status, keyed.keyword, keyed.updated_at = plain.status, plain.keyword, plain.updated_at
                    self.session.delete(plain)
                else:
                    plain.address = key
                self.counts.opt_outs += 1

    # -- retention: rows no conversation links any more

    def unlinked_before(self, cutoff: Any) -> None:
        """Texts, sent messages and team questions older than ``cutoff`` that belong to no conversation (codes,
        outage notices; links an erasure or a deleted conversation cut)."""
        for delivery in self.session.scalars(select(SmsDelivery).where(
                SmsDelivery.conversation_id.is_(None), SmsDelivery.created_at < cutoff,
                SmsDelivery.to != PLACEHOLDER)):
            self._delivery(delivery)
        for message in self.session.scalars(select(OutboundMessageRecord).where(
                OutboundMessageRecord.conversation_id.is_(None), OutboundMessageRecord.created_at < cutoff,
                OutboundMessageRecord.status.not_in(PENDING_OUTBOUND), OutboundMessageRecord.text != PLACEHOLDER)):
            self._outbound(message, cancel_pending=False)
        for question in self.session.scalars(select(TeamQuestion).where(
                TeamQuestion.conversation_id.is_(None), TeamQuestion.asked_at < cutoff,
                TeamQuestion.question != PLACEHOLDER)):
            self._question(question)

    # -- rows

    def _email(self, record: EmailRecord) -> None:
        if _set(record, {"address": PLACEHOLDER, "subject": _erased(record.subject), "error": _erased(record.error),
                         "message_id": erased_message_id(record.message_id),
                         "attachments": [_attachment_facts(item) for item in record.attachments or []]}):
            self.counts.email_messages += 1

    def _delivery(self, delivery: SmsDelivery) -> None:
        if _set(delivery, {"to": PLACEHOLDER, "error": _erased(delivery.error)}):
            self.counts.sms_deliveries += 1

    def _outbound(self, message: OutboundMessageRecord, *, cancel_pending: bool) -> None:
        values: dict[str, Any] = {}
        if message.status in (*PENDING_OUTBOUND, *RETRIABLE_OUTBOUND):
            if not cancel_pending and message.status in PENDING_OUTBOUND:
                return  # retention: still to be sent
            if cancel_pending:  # nobody writes to a customer who asked to be forgotten
                values.update(status="cancelled", claimed_by=None, claimed_at=None, last_error=CANCELLED_BY_ERASURE)
        values.update(to="", subject=PLACEHOLDER if message.subject else message.subject, text=PLACEHOLDER,
                      html=None, headers={})
        if "last_error" not in values and message.last_error and message.last_error != CANCELLED_BY_ERASURE:
            values["last_error"] = PLACEHOLDER
        if _set(message, values):
            self.counts.outbound_messages += 1

    def _question(self, question: TeamQuestion) -> None:
        values = {"question": PLACEHOLDER, "answer": PLACEHOLDER if question.answer else question.answer}
        if question.status == OPEN_QUESTION:
            values["status"] = WITHDRAWN_QUESTION
        if _set(question, values):
            self.counts.team_questions += 1
