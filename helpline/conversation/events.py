"""What happened in a turn, for the application layer to record (ticket, audit, handoff, callback)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpline.llm.port import TurnModelUsage


@dataclass(frozen=True)
class OperationCalled:
    name: str
    args: dict[str, Any]
    ok: bool
    changes_data: bool
    customer_id: str | None
    error: str = ""


@dataclass(frozen=True)
class CustomerVerified:
    customer: dict[str, Any]
    method: tuple[str, ...]


@dataclass(frozen=True)
class CallerIdentified:
    """Who was served on an account (audited): its holder, an authorised user by name, or a third party
    refused (issue 15: "account holder or authorised user only")."""

    customer_id: str
    served: str  # verification.Served: holder | authorised_user | refused
    name: str = ""  # the caller's own name as given (an authorised user's as on the account)
    relationship: str = ""  # his words ("her son") or the account's ("son")


@dataclass(frozen=True)
class Escalated:
    tier: str
    reason: str
    summary: dict[str, Any]  # who, issue, steps_tried, customer_wants, mood, urgency
    out_of_hours: bool = False


@dataclass(frozen=True)
class CallbackRequested:
    reason: str
    due_at: datetime
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class ProcedureFinished:
    procedure_id: str
    outcome: str
    resolution: str = ""


@dataclass(frozen=True)
class HandoffNote:
    """Something the customer added after the hand-off, for the person taking over."""

    note: str


@dataclass(frozen=True)
class KnowledgeGap:
    question: str
    best_score: float


@dataclass(frozen=True)
class TeamQuestionAsked:
    """The knowledge base did not answer and a colleague was asked instead of handing off (teamwork.py)."""

    question: str


@dataclass(frozen=True)
class TicketsJoined:
    """The customer said another open contact is about the same issue: its ticket is folded into this one."""

    other_ticket_number: int


@dataclass(frozen=True)
class ConversationEnded:
    reason: str


@dataclass
class TurnResult:
    replies: list[str]
    events: list[Any] = field(default_factory=list)
    redacted_text: str = ""
    intent: str | None = None
    frustration: float = 0.0
    # which reader understood the message ("embedded", "llm") and what a language model cost, when one was asked
    understood_by: str = "embedded"
    model_usage: TurnModelUsage | None = None
