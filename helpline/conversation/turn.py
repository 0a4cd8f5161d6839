"""One turn of a conversation: the facts from outside it, and what it accumulates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpline.conversation.commands import Interpretation
from helpline.conversation.incidents import Incident
from helpline.conversation.ports import ContactHistory, JoinedContact, VerificationThrottle
from helpline.conversation.state import ConversationState

__all__ = ["Incident", "Turn", "TurnContext"]


@dataclass
class TurnContext:
    """Facts from outside the conversation for this turn."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    incidents: Sequence[Incident] = ()
    ticket_number: int | None = None
    channel: str = "chat"
    # verification attempts counted across conversations, in this turn's transaction (None: this conversation only)
    throttle: VerificationThrottle | None = None
    contacts: ContactHistory | None = None  # the customer's other open contacts, asked once they are verified
    joined_into: JoinedContact | None = None  # this contact's ticket was folded into another one


class Turn:
    """Accumulates replies and events while one message is handled."""

    def __init__(self, state: ConversationState, context: TurnContext):
        self.state = state
        self.context = context
        self.replies: list[str] = []
        self.events: list[Any] = []
        self.interpretation: Interpretation | None = None
        self._language = ""  # set for this turn only (a language the pack does not speak, named in it)

    @property
    def language(self) -> str:
        """The language replies are worded in: this turn's, else the conversation's ("" = the pack's own)."""
        return self._language or self.state.language

    @language.setter
    def language(self, value: str) -> None:
        self._language = value
