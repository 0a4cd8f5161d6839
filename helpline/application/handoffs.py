"""The hand-off of a conversation as the channels need it, read without them reaching into the store.

A phone call transferring the caller tells the person who picks up the hand-off the engine recorded (tier,
summary); this is its typed view. The turn that hands off carries it (``TurnView.handoff``); ``latest_handoff``
reads the conversation's latest one back.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpline.store.db import Database
from helpline.store.models import Handoff
from helpline.store.repositories import HandoffRepository

# Hand-offs are listed oldest first; a conversation has a handful, this bound only keeps one read small.
HANDOFFS_READ = 500


@dataclass(frozen=True)
class HandoffView:
    """What the person taking over hears or reads: who, the issue, what they want, what was tried."""

    tier: str
    customer_summary: str
    issue: str
    customer_wants: str
    mood: str
    urgency: str
    steps_tried: tuple[str, ...]

    @classmethod
    def of(cls, handoff: Handoff) -> HandoffView:
        return cls(tier=handoff.tier, customer_summary=handoff.customer_summary, issue=handoff.issue,
                   customer_wants=handoff.customer_wants, mood=handoff.mood, urgency=handoff.urgency,
                   steps_tried=tuple(handoff.steps_tried))


def latest_handoff(db: Database, conversation_id: str) -> HandoffView | None:
    """The conversation's most recent hand-off (the read audited as the AI of that conversation)."""
    with db.session() as session:
        found = HandoffRepository(session).list(
            actor=f"ai:conversation:{conversation_id}", conversation_id=conversation_id, limit=HANDOFFS_READ
        )
        if not found:
            return None
        return HandoffView.of(found[-1])


def mark_taken(db: Database, conversation_id: str, by: str) -> bool:
    """A person took the conversation's open hand-off outside the console (a phone transfer they answered), so
    the KPIs count it as taken. False when there is none open (already taken, or none made)."""
    with db.session() as session:
        repo = HandoffRepository(session)
        open_ones = repo.list(actor=f"ai:conversation:{conversation_id}", conversation_id=conversation_id,
                              limit=HANDOFFS_READ, pending_only=True)
        if not open_ones:
            return False
        repo.accept(open_ones[-1].id, actor=f"ai:conversation:{conversation_id}", accepted_by=by)
        return True
