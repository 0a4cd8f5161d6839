"""Survey answers: a reply that answers the latest survey to that address (CSAT 1-5, NPS 0-10, or both in turn)
is stored on the ticket it asked about, on the scale it asked; anything else is left for the conversation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from helpline.analytics import kpis
from helpline.analytics.contacts import load_contacts
from helpline.channels.sms.wording import fit_reply
from helpline.outbound.facts import ContactFacts
from helpline.outbound.ports import DeliveryResult, MessagePurpose, OutboundChannel, OutboundMessage
from helpline.outbound.queue import OutboundQueue, RetryPolicy
from helpline.outbound.surveys import (
    SURVEY_HEADER,
    Scale,
    SurveyReplies,
    answer_from_reply,
    reading_in,
    record_survey_answer,
    score_in,
    thanks,
)
from helpline.outbound.writers import Writer
from helpline.pack.loader import load_pack
from helpline.store.db import Database
from helpline.store.models import AuditEntry, Ticket
from helpline.store.repositories import TicketRepository

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PHONE = "+15125550126"


@pytest.mark.parametrize(("text", "score"), [("5", 5), (" 4 - quick and friendly", 4), ("5/5", 5),
                                             ("3 out of 5", 3), ("1.", 1), ("6", None), ("15", None),
                                             ("where is my order", None), ("", None), ("2nd order missing", None)])
def test_a_score_is_read_only_from_a_reply_that_is_one(text: str, score: int | None) -> None:
    assert score_in(text) == score


@pytest.mark.parametrize(("text", "answer"), [("9", 9), ("10/10", 10), ("8 - quick", 8), ("0", 0), ("nine", 9),
                                              ("Ten out of ten!", 10), ("7 out of 10, slow delivery", 7),
                                              ("11", None), ("5/5", None), ("100", None), ("one more thing", None),
                                              ("9am tomorrow works", None)])
def test_an_nps_answer_is_read_on_the_0_to_10_scale(text: str, answer: int | None) -> None:
    assert reading_in(text, Scale.NPS) == answer


@pytest.mark.parametrize("text", ["9", "10/10", "nine", "0", "7 out of 10"])
def test_a_0_to_10_answer_is_no_csat_score(text: str) -> None:
    assert score_in(text) is None


def _surveyed(db: Database, asks: str | None = None) -> Ticket:
    with db.session() as session:
        ticket = TicketRepository(session).create(actor="test", channel="sms", summary="Order status",
                                                  status="resolved", now=NOW)
        queue = OutboundQueue(session)
        headers = {SURVEY_HEADER: asks} if asks else {}  # none: a survey queued before NPS (it asked CSAT)
        record = queue.enqueue(OutboundMessage(channel=OutboundChannel.SMS, to=PHONE, text="How did we do?",
                                               purpose=MessagePurpose.SURVEY, headers=headers),
                               dedupe_key=f"survey:{ticket.id}",
                               actor="test", now=NOW, ticket_id=ticket.id)
        assert record is not None
        claimed = queue.claim_due(NOW, node="n", channels=[OutboundChannel.SMS], actor="test",
                                  claim_timeout=timedelta(minutes=10))
        assert [c.id for c in claimed] == [record.id]
        queue.finish(record.id, DeliveryResult(delivered=True), node="n", now=NOW, policy=RetryPolicy(), actor="t")
        return ticket


def test_a_texted_score_lands_on_the_surveyed_ticket_once(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    db.migrate()
    ticket = _surveyed(db)
    with db.session() as session:
        assert answer_from_reply(session, OutboundChannel.SMS, PHONE, "where is my order?", now=NOW, actor="t") is None
        answer = answer_from_reply(session, OutboundChannel.SMS, PHONE, "4 thanks", now=NOW + timedelta(hours=1),
                                   actor="sms")
        assert answer is not None and (answer.ticket_number, answer.score, answer.stored) == (ticket.number, 4, True)
    with db.session() as session:
        assert session.get(Ticket, ticket.id).csat == 4  # type: ignore[union-attr]
        again = answer_from_reply(session, OutboundChannel.SMS, PHONE, "1", now=NOW + timedelta(hours=2), actor="s")
        assert again is not None and again.stored is False  # the first answer counts
        late = answer_from_reply(session, OutboundChannel.SMS, PHONE, "5", now=NOW + timedelta(days=8), actor="s")
        assert late is None  # a week on, a "5" is not a survey answer
        with pytest.raises(ValueError, match="1 to 5"):
            record_survey_answer(session, ticket.number, 9, actor="console:x")
    db.dispose()


def _database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    db.migrate()
    return db


def test_an_nps_answer_by_sms_is_stored_audited_thanked_and_counted(tmp_path: Path) -> None:
    db = _database(tmp_path)
    ticket = _surveyed(db, "nps")
    replies = SurveyReplies(db, clock=lambda: NOW + timedelta(hours=1), business="Brightbean")
    answer = replies.take(OutboundChannel.SMS, PHONE, "9 - quick and friendly", actor="customer:sms")
    assert answer is not None and (answer.ticket_number, answer.score, answer.stored) == (ticket.number, 9, True)
    said = thanks(answer)
    assert "9 out of 10" in said and f"#{ticket.number}" in said and "out of 5" not in said
    low = thanks(replace(answer, score=3))
    assert "3 out of 10" in low and "sorry" in low
    with db.session() as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None and (stored.nps, stored.csat) == (9, None)
        audited = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == ticket.id,
                                                           AuditEntry.action == "update")).all()
        assert [(a.actor, a.detail) for a in audited] == [("customer:sms", {"fields": ["nps"]})]
        # the KPI loader reads it: one promoter of one answer is an NPS of +100
        contacts = load_contacts(session, NOW.date(), NOW.date())
        assert [c.nps for c in contacts] == [9]
        assert kpis.net_promoter_score(contacts) == (100.0, 1)
    again = replies.take(OutboundChannel.SMS, PHONE, "2", actor="customer:sms")
    assert again is not None and again.stored is False  # the first answer counts
    db.dispose()


def test_a_csat_surveys_9_is_not_a_score(tmp_path: Path) -> None:
    db = _database(tmp_path)
    ticket = _surveyed(db)  # a survey that asked 1-5
    with db.session() as session:
        assert answer_from_reply(session, OutboundChannel.SMS, PHONE, "9", now=NOW, actor="sms") is None
        assert answer_from_reply(session, OutboundChannel.SMS, PHONE, "10/10", now=NOW, actor="sms") is None
    with db.session() as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None and (stored.csat, stored.nps) == (None, None)
    db.dispose()


def test_both_asks_csat_then_nps_in_the_thanks(tmp_path: Path) -> None:
    db = _database(tmp_path)
    ticket = _surveyed(db, "both")
    replies = SurveyReplies(db, clock=lambda: NOW + timedelta(hours=1), business="Brightbean")
    assert replies.take(OutboundChannel.SMS, PHONE, "9", actor="sms") is None  # the first question was 1-5
    first = replies.take(OutboundChannel.SMS, PHONE, "4", actor="sms")
    assert first is not None and first.scale == Scale.CSAT and first.stored
    assert "4 out of 5" in thanks(first) and "recommend Brightbean to a friend, from 0 to 10" in thanks(first)
    low = thanks(replace(first, score=1))  # sorry, then the one question to answer: in one 2-segment text
    assert "sorry" in low and "what went wrong" not in low and not fit_reply(low, 2).shortened
    second = replies.take(OutboundChannel.SMS, PHONE, "ten", actor="sms")
    assert second is not None and second.scale == Scale.NPS and second.score == 10 and not second.then_ask
    with db.session() as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None and (stored.csat, stored.nps) == (4, 10)
    db.dispose()


def _facts(csat: int | None = None) -> ContactFacts:
    return ContactFacts(reference=1042, ticket_id="t1", conversation_id=None, customer_id=None,
                        customer_name="Aisha Patel", first_name="Aisha", email=None, phone=PHONE,
                        problem="where is my order", done=(), status="resolved", plan=None, channel="sms",
                        ended_at=NOW, csat=csat)


@pytest.mark.parametrize(("asks", "csat", "question"), [("nps", None, "0 to 10"), ("csat", None, "1 (very poor)"),
                                                        ("both", None, "1 (very poor)"), ("both", 5, "0 to 10")])
def test_the_survey_asks_what_the_pack_says_and_records_it(asks: str, csat: int | None, question: str) -> None:
    pack = load_pack(Path("examples/demo"))
    settings = pack.business.outbound.model_copy(update={"survey_asks": asks, "survey_channel": "sms"})
    pack = replace(pack, business=pack.business.model_copy(update={"outbound": settings}))
    draft = Writer(pack).survey(_facts(csat))
    assert draft.rendered is not None and question in draft.rendered.text and "1042" in draft.rendered.text
    assert draft.message().headers[SURVEY_HEADER] == asks
    if question == "0 to 10":
        assert f"recommend {pack.business.name} to a friend" in draft.rendered.text
