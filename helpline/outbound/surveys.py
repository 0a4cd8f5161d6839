"""Survey answers: a customer's CSAT 1–5 or NPS 0–10 answer, stored on the ticket the survey asked about.

The pack's ``outbound.survey_asks`` says what a survey asks: CSAT ("how did we do, 1 to 5"), NPS ("how likely
are you to recommend us, 0 to 10") or both in turn, CSAT first (the thanks for the CSAT answer asks the NPS
question). The survey message records what it asked (``SURVEY_HEADER``), so a reply is read on the scale that
was asked: a "9" answers an NPS question and is not a score at all after a CSAT one.

The SMS and email channels ask ``SurveyReplies.take`` about what a customer sent back ("5", "4 - quick and
friendly", "5/5", "10/10", "nine") before anything else reads it: when it is an answer and the latest survey sent
to that address in the last week asked about a ticket, the answer is stored on that ticket (the first answer
counts, audited) and the channel answers with ``thanks`` instead of starting a conversation. A channel asks only
when the address has no conversation open: there a "5" answers the agent (how many, which one).
``record_survey_answer`` stores a CSAT score for a known ticket (a link, the console)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.orm import Session

from helpline.outbound.ports import MessagePurpose, OutboundChannel
from helpline.outbound.queue import OutboundQueue
from helpline.store.db import Database
from helpline.store.models import Ticket, utcnow
from helpline.store.repositories import AuditLog, TicketRepository

SURVEY_ANSWER_WINDOW = timedelta(days=7)
# The sent survey's record of what it asked (the pack's survey_asks when it was written); none: CSAT (older rows).
SURVEY_HEADER = "X-Helpline-Survey"


class Scale(StrEnum):
    CSAT = "csat"  # 1-5
    NPS = "nps"  # 0-10


ASKS: dict[str, tuple[Scale, ...]] = {"csat": (Scale.CSAT,), "nps": (Scale.NPS,), "both": (Scale.CSAT, Scale.NPS)}
RANGES = {Scale.CSAT: (1, 5), Scale.NPS: (0, 10)}
MIN_SCORE, MAX_SCORE = RANGES[Scale.CSAT]
# A reply that is a score: the number alone, or first, optionally "out of 5" / "/5", then any comment.
SCORE_REPLY = re.compile(r"^\s*([1-5])(?:\s*(?:/|out of)\s*5)?(?:\s*$|[\s.,!:;\-–—)]+)", re.IGNORECASE)
NPS_REPLY = re.compile(r"^\s*(10|[0-9])(?:\s*(?:/|out of)\s*10)?(?:\s*$|[\s.,!:;\-–—)]+)", re.IGNORECASE)
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
# A number in words counts only as the whole reply ("nine", "Ten out of ten!"): "one more thing" is no score.
WORD_REPLY = re.compile(rf"^\s*({'|'.join(NUMBER_WORDS)})(?:\s*(?:/|out of)\s*(?:five|ten|5|10))?\s*[.!]*\s*$",
                        re.IGNORECASE)

LOW_SCORE = 2  # and below: the thanks says sorry and how to tell us more
LOW_NPS = 6  # and below: a detractor, as NPS counts them
THANKS = "Thank you for rating us {score} out of 5 (ticket #{ticket}). It helps us improve."
THANKS_LOW = ("Thank you for rating us {score} out of 5 (ticket #{ticket}). We're sorry we fell short; reply "
              "with what went wrong and we'll look into it.")
# before the NPS question ("both"): one thing to reply with at a time, and the two fit in one 2-segment SMS
THANKS_LOW_THEN = "Thank you for rating us {score} out of 5 (ticket #{ticket}). We're sorry we fell short."
THANKS_NPS = "Thank you: {score} out of 10 (ticket #{ticket}). It helps us improve."
THANKS_NPS_LOW = ("Thank you: {score} out of 10 (ticket #{ticket}). We're sorry we fell short; reply with what "
                  "would make you more likely to recommend us and we'll look into it.")
NPS_QUESTION = "How likely are you to recommend {business} to a friend, from 0 to 10?"
THEN_NPS = " One more question: {question} Reply with a number from 0 (not at all likely) to 10 (extremely likely)."
ALREADY_RATED = "Thank you. We already have your rating for ticket #{ticket}; the first one counts."


def nps_question(business: str) -> str:
    return NPS_QUESTION.format(business=business.strip() or "us")


@dataclass(frozen=True)
class SurveyAnswer:
    ticket_number: int
    score: int
    stored: bool  # False: the ticket had an answer on this scale already (the first one counts)
    conversation_id: str | None = None  # the contact the survey asked about
    scale: Scale = Scale.CSAT
    then_ask: str = ""  # the next question of the survey ("both": NPS after CSAT), asked in the thanks


def thanks(answer: SurveyAnswer) -> str:
    """What the customer is told after answering a survey, with its next question when it has one."""
    if not answer.stored:
        return ALREADY_RATED.format(ticket=answer.ticket_number)
    if answer.scale == Scale.NPS:
        wording = THANKS_NPS_LOW if answer.score <= LOW_NPS else THANKS_NPS
    else:
        wording = (THANKS_LOW_THEN if answer.then_ask else THANKS_LOW) if answer.score <= LOW_SCORE else THANKS
    said = wording.format(score=answer.score, ticket=answer.ticket_number)
    if not answer.then_ask:
        return said
    return said + THEN_NPS.format(question=answer.then_ask[0].lower() + answer.then_ask[1:])


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def reading_in(text: str, scale: Scale) -> int | None:
    """The answer a reply gives on ``scale``, or None when it is not one ("9" is no CSAT score)."""
    line = _first_line(text)
    match = (NPS_REPLY if scale == Scale.NPS else SCORE_REPLY).match(line)
    if match:
        return int(match.group(1))
    word = WORD_REPLY.match(line)
    if word is None:
        return None
    value = NUMBER_WORDS.index(word.group(1).lower())
    low, high = RANGES[scale]
    return value if low <= value <= high else None


def score_in(text: str) -> int | None:
    """The 1–5 score a reply gives, or None when it is not a score."""
    return reading_in(text, Scale.CSAT)


def any_reading(text: str) -> bool:
    """Whether a reply reads as an answer on either scale (the channels' cheap check before any database work)."""
    return reading_in(text, Scale.NPS) is not None or reading_in(text, Scale.CSAT) is not None


def scales_asked(headers: Mapping[str, str] | None) -> tuple[Scale, ...]:
    return ASKS.get((headers or {}).get(SURVEY_HEADER, "csat"), (Scale.CSAT,))


def record_survey_answer(session: Session, ticket: Ticket | int, score: int, *, actor: str,
                         now: datetime | None = None) -> bool:
    """Store ``score`` (1–5) as the ticket's rating; False if it was rated already. ``ValueError`` for a
    score out of range or a ticket number that does not exist."""
    if not isinstance(score, int) or not MIN_SCORE <= score <= MAX_SCORE:
        raise ValueError(f"a survey score is a whole number from {MIN_SCORE} to {MAX_SCORE}, not {score!r}")
    tickets = TicketRepository(session)
    if isinstance(ticket, int):
        found = tickets.get_by_number(ticket, actor=actor)
        if found is None:
            raise ValueError(f"no ticket {ticket}")
        ticket = found
    return tickets.rate_once(ticket.id, score, actor=actor, now=now)


def record_nps_answer(session: Session, ticket: Ticket, score: int, *, actor: str,
                      now: datetime | None = None) -> bool:
    """Store ``score`` (0–10) as the ticket's NPS answer if it has none yet (one atomic ``UPDATE … WHERE nps IS
    NULL``, audited like a rating); False when it had one. ``ValueError`` for a score out of range."""
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
        raise ValueError(f"an NPS answer is a whole number from 0 to 10, not {score!r}")
    moment = now or utcnow()
    result = session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.nps.is_(None))
        .values(nps=score, updated_at=moment).execution_options(synchronize_session=False))
    if not getattr(result, "rowcount", 0):
        return False
    session.refresh(ticket)
    AuditLog(session).record(actor, "update", "ticket", ticket.id, ticket.customer_id, {"fields": ["nps"]})
    return True


def _question(ticket: Ticket, asked: tuple[Scale, ...]) -> Scale:
    """Which of the survey's questions a reply answers now: the first one the ticket has no answer to (the
    last one when it has them all, so a second answer is told the first one counts)."""
    for scale in asked:
        if (ticket.csat if scale == Scale.CSAT else ticket.nps) is None:
            return scale
    return asked[-1]


def answer_from_reply(session: Session, channel: OutboundChannel, address: str, text: str, *, now: datetime,
                      actor: str, business: str = "") -> SurveyAnswer | None:
    """If ``text`` from ``address`` answers the latest survey sent to it (within a week), store the answer
    on the scale that survey asked and return it; None when the message is something else."""
    if not any_reading(text):
        return None
    for sent in OutboundQueue(session).sent_to(channel, address, MessagePurpose.SURVEY, now - SURVEY_ANSWER_WINDOW):
        ticket = session.get(Ticket, sent.ticket_id) if sent.ticket_id else None
        if ticket is None:
            continue
        asked = scales_asked(sent.headers)
        scale = _question(ticket, asked)
        score = reading_in(text, scale)
        if score is None:
            return None
        if scale == Scale.NPS:
            stored = record_nps_answer(session, ticket, score, actor=actor, now=now)
        else:
            stored = record_survey_answer(session, ticket, score, actor=actor, now=now)
        then_ask = nps_question(business) if stored and scale == Scale.CSAT and Scale.NPS in asked \
            and ticket.nps is None else ""
        return SurveyAnswer(ticket.number, score, stored, sent.conversation_id or ticket.conversation_id, scale,
                            then_ask)
    return None


@dataclass(frozen=True)
class SurveyReplies:
    """``answer_from_reply`` in a transaction of its own, for the channels. ``business``: the name the NPS
    question says ("us" without it)."""

    db: Database
    clock: Callable[[], datetime] = utcnow
    business: str = ""

    def take(self, channel: OutboundChannel, address: str, text: str, *, actor: str) -> SurveyAnswer | None:
        if not any_reading(text):  # most messages: no database work at all
            return None
        with self.db.session() as session:
            return answer_from_reply(session, channel, address, text, now=self.clock(), actor=actor,
                                     business=self.business)
