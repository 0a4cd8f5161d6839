"""Which conversation an inbound email continues, and the record of every email in a thread.

Real mail clients break threading in different ways (Chatwoot's long-standing bugs): some send In-Reply-To
with only the first message, some drop it, people change the subject or reply to an old email. So, in order:
  1. any Message-ID in In-Reply-To / References that we sent or received in a conversation;
  2. a ticket reference in the subject ("[#1234]"), only for the address that ticket's emails were with
     (a reference is not a password: a stranger quoting it starts a conversation of their own);
  3. the same sender with a very similar subject (Re:/Fwd: and the reference ignored) in the last days.
Only an active conversation is continued; a thread whose conversation has ended starts a new one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpline.store.models import Conversation, EmailRecord, Ticket

TICKET_REFERENCE = re.compile(r"\[#(\d{1,9})\]")
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs|antw|tr|rif)\s*(\[\d+\])?\s*:\s*)+", re.I)
SUBJECT_SIMILARITY = 90.0  # rapidfuzz ratio (0-100) for "the same subject"
SUBJECT_WINDOW = timedelta(days=14)


class ThreadedBy(StrEnum):
    MESSAGE_ID = "message-id"
    TICKET_REFERENCE = "ticket reference"
    SUBJECT = "sender and subject"


@dataclass(frozen=True)
class ThreadMatch:
    conversation_id: str
    by: ThreadedBy


def plain_subject(subject: str) -> str:
    """The subject as a person means it: no Re:/Fwd: prefixes, no ticket reference, case and spaces folded."""
    subject = TICKET_REFERENCE.sub(" ", subject)
    subject = _REPLY_PREFIX.sub("", subject.strip())
    return " ".join(subject.lower().split())


def ticket_reference(subject: str) -> int | None:
    found = TICKET_REFERENCE.search(subject)
    return int(found.group(1)) if found else None


class EmailThreads:
    """The email_messages table, in the caller's session."""

    def __init__(self, session: Session):
        self.session = session

    def _active(self, conversation_id: str) -> bool:
        conversation = self.session.get(Conversation, conversation_id)
        return conversation is not None and conversation.status == "active" and conversation.channel == "email"

    def find(self, sender: str, subject: str, thread_ids: tuple[str, ...], now: datetime) -> ThreadMatch | None:
        if thread_ids:
            for record in self.session.scalars(select(EmailRecord).where(EmailRecord.message_id.in_(thread_ids))
                                               .order_by(EmailRecord.id.desc())):
                if self._active(record.conversation_id):
                    return ThreadMatch(record.conversation_id, ThreadedBy.MESSAGE_ID)
        number = ticket_reference(subject)
        if number is not None:
            ticket = self.session.scalar(select(Ticket).where(Ticket.number == number))
            if ticket is not None and ticket.conversation_id and self._active(ticket.conversation_id) and \
                    self.session.scalar(select(EmailRecord.id).where(
                        EmailRecord.conversation_id == ticket.conversation_id, EmailRecord.address == sender)
                        .limit(1)) is not None:
                return ThreadMatch(ticket.conversation_id, ThreadedBy.TICKET_REFERENCE)
        wanted = plain_subject(subject)
        if wanted:
            recent = self.session.scalars(select(EmailRecord).where(
                EmailRecord.address == sender, EmailRecord.direction == "in",
                EmailRecord.created_at >= now - SUBJECT_WINDOW).order_by(EmailRecord.id.desc()).limit(50))
            for record in recent:
                if fuzz.ratio(plain_subject(record.subject), wanted) >= SUBJECT_SIMILARITY \
                        and self._active(record.conversation_id):
                    return ThreadMatch(record.conversation_id, ThreadedBy.SUBJECT)
        return None

    def seen(self, message_id: str) -> bool:
        """Whether this inbound email was handled already (delivered twice, or by SMTP and by IMAP)."""
        return self.session.scalar(select(EmailRecord.id).where(
            EmailRecord.direction == "in", EmailRecord.message_id == message_id)) is not None

    def record(self, conversation_id: str, direction: str, message_id: str, address: str, subject: str,
               now: datetime, status: str, attachments: list[dict[str, Any]] | None = None,
               source_seq: int | None = None) -> EmailRecord:
        record = EmailRecord(conversation_id=conversation_id, direction=direction, message_id=message_id,
                             address=address, subject=subject[:2000], status=status, attachments=attachments or [],
                             source_seq=source_seq, created_at=now)
        self.session.add(record)
        self.session.flush()
        return record

    def claim(self, conversation_id: str, source_seq: int, message_id: str, address: str, subject: str,
              now: datetime) -> bool:
        """Take the sending of the console reply at transcript line ``source_seq``: False when another node
        (or an earlier pass) has it."""
        try:
            with self.session.begin_nested():
                self.record(conversation_id, "out", message_id, address, subject, now, "sending",
                            source_seq=source_seq)
        except IntegrityError:
            return False
        return True

    def thread_of(self, conversation_id: str) -> list[EmailRecord]:
        return list(self.session.scalars(select(EmailRecord).where(EmailRecord.conversation_id == conversation_id)
                                         .order_by(EmailRecord.id)))

    def by_message_id(self, message_ids: tuple[str, ...]) -> EmailRecord | None:
        if not message_ids:
            return None
        return self.session.scalar(select(EmailRecord).where(EmailRecord.direction == "out",
                                                             EmailRecord.message_id.in_(message_ids)).limit(1))

    def last_relayed_seq(self, conversation_id: str) -> int:
        seqs = self.session.scalars(select(EmailRecord.source_seq).where(
            EmailRecord.conversation_id == conversation_id, EmailRecord.source_seq.is_not(None)))
        return max((s for s in seqs if s is not None), default=0)
