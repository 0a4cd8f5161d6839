"""Survey answers: a reply that is a 1-5 score is stored on the ticket the latest survey to that address asked
about; anything else is left for the conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpline.outbound.ports import DeliveryResult, MessagePurpose, OutboundChannel, OutboundMessage
from helpline.outbound.queue import OutboundQueue, RetryPolicy
from helpline.outbound.surveys import answer_from_reply, record_survey_answer, score_in
from helpline.store.db import Database
from helpline.store.models import Ticket
from helpline.store.repositories import TicketRepository

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PHONE = "+15125550126"


@pytest.mark.parametrize(("text", "score"), [("5", 5), (" 4 - quick and friendly", 4), ("5/5", 5),
                                             ("3 out of 5", 3), ("1.", 1), ("6", None), ("15", None),
                                             ("where is my order", None), ("", None), ("2nd order missing", None)])
def test_a_score_is_read_only_from_a_reply_that_is_one(text: str, score: int | None) -> None:
    assert score_in(text) == score


def _surveyed(db: Database) -> Ticket:
    with db.session() as session:
        ticket = TicketRepository(session).create(actor="test", channel="sms", summary="Order status",
                                                  status="resolved", now=NOW)
        queue = OutboundQueue(session)
        record = queue.enqueue(OutboundMessage(channel=OutboundChannel.SMS, to=PHONE, text="How did we do?",
                                               purpose=MessagePurpose.SURVEY), dedupe_key=f"survey:{ticket.id}",
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
