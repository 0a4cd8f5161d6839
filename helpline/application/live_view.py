"""What the console's live view and conversation pages read: active conversations with what needs a person's
eye, one conversation's transcript and state, and who handles it. Plain views, never the store's rows."""

from __future__ import annotations

from helpline.store.db import Database
from helpline.store.models import Conversation


def conversation_exists(db: Database, conversation_id: str) -> bool:
    with db.read_session() as session:
        return session.get(Conversation, conversation_id) is not None
