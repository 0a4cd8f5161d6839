"""What the console's knowledge page reads from conversations: the customers' questions no article answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from helpline.store.db import Database
from helpline.store.models import Message
from helpline.store.repositories import AuditLog

GAP_SCAN = 5000  # the latest customer lines looked through


@dataclass
class Gap:
    text: str
    count: int
    last_at: datetime
    conversation_id: str


def knowledge_gaps(db: Database, actor: str, limit: int = 100) -> list[Gap]:
    """Customer questions the agent could not answer (messages marked kb_gap), most asked first; the read is
    audited as ``actor``'s."""
    with db.session() as session:
        recent = session.scalars(select(Message).where(Message.role == "customer")
                                 .order_by(Message.id.desc()).limit(GAP_SCAN))
        gaps: dict[str, Gap] = {}
        for m in recent:
            if not (m.meta or {}).get("kb_gap"):
                continue
            key = " ".join(m.text.lower().split())
            if key in gaps:
                gaps[key].count += 1
            else:
                gaps[key] = Gap(m.text, 1, m.created_at, m.conversation_id)
        AuditLog(session).record(actor, "read", "message", "*", None, {"list": "kb_gaps", "count": len(gaps)})
    return sorted(gaps.values(), key=lambda g: (-g.count, -g.last_at.timestamp()))[:limit]
