"""Conversations, their transcript lines and their stored state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from helpline.store.models import (
    Conversation,
    Message,
)
from helpline.store.repositories.base import (
    NotFound,
    _limit,
    _now,
    _Repository,
)
from helpline.store.validation import (
    CHANNELS,
    MESSAGE_ROLES,
    check_choice,
)


@dataclass(frozen=True)
class NewLine:
    """A line to add to a transcript (``ConversationRepository.append_messages``); its text already redacted."""

    role: str
    text: str
    meta: dict[str, Any] | None = None


class ConversationRepository(_Repository):
    """Conversations, their redacted transcript and the engine's saved state.

    ``append_message`` and ``save_state`` are called by the conversation itself; without an explicit
    actor they are audited as ``ai:conversation:<id>``.
    """

    def create(
        self,
        *,
        channel: str,
        actor: str,
        customer_id: str | None = None,
        language: str = "en",
        now: datetime | None = None,
    ) -> Conversation:
        check_choice("channel", channel, CHANNELS)
        moment = _now(now)
        conversation = Conversation(channel=channel, customer_id=customer_id, status="active", started_at=moment,
                                    last_activity_at=moment, language=language, state={}, sentiment=0.0)
        self.session.add(conversation)
        self.session.flush()
        self.audit.record(actor, "create", "conversation", conversation.id, customer_id, {"channel": channel})
        return conversation

    def get(self, conversation_id: str, *, actor: str) -> Conversation | None:
        conversation = self.session.get(Conversation, conversation_id)
        if conversation is not None:
            self.audit.record(actor, "read", "conversation", conversation.id, conversation.customer_id)
        return conversation

    def _require(self, conversation_id: str) -> Conversation:
        conversation = self.session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return conversation

    def append_message(
        self,
        conversation_id: str,
        role: str,
        text: str,
        meta: dict[str, Any] | None = None,
        *,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Message:
        """Add the next line of the transcript. ``text`` must already be redacted."""
        check_choice("message role", role, MESSAGE_ROLES)
        conversation = self._require(conversation_id)
        moment = _now(now)
        message = Message(conversation_id=conversation_id, seq=self.last_seq(conversation_id) + 1, role=role, text=text,
                          created_at=moment, meta=meta or {})
        self.session.add(message)
        conversation.last_activity_at = moment
        self.session.flush()
        self.audit.record(actor or f"ai:conversation:{conversation_id}", "create", "message",
                          f"{conversation_id}:{message.seq}", conversation.customer_id, {"role": role})
        return message

    def append_messages(self, conversation_id: str, lines: Sequence[NewLine], *, actor: str | None = None,
                        now: datetime | None = None) -> list[Message]:
        """Add the next lines of the transcript at once (a turn's message and replies): the last line's number is
        read once and the lines written together at the next flush, not a query and a flush a line. Texts must be
        redacted."""
        if not lines:
            return []
        for line in lines:
            check_choice("message role", line.role, MESSAGE_ROLES)
        conversation = self._require(conversation_id)
        moment = _now(now)
        first = self.last_seq(conversation_id) + 1
        messages = [Message(conversation_id=conversation_id, seq=first + n, role=line.role, text=line.text,
                            created_at=moment, meta=line.meta or {}) for n, line in enumerate(lines)]
        self.session.add_all(messages)
        conversation.last_activity_at = moment
        for message in messages:
            self.audit.record(actor or f"ai:conversation:{conversation_id}", "create", "message",
                              f"{conversation_id}:{message.seq}", conversation.customer_id, {"role": message.role})
        # No flush here: the turn's lines, state, ticket and audit rows go out in the commit's one flush (a
        # query in between autoflushes them first), which batches the inserts of each table.
        return messages

    def last_seq(self, conversation_id: str) -> int:
        """The number of the transcript's last line (0 before the first)."""
        return int(self.session.scalar(select(func.max(Message.seq)).where(
            Message.conversation_id == conversation_id)) or 0)

    def messages(self, conversation_id: str, *, actor: str | None = None) -> list[Message]:
        """The transcript in order. Audited only with an actor: callers normally audited ``get`` already."""
        found = list(self.session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        ))
        if actor is not None:
            conversation = self.session.get(Conversation, conversation_id)
            self.audit.record(actor, "read", "message", conversation_id,
                              conversation.customer_id if conversation else None, {"count": len(found)})
        return found

    def save_state(
        self,
        conversation_id: str,
        *,
        state: dict[str, Any],
        current_procedure: str | None = None,
        sentiment: float | None = None,
        language: str | None = None,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Conversation:
        conversation = self._require(conversation_id)
        # A fresh dict, so SQLAlchemy sees the JSON column change even if the caller mutated in place.
        conversation.state = dict(state)
        conversation.current_procedure = current_procedure
        if sentiment is not None:
            conversation.sentiment = float(sentiment)
        if language is not None:
            conversation.language = language
        conversation.last_activity_at = _now(now)
        self.audit.record(actor or f"ai:conversation:{conversation_id}", "update", "conversation",
                          conversation_id, conversation.customer_id, {"fields": ["state"]})
        return conversation

    def end(self, conversation_id: str, *, actor: str, now: datetime | None = None) -> Conversation:
        """Mark the conversation ended; ending an ended conversation changes nothing."""
        conversation = self._require(conversation_id)
        if conversation.status == "ended":
            return conversation
        moment = _now(now)
        conversation.status = "ended"
        conversation.ended_at = moment
        conversation.last_activity_at = moment
        self.session.flush()
        self.audit.record(actor, "update", "conversation", conversation_id, conversation.customer_id,
                          {"fields": ["status"], "status": "ended"})
        return conversation

    def list_active(self, *, actor: str, channel: str | None = None, limit: int = 100) -> list[Conversation]:
        query = select(Conversation).where(Conversation.status == "active")
        if channel is not None:
            query = query.where(Conversation.channel == check_choice("channel", channel, CHANNELS))
        found = list(self.session.scalars(query.order_by(Conversation.started_at).limit(_limit(limit))))
        self.audit.record(actor, "read", "conversation", "*", None,
                          {"list": "active", "ids": [c.id for c in found]})
        return found


