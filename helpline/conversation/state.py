"""Conversation state: plain data, serialised to JSON after every turn so nothing is lost on a crash."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from helpline.conversation.ports import ClientIdentity, ClientKind


@dataclass
class ProcedureRun:
    procedure_id: str
    pc: int = 0
    slots: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    awaiting: str | None = None  # "slot:<name>" | "confirm" | None
    confirm_granted: bool = False
    reasks: int = 0
    started_turn: int = 0
    queued: bool = False  # a second request from the same message, not started yet
    opening_text: str = ""  # the (redacted) message that started it, to fill slots from
    offered: list[str] = field(default_factory=list)  # the options last read out ("which one do you mean: ...")
    incident_handled: str = ""  # the incident whose `during_incident` changed this run (applied once)
    # slot -> values the customer ruled out for it ("thursday doesn't work"): never taken, never filled from memory
    ruled_out: dict[str, list[str]] = field(default_factory=dict)
    # slot -> a window the customer gave where one day or time is asked ("between the 3rd and the 5th")
    windows: dict[str, str] = field(default_factory=dict)
    # slot -> the turn it was cleared or refused in: what was said up to then is not its value any more, so a
    # re-ask waits for a new message instead of re-reading this one
    consumed_turn: dict[str, int] = field(default_factory=dict)


@dataclass
class Verification:
    in_progress: bool = False
    attempts: int = 0
    collected: dict[str, str] = field(default_factory=dict)
    # step-up by one-time code: only a salted hash of the code is kept, never the code itself
    code_pending: bool = False
    code_hash: str = ""
    code_salt: str = ""
    code_expires_at: str = ""  # ISO time
    code_attempts: int = 0
    code_sent_to: str = ""  # masked ("j•••@example.com")
    code_locked: bool = False  # too many wrong codes: no step-up again in this conversation


@dataclass
class RequestRecord:
    """One request handled in the conversation; the ticket is built from these."""

    procedure_id: str
    title: str
    category: str
    priority: str
    # open | resolved | unresolved | escalated | callback | withdrawn (replaced by another) | handed_over (a
    # `handover` step started another procedure with what was learned)
    outcome: str = "open"
    resolution: str = ""
    tags: list[str] = field(default_factory=list)


SCHEMA_VERSION = 3


@dataclass
class ConversationState:
    schema_version: int = SCHEMA_VERSION
    turn: int = 0
    customer: dict[str, Any] | None = None  # the verified customer's record
    assurance: int = 0  # identity assurance reached: 0 none, 1 identified (email, name + ZIP), 2 strong
    verification: Verification = field(default_factory=Verification)
    active: ProcedureRun | None = None
    suspended: list[ProcedureRun] = field(default_factory=list)
    pending_offer: str | None = None  # "human" | "callback" | "anything_else"
    misunderstandings: int = 0
    out_of_scope_count: int = 0
    apologised: bool = False
    upset_turns: int = 0
    escalated: bool = False
    ended: bool = False
    known: dict[str, str] = field(default_factory=dict)  # entity type -> latest value said
    known_turn: dict[str, int] = field(default_factory=dict)  # entity type -> turn it was said
    steps_taken: list[str] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    incidents_told: list[str] = field(default_factory=list)
    # where the caller said they are (towns named in an incident's scope, or what they answered when asked),
    # matched against scoped incidents while they are not verified; asked at most once per conversation
    places: list[str] = field(default_factory=list)
    place_asked: bool = False
    language: str = ""  # the customer's language as last detected with confidence ("" = the pack's)
    escalated_tier: str | None = None  # the team a hand-off went to: its hours decide the callback time
    last_reply: str = ""
    reprompted_turn: int = -1  # the customer turn after which we last asked "are you still there?"
    sentiment: float = 0.0
    max_frustration: float = 0.0
    problem: str = ""  # the customer's problem in their own words (redacted), for the ticket and hand-off
    pending_record_question: str = ""  # asked before verification; answered once verified
    record_focus: str | None = None  # the record being talked about ("that order", "the other one")
    # "which order do you mean: ...?" was asked about this record question: the ids read out, each with how
    record_choices: dict[str, str] = field(default_factory=dict)  # it was described; the next message picks one
    record_choice_question: str = ""
    awaiting_contact: str | None = None  # a callback promised once we have a number or email: its reason
    changes_made: list[dict[str, Any]] = field(default_factory=list)  # {"operation", "args"} of each change done
    other_contacts_told: bool = False  # the customer's other open contacts were mentioned (other_contacts.py)
    joined_told: bool = False  # told that this contact was taken care of on another one
    team_question: str = ""  # a question asked of a colleague (teamwork.py), until answered or given up on
    offered_question: str = ""  # the question behind "is this about <topic>?" (knowledge_answers.py)
    offers_made: list[str] = field(default_factory=list)  # confirming offers made once per conversation
    # who is on the other end, as the channel knew them at the start (verification limits); optional, so a
    # state stored before it existed reads as no client (counted against the customer record only)
    clients: list[ClientIdentity] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.customer is not None

    @property
    def customer_id(self) -> str | None:
        if self.customer is None:
            return None
        value = self.customer.get("id")
        return None if value is None else str(value)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ConversationState:
        if not data:
            return cls()
        data = upgrade(dict(data))
        known_fields = set(cls.__dataclass_fields__)
        state = cls(**{k: v for k, v in data.items() if k in known_fields and k not in (
            "active", "suspended", "verification", "requests", "clients")})
        if data.get("active"):
            state.active = ProcedureRun(**data["active"])
        state.suspended = [ProcedureRun(**run) for run in data.get("suspended", [])]
        state.verification = Verification(**data.get("verification", {}))
        state.requests = [RequestRecord(**r) for r in data.get("requests", [])]
        state.clients = [ClientIdentity(ClientKind(c["kind"]), str(c["value"])) for c in data.get("clients", [])]
        return state


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored state written by an older version up to SCHEMA_VERSION (conversations survive
    an upgrade mid-conversation)."""
    version = int(data.get("schema_version", 1))
    if version < 2:
        # v1 had no schema_version and none of the hand-off / record fields: their defaults apply.
        data["schema_version"] = 2
    if int(data["schema_version"]) < 3:
        # v2 knew no assurance levels: a customer verified then is identified (level 1), never more
        data["assurance"] = 1 if data.get("customer") else 0
        data["schema_version"] = 3
    return data
