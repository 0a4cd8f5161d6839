"""The staff's actions on a live conversation: take over, hand back, whisper, reply, and what they said.

Each runs under the conversation's turn lock in one transaction (a person's action and a customer's turn never
interleave) and then tells the live views and the channels on the bus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.application.turns import MAX_MESSAGE_CHARS, ConversationTurns
from helpline.application.views import NOTICE, STAFF_ONLY, ConversationClosed, ConversationNotFound, customer_visible
from helpline.conversation.state import ConversationState
from helpline.store.models import Conversation, Message
from helpline.store.repositories import ConversationRepository
from helpline.understanding.redaction import redact


class StaffActions(ConversationTurns):
    """People in the conversation (console, a staff phone): what they do to it, under the turn's lock."""

    def _staff_turn(self, conversation_id: str, actor: str, kind: str, change: Callable[[Session, Any], None]) -> None:
        """Run a staff action on an active conversation in one transaction, then tell the live views."""
        with self._turn(conversation_id) as session:
            conversation = ConversationRepository(session).get(conversation_id, actor=actor)
            if conversation is None:
                raise ConversationNotFound(conversation_id)
            if conversation.status != "active":
                raise ConversationClosed(conversation_id)
            change(session, conversation)
        self.bus.publish(conversation_id, kind)

    def take_over(self, conversation_id: str, by: str, display_name: str, actor: str) -> None:
        """A person answers from now on; the AI stops replying until ``hand_back``."""
        def change(session: Session, conversation: Any) -> None:
            if conversation.handled_by == by:
                return
            conversation.handled_by = by
            ConversationRepository(session).append_message(
                conversation_id, role="system", text=f"{display_name} (a member of our team) has joined the chat.",
                meta={**NOTICE, "by": by}, actor=actor, now=self.clock())

        self._staff_turn(conversation_id, actor, "takeover", change)

    def hand_back(self, conversation_id: str, by: str, actor: str) -> None:
        """The AI answers again, picking up where it was (an escalated conversation routes again)."""
        def change(session: Session, conversation: Any) -> None:
            if not conversation.handled_by:
                return
            conversation.handled_by = None
            state = ConversationState.from_json(conversation.state)
            state.escalated = False
            repo = ConversationRepository(session)
            repo.save_state(conversation_id, state=state.to_json(),
                            current_procedure=state.active.procedure_id if state.active else None,
                            actor=actor, now=self.clock())
            persona = self.engine.pack.business.persona.name
            repo.append_message(conversation_id, role="system", text=f"You're back with {persona}, our virtual "
                                "assistant.", meta={**NOTICE, "by": by}, actor=actor, now=self.clock())

        self._staff_turn(conversation_id, actor, "handback", change)

    def staff_lines_since(self, conversation_id: str, after: int) -> tuple[list[tuple[int, str]], bool]:
        """What people said to the customer after message ``after``: their replies and the joined / left
        notices (never whispers), as (seq, text); and whether a person handles the conversation now. A phone
        call speaks these, since the caller cannot read the console's replies."""
        with self.db.read_session() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                return [], False
            rows = session.scalars(select(Message).where(
                Message.conversation_id == conversation_id, Message.seq > after,
                Message.role.in_(("human", "system"))).order_by(Message.seq))
            lines = [(m.seq, m.text) for m in rows if customer_visible(m.role, m.meta)
                     and (m.role == "human" or (m.meta or {}).get("notice")) and not (m.meta or {}).get("spoken")]
            return lines, bool(conversation.handled_by)

    def whisper(self, conversation_id: str, by: str, text: str, actor: str) -> None:
        """A hint for the staff on this conversation; never shown to the customer."""
        text = text.strip()[:MAX_MESSAGE_CHARS]
        if not text:
            raise ValueError("a whisper needs some text")

        def change(session: Session, _conversation: Any) -> None:
            # Staff paste what customers tell them on the phone: whispers are redacted like the rest.
            ConversationRepository(session).append_message(conversation_id, role="system", text=redact(text)[0],
                                                           meta={**STAFF_ONLY, "by": by}, actor=actor,
                                                           now=self.clock())

        self._staff_turn(conversation_id, actor, "whisper", change)

    def human_reply(self, conversation_id: str, by: str, display_name: str, text: str, actor: str) -> None:
        """A person's reply to the customer (stored with role "human"); only by whoever handles it."""
        text = text.strip()[:MAX_MESSAGE_CHARS]
        if not text:
            raise ValueError("a reply needs some text")

        def change(session: Session, conversation: Any) -> None:
            if conversation.handled_by != by:
                raise PermissionError("take the conversation over (or accept it) before replying")
            ConversationRepository(session).append_message(
                conversation_id, role="human", text=redact(text)[0], meta={"by": by, "name": display_name},
                actor=actor, now=self.clock())

        self._staff_turn(conversation_id, actor, "message", change)

    def staff_spoke(self, conversation_id: str, by: str, display_name: str, text: str, actor: str) -> None:
        """What a person said to the caller on their own phone (a take-over or barge-in, recognised): their line,
        marked spoken so the call's voice does not say it again. The phone line decides who may speak."""
        text = text.strip()[:MAX_MESSAGE_CHARS]
        if not text:
            return

        def change(session: Session, _conversation: Any) -> None:
            ConversationRepository(session).append_message(
                conversation_id, role="human", text=redact(text)[0],
                meta={"by": by, "name": display_name, "spoken": True}, actor=actor, now=self.clock())

        self._staff_turn(conversation_id, actor, "message", change)
