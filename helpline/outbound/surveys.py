"""Survey answers: a customer's 1–5 score, stored on the ticket the survey asked about.

The SMS and email channels ask ``SurveyReplies.take`` about what a customer sent back ("5", "4 - quick and
friendly", "5/5") before anything else reads it: when it is a score and the latest survey sent to that address
in the last week asked about a ticket, the score is stored on that ticket (the first answer counts) and the
channel answers with ``thanks`` instead of starting a conversation. A channel asks only when the address has
no conversation open: there a "5" answers the agent (how many, which one). ``record_survey_answer`` stores a
score for a known ticket (a link, the console)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from helpline.outbound.ports import MessagePurpose, OutboundChannel
from helpline.outbound.queue import OutboundQueue
from helpline.store.db import Database
from helpline.store.models import Ticket, utcnow
from helpline.store.repositories import TicketRepository

SURVEY_ANSWER_WINDOW = timedelta(days=7)
MIN_SCORE, MAX_SCORE = 1, 5
# A reply that is a score: the number alone, or first, optionally "out of 5" / "/5", then any comment.
SCORE_REPLY = re.compile(r"^\s*([1-5])(?:\s*(?:/|out of)\s*5)?(?:\s*$|[\s.,!:;\-–—)]+)", re.IGNORECASE)


LOW_SCORE = 2  # and below: the thanks says sorry and how to tell us more
THANKS = "Thank you for rating us {score} out of 5 (ticket #{ticket}). It helps us improve."
THANKS_LOW = ("Thank you for rating us {score} out of 5 (ticket #{ticket}). We're sorry we fell short; reply "
              "with what went wrong and we'll look into it.")
ALREADY_RATED = "Thank you. We already have your rating for ticket #{ticket}; the first one counts."


@dataclass(frozen=True)
class SurveyAnswer:
    ticket_number: int
    score: int
    stored: bool  # False: the ticket had a rating already (the first one counts)
    conversation_id: str | None = None  # the contact the survey asked about


def thanks(answer: SurveyAnswer) -> str:
    """What the customer is told after answering a survey."""
    if not answer.stored:
        return ALREADY_RATED.format(ticket=answer.ticket_number)
    wording = THANKS_LOW if answer.score <= LOW_SCORE else THANKS
    return wording.format(score=answer.score, ticket=answer.ticket_number)


def score_in(text: str) -> int | None:
    """The 1–5 score a reply gives, or None when it is not a score."""
    match = SCORE_REPLY.match(text.strip().splitlines()[0] if text.strip() else "")
    return int(match.group(1)) if match else None


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


def answer_from_reply(session: Session, channel: OutboundChannel, address: str, text: str, *, now: datetime,
                      actor: str) -> SurveyAnswer | None:
    """If ``text`` from ``address`` answers the latest survey sent to it (within a week), store the score
    and return it; None when the message is something else."""
    score = score_in(text)
    if score is None:
        return None
    for sent in OutboundQueue(session).sent_to(channel, address, MessagePurpose.SURVEY, now - SURVEY_ANSWER_WINDOW):
        ticket = session.get(Ticket, sent.ticket_id) if sent.ticket_id else None
        if ticket is None:
            continue
        stored = record_survey_answer(session, ticket, score, actor=actor, now=now)
        return SurveyAnswer(ticket.number, score, stored, sent.conversation_id or ticket.conversation_id)
    return None


@dataclass(frozen=True)
class SurveyReplies:
    """``answer_from_reply`` in a transaction of its own, for the channels."""

    db: Database
    clock: Callable[[], datetime] = utcnow

    def take(self, channel: OutboundChannel, address: str, text: str, *, actor: str) -> SurveyAnswer | None:
        if score_in(text) is None:  # most messages: no database work at all
            return None
        with self.db.session() as session:
            return answer_from_reply(session, channel, address, text, now=self.clock(), actor=actor)
