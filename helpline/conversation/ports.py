"""The small ports the conversation engine depends on.

The engine (business logic) only sees these plain data types and protocols; the embedded
models, the knowledge index, the connectors and the store are adapters that implement them
outside the core. An LLM-backed understander or wording can be plugged in by implementing
the same protocols.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

# --- understanding -----------------------------------------------------------------------------


# Entity types that identify a person: what verification reads, and what is personal data.
IDENTITY_TYPES = ("email", "phone", "person_name", "postcode")


@dataclass(frozen=True)
class Entity:
    """Something recognised in a message.

    ``type`` is one of: email, phone, person_name, postcode, date, time, datetime, money, number,
    product, product_option, card_number, or a pack id format name (e.g. ``order_id``).
    ``value`` is normalised (E.164 phone, lower-case email, ISO date, canonical product name,
    upper-cased id, "12.50" money); ``text`` is the surface form as typed.
    """

    type: str
    value: str
    text: str
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class IntentScore:
    name: str
    score: float


@dataclass(frozen=True)
class Understanding:
    """What one customer message means, as far as the embedded models can tell."""

    text: str  # the message with secrets (card numbers, ...) already redacted
    intents: tuple[IntentScore, ...]  # best first; scores in [0, 1]
    entities: tuple[Entity, ...] = ()
    frustration: float = 0.0  # 0 calm .. 1 furious
    frustration_cues: tuple[str, ...] = ()  # e.g. "caps", "profanity", "manager", "negative"
    redacted: tuple[str, ...] = ()  # kinds of secrets removed, e.g. ("card_number",)
    language: str = "en"
    # the message's sentence embedding, when one was computed: later readers reuse it (not compared)
    embedding: npt.NDArray[np.float32] | None = field(default=None, compare=False, repr=False)

    @property
    def top_intent(self) -> IntentScore | None:
        return self.intents[0] if self.intents else None

    def entities_of(self, entity_type: str) -> list[Entity]:
        return [e for e in self.entities if e.type == entity_type]


class Understander(Protocol):
    def understand(self, text: str) -> Understanding: ...


class Embedder(Protocol):
    """Sentence embeddings, L2-normalised rows of float32."""

    dimension: int

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


# --- knowledge ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnowledgeHit:
    article_id: str  # file stem of the article
    title: str  # article title
    section: str  # heading of the passage ("" for the article's lead)
    text: str  # the passage, Markdown
    score: float  # calibrated confidence in [0, 1]
    language: str = ""  # the article's language: "" = the pack's own, else its variant's (knowledge/<id>.<lang>.md)


class KnowledgeSearch(Protocol):
    def search(self, query: str, k: int = 3, *, language: str = "") -> list[KnowledgeHit]:
        """Best hits; ``language`` (the conversation's, "" = the pack's) picks each article's variant in it,
        else the article in the pack's own language."""
        ...


# --- operations (the business's system of record) ---------------------------------------------


@dataclass(frozen=True)
class OperationResult:
    ok: bool
    data: Any = None  # mapped result (dict / list / scalar)
    error: str = ""  # human-readable reason when not ok
    retryable: bool = False  # a transport failure rather than a business refusal


class OperationGateway(Protocol):
    def call(self, name: str, args: Mapping[str, Any]) -> OperationResult: ...


# --- wording -----------------------------------------------------------------------------------


@dataclass
class WordingContext:
    persona_name: str = "Helpline"
    business_name: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


class Wording(Protocol):
    """Turns a message key (or an inline template) plus facts into the sentence the customer sees."""

    def render(self, key_or_template: str, facts: Mapping[str, Any]) -> str: ...


class SlotReader(Protocol):
    """Reads one expected value from a terse answer ("John Smith", "78701", "the red one")."""

    def read(self, text: str, slot_type: str, options: Sequence[str] = ()) -> str | None: ...


# --- one-time codes (step-up verification) ------------------------------------------------------


class CodeSender(Protocol):
    """Delivers a one-time code to a contact on the customer's record (an email address or a phone)."""

    def send(self, contact: str, code: str) -> bool:
        """True when the code was handed to the delivery system; never raises for a delivery failure."""
        ...


# --- verification attempt limits (issue 10, finding 2) -----------------------------------------


class ClientKind(StrEnum):
    """How a channel knows who is on the other end of a conversation."""

    IP = "ip"  # the browser's address (widget)
    WIDGET_KEY = "widget_key"  # the site's public widget key: shared by all its visitors
    API_KEY = "api_key"  # the integration's API key (its prefix): shared by all the customers it serves
    CALLER = "caller"  # the caller's number (phone)
    WITHHELD_CALLER = "withheld_caller"  # every caller without a number, together
    LOCAL = "local"  # the terminal (`helpline chat`)
    EMAIL = "email"  # the sender's address (email): anyone can write any From, so the per-record limits matter


# Kinds one attacker shares with many honest customers: they get the higher per_shared_client limit.
SHARED_CLIENT_KINDS = frozenset({ClientKind.WIDGET_KEY, ClientKind.API_KEY, ClientKind.WITHHELD_CALLER})


@dataclass(frozen=True)
class ClientIdentity:
    """One way the channel identifies the client; a conversation may have several (an address and a key)."""

    kind: ClientKind
    value: str

    @property
    def shared(self) -> bool:
        return self.kind in SHARED_CLIENT_KINDS


@dataclass(frozen=True)
class RecordKey:
    """The customer record a verification attempt is about, named by what the caller gave that is *not*
    the factor being proved: guessing the ZIP for "Samuel Rogers" always counts against Samuel Rogers."""

    fields: tuple[str, ...]  # e.g. ("person_name",)
    value: str  # normalised: "person_name=rogers samuel"
    label: str  # masked, for the audit log and supervisors: "S… R…"


AttemptKey = RecordKey | ClientIdentity


@dataclass(frozen=True)
class AttemptPermit:
    """The answer to "may this attempt run?". When allowed, the attempt is already counted: the lookup's
    outcome must be reported with record_failure, record_success or release."""

    allowed: bool
    record: RecordKey
    clients: tuple[ClientIdentity, ...] = ()


class VerificationThrottle(Protocol):
    """Counts identity-verification attempts per customer record and per client, across conversations and
    server processes. Implemented in the store (store/throttle.py); the engine only asks and reports."""

    def check(self, record: RecordKey, clients: Sequence[ClientIdentity]) -> AttemptPermit:
        """Count an attempt against every key *before* the lookup runs. Refused (nothing counted) while any
        key is locked out or has reached its limit."""
        ...

    def record_failure(self, permit: AttemptPermit, method: Sequence[str]) -> None:
        """The lookup found no customer: the attempt stays counted, is audited, may lock keys and alert."""
        ...

    def record_success(self, permit: AttemptPermit) -> None:
        """The customer was verified: the attempt is given back."""
        ...

    def release(self, permit: AttemptPermit) -> None:
        """The lookup could not run (the records were unreachable): the attempt is given back."""
        ...


@dataclass(frozen=True)
class OpenContact:
    """Another contact of the same customer that is still open (an email thread, a chat, an SMS), by its ticket."""

    ticket_number: int
    channel: str
    summary: str
    opened_at: datetime


@dataclass(frozen=True)
class JoinedContact:
    """This conversation's ticket was folded into another contact's ticket (the customer said it was the same
    issue there): what that contact did, so this one never contradicts it."""

    ticket_number: int
    channel: str
    status: str
    resolution: str


class ContactHistory(Protocol):
    """The customer's other open contacts, on every channel (store/contact_history.py)."""

    def open_elsewhere(self, customer: Mapping[str, Any]) -> Sequence[OpenContact]: ...
