"""A website chat's session as the widget needs it, without the widget reaching into the store.

A browser that starts a chat gets a random resume token (stored as its SHA-256, bound to the widget key the page
used); with it, and only with it, the same tab reconnects to the same conversation. On each (re)connect and on
each change the widget replays what the customer may see after the last line it showed: never a staff whisper.
A chat is rated once: two racing ratings cannot both land.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpline.application.recorder import TurnRecorder
from helpline.application.views import customer_visible
from helpline.store.db import Database
from helpline.store.models import Conversation
from helpline.store.repositories import ConversationRepository, TicketRepository, WidgetChatRepository


@dataclass(frozen=True)
class VisibleLine:
    """One transcript line the customer may see."""

    seq: int
    role: str  # customer | agent | human | system
    text: str
    by: str  # the person's display name on a person's reply, else ""


@dataclass(frozen=True)
class CustomerReplay:
    """What the customer may see after a given line, the conversation's status, and whether a person has it."""

    lines: tuple[VisibleLine, ...]
    status: str  # active | ended (also for a conversation that no longer exists)
    handled_by_person: bool


def bind_chat(db: Database, conversation_id: str, widget_key_id: str) -> str:
    """Tie a new widget conversation to the key its page used; the resume token the browser keeps."""
    with db.session() as session:
        return WidgetChatRepository(session).create(conversation_id, widget_key_id)


def owns_chat(db: Database, conversation_id: str, token: str, widget_key_id: str) -> bool:
    """Whether ``token`` resumes that conversation through that widget key."""
    with db.session() as session:
        return WidgetChatRepository(session).owns(conversation_id, token, widget_key_id)


def customer_replay(db: Database, conversation_id: str, after: int) -> CustomerReplay:
    """The lines after ``after`` the customer may see (no whispers), in order."""
    with db.session() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return CustomerReplay((), "ended", False)
        lines = tuple(
            VisibleLine(m.seq, m.role, m.text, (m.meta or {}).get("name", "") if m.role == "human" else "")
            for m in ConversationRepository(session).messages(conversation_id)
            if m.seq > after and customer_visible(m.role, m.meta)
        )
        return CustomerReplay(lines, conversation.status, bool(conversation.handled_by))


def rate_once(db: Database, conversation_id: str, score: int, actor: str) -> bool | None:
    """Store the customer's 1-5 rating on the conversation's ticket unless it has one: True; False if it was
    rated already; None if there is no such conversation or ticket."""
    with db.session() as session:
        conversation = ConversationRepository(session).get(conversation_id, actor=actor)
        if conversation is None:
            return None
        ticket = TurnRecorder(session, conversation, actor=actor).ticket()
        if ticket is None:
            return None
        return TicketRepository(session).rate_once(ticket.id, score, actor=actor)
