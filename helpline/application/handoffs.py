"""The hand-off of a conversation as the channels need it, read without them reaching into the store.

A phone call transferring the caller reads back the hand-off the engine just recorded (tickets, tier,
summary) to tell the person who picks up; this is its typed view.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpline.store.db import Database
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


def latest_handoff(db: Database, conversation_id: str) -> HandoffView | None:
    """The conversation's most recent hand-off (the read audited as the AI of that conversation)."""
    with db.session() as session:
        found = HandoffRepository(session).list(
            actor=f"ai:conversation:{conversation_id}", conversation_id=conversation_id, limit=HANDOFFS_READ
        )
        if not found:
            return None
        last = found[-1]
        return HandoffView(
            tier=last.tier,
            customer_summary=last.customer_summary,
            issue=last.issue,
            customer_wants=last.customer_wants,
            mood=last.mood,
            urgency=last.urgency,
            steps_tried=tuple(last.steps_tried),
        )
