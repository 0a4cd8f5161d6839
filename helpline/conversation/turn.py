"""One turn of a conversation: the facts from outside it, and what it accumulates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpline.conversation.commands import Interpretation
from helpline.conversation.ports import VerificationThrottle
from helpline.conversation.state import ConversationState


@dataclass(frozen=True)
class Incident:
    id: str
    title: str
    message: str
    affected: tuple[str, ...] = ()
    expected_fix: str | None = None

    def affects(self, tags: Sequence[str]) -> bool:
        return not self.affected or bool(set(self.affected) & set(tags))


@dataclass
class TurnContext:
    """Facts from outside the conversation for this turn."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    incidents: Sequence[Incident] = ()
    ticket_number: int | None = None
    channel: str = "chat"
    # verification attempts counted across conversations, in this turn's transaction (None: this conversation only)
    throttle: VerificationThrottle | None = None


class Turn:
    """Accumulates replies and events while one message is handled."""

    def __init__(self, state: ConversationState, context: TurnContext):
        self.state = state
        self.context = context
        self.replies: list[str] = []
        self.events: list[Any] = []
        self.interpretation: Interpretation | None = None
        self.language = "en"
