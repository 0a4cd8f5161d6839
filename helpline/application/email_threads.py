"""Which conversation an inbound email continues, and the record of every email in a thread (``email_messages``),
as the email channel needs them without reaching into the store.

Real mail clients break threading in different ways (Chatwoot's long-standing bugs): some send In-Reply-To
with only the first message, some drop it, people change the subject or reply to an old email. So, in order:
  1. any Message-ID in In-Reply-To / References that we sent or received in a conversation;
  2. a ticket reference in the subject ("[#1234]"), only for the address that ticket's emails were with
     (a reference is not a password: a stranger quoting it starts a conversation of their own);
  3. the same sender with a very similar subject (Re:/Fwd: and the reference ignored) in the last days.
Only an active conversation is continued; a thread whose conversation has ended starts a new one.

``EmailThreads`` is the table in a caller's session; ``EmailConversations`` is what the channel calls, one
transaction each, plain values out: threading, the record of each email in and out, delivery failures and bounces
noted for the staff, and the lines said outside a reply (a console person's, a colleague's answer the agent relays)
queued and claimed once for the relay to email (queued_lines.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.application.queued_lines import QueuedLine, finish_line, line_key, queue_line
from helpline.application.serialise import conversation_transaction
from helpline.application.views import STAFF_ONLY, UNPROMPTED
from helpline.outbound.ports import DeliveryResult, OutboundMessage
from helpline.outbound.queue import RetryPolicy
from helpline.store.db import Database
from helpline.store.models import Conversation, EmailRecord, Message, Ticket
from helpline.store.repositories import ConversationRepository, TicketRepository

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


LINE_KEY_PREFIX = "email_line"  # the send queue's key of a line emailed by the relay: email_line:<conversation>:<seq>
# An emailed line that failed is not tried again by the send queue's runner: the failure is on the ticket and in
# the email's record for a person to act on (the console's Outbound page can still retry it).
NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass(frozen=True)
class UnsentReply:
    """A line said outside a reply, to be emailed in the customer's thread."""

    conversation_id: str
    seq: int
    text: str
    by_person: bool  # a console person's reply (else the agent's unprompted line)
    to: str  # the address the customer last wrote from
    subject: str  # the thread's first subject
    in_reply_to: str  # the customer's latest email
    references: tuple[str, ...]  # the thread's Message-IDs before this email
    ticket_number: int | None
    message_id: str  # this email's


@dataclass(frozen=True)
class Bounce:
    """A delivery report matched to one of our emails: the conversation, the address and why it bounced."""

    conversation_id: str
    address: str
    why: str


@dataclass(frozen=True)
class EmailConversations:
    """The email channel's reads and writes, one transaction each."""

    db: Database
    turn_wait_seconds: float  # how long a note waits for the conversation's turn lock

    def find(self, sender: str, subject: str, thread_ids: tuple[str, ...], now: datetime) -> ThreadMatch | None:
        """The active conversation this email continues, and how it was found (see the module's docstring)."""
        with self.db.read_session() as session:
            return EmailThreads(session).find(sender, subject, thread_ids, now)

    def seen(self, message_id: str) -> bool:
        """Whether this inbound email was handled already (delivered twice, or by SMTP and by IMAP)."""
        with self.db.read_session() as session:
            return EmailThreads(session).seen(message_id)

    def record_received(self, conversation_id: str, message_id: str, sender: str, subject: str, now: datetime,
                        attachments: list[dict[str, Any]] | None = None) -> list[str]:
        """Keep an inbound email in the conversation's thread; the thread's Message-IDs, oldest first. Raises
        IntegrityError when another node recorded the same email at the same moment."""
        with self.db.session() as session:
            threads = EmailThreads(session)
            threads.record(conversation_id, "in", message_id, sender, subject, now, "received",
                           attachments=attachments)
            return [r.message_id for r in threads.thread_of(conversation_id)]

    def record_sending(self, conversation_id: str, message_id: str, to: str, subject: str, now: datetime) -> None:
        """Keep an outbound email before it goes (its status follows with ``mark_sent``)."""
        with self.db.session() as session:
            EmailThreads(session).record(conversation_id, "out", message_id, to, subject, now, "sending")

    def mark_sent(self, message_id: str, delivered: bool, error: str) -> str:
        """Our email's outcome: sent, or failed with why; the address it was for ("" if it is not recorded)."""
        with self.db.session() as session:
            record = session.scalar(select(EmailRecord).where(EmailRecord.direction == "out",
                                                              EmailRecord.message_id == message_id))
            if record is None:
                return ""
            record.status = "sent" if delivered else "failed"
            record.error = error
            return record.address

    def mark_bounced(self, message_ids: tuple[str, ...], details: str) -> Bounce | None:
        """A delivery report about one of ``message_ids`` (ours): the email marked bounced, with the report's
        ``details``; None when none of them is ours."""
        with self.db.session() as session:
            record = EmailThreads(session).by_message_id(message_ids)
            if record is None:
                return None
            record.status = "bounced"
            record.error = details[:500] or "returned by the receiving server"
            return Bounce(record.conversation_id, record.address, record.error)

    def handled_by_person(self, conversation_id: str) -> bool:
        """Whether a person has taken the conversation over (the AI's answers are then not emailed)."""
        with self.db.read_session() as session:
            conversation = session.get(Conversation, conversation_id)
            return bool(conversation and conversation.handled_by)

    def note(self, conversation_id: str, text: str, *, flag: str | None, actor: str, now: datetime) -> None:
        """A line for the staff in the conversation (never sent to the customer) and, with a ``flag`` (a failure),
        the ticket's notes and flags, under the conversation's lock. The caller tells the live views."""
        with conversation_transaction(self.db, conversation_id, self.turn_wait_seconds) as session:
            ConversationRepository(session).append_message(conversation_id, role="system", text=text,
                                                           meta={**STAFF_ONLY, "email": True}, actor=actor, now=now)
            if flag is None:
                return
            ticket = session.scalar(select(Ticket).where(Ticket.conversation_id == conversation_id))
            if ticket is not None:
                TicketRepository(session).update(
                    ticket.id, actor=actor, now=now, notes=(ticket.notes + "\n" if ticket.notes else "") + text,
                    flags=ticket.flags if flag in ticket.flags else [*ticket.flags, flag])

    def taken_over(self) -> list[str]:
        """Open email conversations a person has taken over (a sweep looks at each for replies not yet sent)."""
        with self.db.read_session() as session:
            return list(session.scalars(select(Conversation.id).where(
                Conversation.channel == "email", Conversation.status == "active",
                Conversation.handled_by.is_not(None))))

    def relayed_lines(self, conversation_id: str) -> list[int]:
        """The transcript lines already emailed by the relay."""
        with self.db.read_session() as session:
            return [s for s in session.scalars(select(EmailRecord.source_seq).where(
                EmailRecord.conversation_id == conversation_id, EmailRecord.source_seq.is_not(None)))
                if s is not None]

    def queue_unsent_replies(self, conversation_id: str, *, now: datetime, node: str, actor: str,
                             new_message_id: Callable[[], str],
                             write: Callable[[UnsentReply], OutboundMessage]) -> list[QueuedLine]:
        """Each line said outside a reply after the last one emailed, written as an email by ``write``, queued and
        claimed for ``node`` (a line another node queued first is its to send) and kept in the thread as
        "sending"; the emails this node should send now, in order."""
        with self.db.session() as session:
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
            ticket_id, ticket_number = session.execute(
                select(Ticket.id, Ticket.number).where(Ticket.conversation_id == conversation_id)).first() or \
                (None, None)
            to, subject, in_reply_to = inbound[-1].address, inbound[0].subject, inbound[-1].message_id
            ids = [r.message_id for r in thread]
            queued: list[QueuedLine] = []
            for line in lines:
                reply = UnsentReply(conversation_id, line.seq, line.text, line.role == "human", to, subject,
                                    in_reply_to, tuple(ids), ticket_number, new_message_id())
                claimed = queue_line(session, write(reply), line.seq,
                                     key=line_key(LINE_KEY_PREFIX, conversation_id, line.seq), node=node, now=now,
                                     actor=actor, ticket_id=ticket_id, customer_id=conversation.customer_id)
                if claimed is None:
                    continue  # another node queued it first: it sends it
                threads.record(conversation_id, "out", reply.message_id, to, subject, now, "sending",
                               source_seq=line.seq)
                queued.append(claimed)
                ids.append(reply.message_id)
            return queued

    def finish_line(self, queued: QueuedLine, result: DeliveryResult, *, node: str, now: datetime,
                    actor: str) -> None:
        """The emailed line's outcome on its queue row (a failure is not retried: see NO_RETRY)."""
        finish_line(self.db, queued.row_id, result, node=node, now=now, policy=NO_RETRY, actor=actor)
