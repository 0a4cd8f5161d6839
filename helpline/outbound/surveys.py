"""Survey answers: a customer's 1–5 score, stored on the ticket the survey asked about.

The SMS and email channels call ``answer_from_reply`` with whatever a customer sent back ("5", "4 - quick
and friendly", "5/5"): when the latest survey sent to that address is recent and its ticket is not rated,
the score is stored and the channel should not start a new conversation with it. ``record_survey_answer``
stores a score for a known ticket (a link, the console)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from helpline.outbound.ports import MessagePurpose, OutboundChannel
from helpline.outbound.queue import OutboundQueue
from helpline.store.models import Ticket
from helpline.store.repositories import TicketRepository

SURVEY_ANSWER_WINDOW = timedelta(days=7)
MIN_SCORE, MAX_SCORE = 1, 5
# A reply that is a score: the number alone, or first, optionally "out of 5" / "/5", then any comment.
SCORE_REPLY = re.compile(r"^\s*([1-5])(?:\s*(?:/|out of)\s*5)?(?:\s*$|[\s.,!:;\-–—)]+)", re.IGNORECASE)


@dataclass(frozen=True)
class SurveyAnswer:
    ticket_number: int
    score: int
    stored: bool  # False: the ticket had a rating already (the first one counts)


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
        return SurveyAnswer(ticket.number, score, stored)
    return None
