"""Erasure and retention of what email, SMS, the send queue and team questions keep (SQLite in memory, on disk,
PostgreSQL): no trace of the customer in any row or attachment file, another customer untouched, the opt-outs
kept (and still honoured) under a key instead of the address, unsent messages cancelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from helpline.application.email_threads import EmailThreads
from helpline.channels.email.attachments import AttachmentStore
from helpline.channels.email.parsing import Attachment
from helpline.outbound.ports import DeliveryResult, MessagePurpose, OutboundChannel, OutboundMessage
from helpline.outbound.queue import OutboundQueue, RetryPolicy
from helpline.pack.models import Retention
from helpline.privacy.attachments import AttachmentFolder
from helpline.privacy.erasure import CustomerErasure, NothingHeld
from helpline.privacy.retention import RetentionJob
from helpline.store.db import Database
from helpline.store.models import ContactOptOut, OutboundMessageRecord, SmsThread, TeamQuestion, Ticket
from helpline.store.opt_outs import KEYED_PREFIX, OptOutRepository, StoredContactPreferences
from helpline.store.repositories import ConversationRepository, TicketRepository
from helpline.store.sms import SmsDeliveryRepository, SmsThreadRepository
from tests.privacy.seed import AISHA, AISHA_TRACES, LUCAS, LUCAS_TRACES, T0, rows_with, seed

ADMIN = "apikey:hl_admin"
PASSPORT = b"%PDF-1.4 Aisha Patel passport scan"


@dataclass
class ChannelSeed:
    email_conversation: str
    sms_conversation: str
    email_ticket: int
    chat_ticket: int
    lucas_ticket: int


def _conversation(db: Database, channel: str, words: str, *, ended: bool = True) -> tuple[str, int]:
    with db.session() as session:
        conversations = ConversationRepository(session)
        conversation = conversations.create(channel=channel, actor="test", now=T0)
        conversations.append_message(conversation.id, "customer", words, now=T0)
        ticket = TicketRepository(session).create(actor="test", channel=channel, conversation_id=conversation.id,
                                                  category="orders", summary=words, status="resolved", now=T0)
        if ended:
            conversations.end(conversation.id, actor="test", now=T0 + timedelta(minutes=5))
        return conversation.id, ticket.number


def _sent(session: object, message: OutboundMessage, key: str, ticket_id: str | None = None,
          customer_id: str | None = None, deliver: bool = True) -> None:
    queue = OutboundQueue(session)  # type: ignore[arg-type]
    record = queue.enqueue(message, dedupe_key=key, actor="test", now=T0, ticket_id=ticket_id,
                           customer_id=customer_id, not_before=None if deliver else T0 + timedelta(days=400))
    assert record is not None
    if deliver:
        claimed = queue.claim_due(T0, node="n1", channels=[message.channel], actor="test",
                                  claim_timeout=timedelta(minutes=10))
        for row in claimed:
            queue.finish(row.id, DeliveryResult(True, provider_id="SM1"), node="n1", now=T0, policy=RetryPolicy(),
                         actor="test")


def seed_channels(db: Database, attachments: Path) -> ChannelSeed:
    """On top of ``seed``: Aisha's email thread (with an attachment), her texts, a recap, an outage notice and a
    survey still queued for her, a team question about her chat, her opt-outs; Lucas's email and opt-out."""
    seeded = seed(db)
    email_id, email_ticket = _conversation(db, "email", "Aisha Patel here, my espresso machine leaks")
    sms_id, _ = _conversation(db, "sms", "hi its aisha, refund please")
    lucas_email, _ = _conversation(db, "email", "Lucas Reed: where is my parcel?")
    kept = AttachmentStore(attachments).keep(email_ticket, (Attachment("Aisha_Patel_passport.pdf",
                                                                       "application/pdf", PASSPORT),))
    with db.session() as session:
        threads = EmailThreads(session)
        threads.record(email_id, "in", "<CA+aisha.patel.1@mail.example.com>", AISHA["email"],
                       "Aisha Patel - leaking machine", T0, "received", attachments=[k.as_json() for k in kept])
        threads.record(email_id, "out", "<reply1@brightbean.example>", AISHA["email"],
                       "Re: Aisha Patel - leaking machine [#1]", T0, "bounced")
        threads.record(lucas_email, "in", "<lucas1@mail.example.com>", LUCAS["email"], "Lucas Reed parcel", T0,
                       "received")
        SmsThreadRepository(session).attach(AISHA["phone"], sms_id, now=T0)
        deliveries = SmsDeliveryRepository(session)
        deliveries.record(to=AISHA["phone"], purpose="reply", status="delivered", provider_id="SMa1",
                          conversation_id=sms_id, now=T0)
        deliveries.record(to=AISHA["phone"], purpose="verification_code", status="undelivered", provider_id="SMa2",
                          error=f"30003: unreachable {AISHA['phone']}", now=T0)
        deliveries.record(to=LUCAS["phone"], purpose="reply", status="delivered", provider_id="SMl1", now=T0)
        chat_ticket = session.scalars(select(Ticket).where(Ticket.number == seeded.chat_ticket)).one()
        _sent(session, OutboundMessage(OutboundChannel.EMAIL, AISHA["email"], "Hi Aisha, we cancelled BB-10160.",
                                       purpose=MessagePurpose.RECAP, subject="Your order, Aisha Patel",
                                       conversation_id=seeded.chat_id), f"recap:{chat_ticket.id}", chat_ticket.id,
              seeded.aisha_id)
        _sent(session, OutboundMessage(OutboundChannel.SMS, AISHA["phone"], "Aisha: outage at 5185 Guadalupe Ave",
                                       purpose=MessagePurpose.OUTAGE_NOTICE), "outage_notice:i1:a",
              customer_id=seeded.aisha_id)
        _sent(session, OutboundMessage(OutboundChannel.EMAIL, AISHA["email"], "Hi Aisha, how did we do?",
                                       purpose=MessagePurpose.SURVEY, subject="Aisha, one question"),
              "survey:later", chat_ticket.id, seeded.aisha_id, deliver=False)
        lucas_ticket = session.scalars(select(Ticket).where(Ticket.number == seeded.lucas_ticket)).one()
        _sent(session, OutboundMessage(OutboundChannel.EMAIL, LUCAS["email"], "Hi Lucas, here is your recap.",
                                       purpose=MessagePurpose.RECAP, conversation_id=seeded.lucas_chat_id),
              f"recap:{lucas_ticket.id}", lucas_ticket.id, seeded.lucas_id)
        session.add(TeamQuestion(conversation_id=seeded.chat_id, ticket_id=chat_ticket.id,
                                 question="Can Aisha Patel get a refund to a new card?", status="answered",
                                 asked_at=T0, answer="Yes for Aisha", answered_by="sam@brightbean.example",
                                 answered_at=T0))
        opt_outs = OptOutRepository(session)
        opt_outs.set(OutboundChannel.SMS, AISHA["phone"], True, keyword="STOP", actor="test", now=T0)
        opt_outs.set(OutboundChannel.EMAIL, AISHA["email"], True, keyword="unsubscribe link", actor="test", now=T0)
        opt_outs.set(OutboundChannel.SMS, LUCAS["phone"], True, keyword="STOP", actor="test", now=T0)
    return ChannelSeed(email_id, sms_id, email_ticket, seeded.chat_ticket, seeded.lucas_ticket)


def test_erasure_leaves_no_trace_in_emails_texts_queued_messages_questions_or_files(db: Database,
                                                                                  tmp_path: Path) -> None:
    folder = tmp_path / "attachments"
    seeded = seed_channels(db, folder)
    lucas_before = rows_with(db, LUCAS_TRACES)
    files = list((folder / f"ticket-{seeded.email_ticket}").iterdir())
    assert len(files) == 1 and files[0].read_bytes() == PASSPORT
    for table in ("email_messages", "sms_threads", "sms_deliveries", "outbound_messages", "team_questions"):
        assert any(row.startswith(table) for row in rows_with(db, AISHA_TRACES)), table

    erasure = CustomerErasure(db, attachments=AttachmentFolder(folder))
    dry = erasure.erase("C-1038", actor=ADMIN, dry_run=True)
    assert dry.erased.attachments == 1 and files[0].exists()
    report = erasure.erase("C-1038", actor=ADMIN)

    # no row of any table (the opt-outs included) holds her name, address, email or number; her file is gone
    assert rows_with(db, AISHA_TRACES) == []
    assert not files[0].exists() and not (folder / f"ticket-{seeded.email_ticket}").exists()
    erased = report.erased
    assert dry.erased == erased
    assert (erased.email_messages, erased.attachments, erased.sms_threads, erased.sms_deliveries,
            erased.outbound_messages, erased.team_questions, erased.opt_outs) == (2, 1, 1, 2, 3, 1, 2)
    assert report.complete
    # Lucas's emails, texts, recap and opt-out are as they were
    assert rows_with(db, LUCAS_TRACES) == lucas_before
    with db.session() as session:
        survey = session.scalars(select(OutboundMessageRecord).where(
            OutboundMessageRecord.dedupe_key == "survey:later")).one()
        assert survey.status == "cancelled" and survey.text == "[erased]" and survey.to == ""  # never sent now
        assert session.get(SmsThread, AISHA["phone"]) is None  # her next text starts afresh
        keyed = list(session.scalars(select(ContactOptOut).where(ContactOptOut.address.startswith(KEYED_PREFIX))))
        assert {(row.channel, row.status, row.keyword) for row in keyed} == \
            {("sms", "opted_out", "STOP"), ("email", "opted_out", "unsubscribe link")}
    # the opt-outs are still honoured: no notice to her number or address, Lucas's too
    preferences = StoredContactPreferences(db)
    assert not preferences.allows(OutboundChannel.SMS, AISHA["phone"], MessagePurpose.OUTAGE_NOTICE)
    assert not preferences.allows(OutboundChannel.EMAIL, AISHA["email"].upper(), MessagePurpose.SURVEY)
    assert preferences.allows(OutboundChannel.EMAIL, AISHA["email"], MessagePurpose.REPLY)  # a reply she asks for
    assert not preferences.allows(OutboundChannel.SMS, LUCAS["phone"], MessagePurpose.RECAP)
    # texting START later opts the number back in (the keyed row is updated, no plain number is kept)
    preferences.opt_in(OutboundChannel.SMS, AISHA["phone"], "START", "test")
    assert preferences.allows(OutboundChannel.SMS, AISHA["phone"], MessagePurpose.OUTAGE_NOTICE)
    with db.session() as session:
        assert session.scalar(select(ContactOptOut).where(ContactOptOut.address == AISHA["phone"])) is None


def test_erasing_by_phone_finds_a_text_conversation_that_never_verified(db: Database, tmp_path: Path) -> None:
    seeded = seed_channels(db, tmp_path)
    report = CustomerErasure(db).erase(AISHA["phone"], actor=ADMIN)
    assert report.erased.sms_threads == 1
    with db.session() as session:
        texts = ConversationRepository(session).messages(seeded.sms_conversation, actor="test")
        assert texts and {m.text for m in texts} == {"[erased]"}
    try:
        CustomerErasure(db).erase(AISHA["phone"], actor=ADMIN)
    except NothingHeld:
        pass
    else:
        raise AssertionError("a second erasure by phone found something left")


def test_an_open_text_conversation_keeps_its_thread_until_it_has_ended(db: Database, tmp_path: Path) -> None:
    seed(db)
    sms_id, _ = _conversation(db, "sms", "hi its aisha", ended=False)
    with db.session() as session:
        SmsThreadRepository(session).attach(AISHA["phone"], sms_id, now=T0)
        OptOutRepository(session).set(OutboundChannel.SMS, AISHA["phone"], True, keyword="STOP", actor="test")
    report = CustomerErasure(db).erase("C-1038", actor=ADMIN)
    assert not report.complete and report.open_conversations == 1
    with db.session() as session:
        assert session.get(SmsThread, AISHA["phone"]) is not None  # the conversation still texts back
        assert session.scalar(select(ContactOptOut.address)) == AISHA["phone"]  # keyed once complete
        ConversationRepository(session).end(sms_id, actor="test")
    report = CustomerErasure(db).erase("C-1038", actor=ADMIN)
    assert report.complete and report.erased.sms_threads == 1 and report.erased.opt_outs == 1
    assert rows_with(db, AISHA_TRACES) == []


def test_retention_anonymises_the_channels_rows_of_old_contacts(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "attachments"
    seeded = seed_channels(db, folder)
    job = RetentionJob(db, Retention(transcripts_days=30, recordings_days=None),
                       attachments=AttachmentFolder(folder), clock=lambda: T0 + timedelta(days=60))
    report = job.run()
    erased = report.erased
    assert erased.email_messages == 3 and erased.attachments == 1 and erased.sms_threads == 1
    assert erased.sms_deliveries == 3 and erased.team_questions == 1
    # the recaps and the sent outage notice go; the survey still queued is left to be sent (or cancelled)
    assert erased.outbound_messages == 3
    assert not (folder / f"ticket-{seeded.email_ticket}").exists()
    leftover = rows_with(db, AISHA_TRACES + LUCAS_TRACES, skip=("customers", "customer_identities"))
    channel_tables = ("email_messages", "sms_threads", "sms_deliveries", "team_questions", "outbound_messages")
    # (the phone call whose callback is still scheduled keeps its transcript: tests/privacy/test_retention.py)
    assert [row for row in leftover if row.startswith(channel_tables)] == \
        [row for row in leftover if row.startswith("outbound_messages") and "survey:later" in row]
    with db.session() as session:
        pending = session.scalars(select(OutboundMessageRecord).where(
            OutboundMessageRecord.status == "queued")).one()
        assert pending.dedupe_key == "survey:later" and "Aisha" in pending.text
        # opt-outs are a legal record: retention keeps them as they are
        assert session.scalar(select(ContactOptOut.address).where(ContactOptOut.channel == "sms",
                                                                  ContactOptOut.address == LUCAS["phone"]))
    again = job.run()
    assert again.erased.total() == 0
