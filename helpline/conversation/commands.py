"""Commands: what a customer message asks the agent to do, as typed data.

Understanding (the embedded models, or a language model) turns a message into a list of commands;
the command processor (`conversation/engine.py` and its step handlers) applies them one by one
under the business's procedures and the policies in `guards.py`. A command is a *proposal*: the
processor validates each against the conversation state and the pack, so no generator, however
wrong, can skip verification, ownership checks or the explicit yes before a change.

One message may yield several commands ("cancel BB-10166, I'm Samuel Rogers, zip 78681" →
Identify + StartProcedure with the order id already filled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from helpline.conversation.ports import Entity
from helpline.llm.port import TurnModelUsage

if TYPE_CHECKING:  # avoids an import cycle with state.py
    from helpline.conversation.state import ConversationState


class ChitChatKind(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    BYE = "bye"
    BOT_CHALLENGE = "bot_challenge"  # "are you a real person or a bot?"
    SMALL_TALK = "small_talk"


@dataclass(frozen=True)
class StartProcedure:
    """Begin one of the pack's procedures, with any slot values the message already gave."""

    procedure_id: str
    slots: Mapping[str, Any] = field(default_factory=dict)
    confidence: float = 1.0
    instead: bool = False  # "actually, can I swap it instead?": replaces what is in progress
    queued: bool = False  # said alongside an answer ("yes, and also ..."): taken up after the current one


@dataclass(frozen=True)
class SetSlot:
    """A value for a slot. ``slot`` None means "the slot being asked for"."""

    value: Any
    slot: str | None = None
    correction: bool = False  # "no, I meant BB-10002": replaces a value already given


@dataclass(frozen=True)
class RuleOut:
    """Values the customer ruled out for the slot asked ("thursday doesn't work"): never taken for it, and the
    question is asked again. ``slot`` None means "the slot being asked for"."""

    values: tuple[str, ...]
    slot: str | None = None


@dataclass(frozen=True)
class Affirm:
    """Yes to the question asked ("sure", "go ahead", "yes makes sense, thanks!")."""


@dataclass(frozen=True)
class Deny:
    """No to the question asked ("nope", "don't", "not really")."""


@dataclass(frozen=True)
class ProblemStatus:
    """After a troubleshooting step: is the problem solved? ("still nothing" → solved=False)."""

    solved: bool


@dataclass(frozen=True)
class NothingElse:
    """Done: "no, that's all", "thats it", "ok whatever thx" after "anything else?"."""


@dataclass(frozen=True)
class CancelProcedure:
    """Stop what is in progress ("never mind", "forget it", "stop")."""


@dataclass(frozen=True)
class AskKnowledge:
    """A general question the knowledge base may answer; ``otherwise`` when it has no good answer."""

    query: str
    otherwise: StartProcedure | None = None
    question: bool = True  # asked as a question (else a statement the knowledge base may still cover)
    # the parts of the query that ask, when it also tells a story ("I bought it for my husband..., can I send it
    # back?"): they may settle the article the whole query found but was unsure of
    asked: tuple[str, ...] = ()
    # a fault told ("it's leaking from underneath"): the query for what the business does about faults, answered
    # from when the caller's own words find no sure answer (understanding/faults.py)
    repair: str = ""


@dataclass(frozen=True)
class AskRecord:
    """A question about the customer's own records ("how much did I pay for my last order?")."""

    question: str


@dataclass(frozen=True)
class ChooseRecord:
    """The record the customer picked from those read out ("which order do you mean: BB-10142 (...), or ...?")."""

    record_id: str


@dataclass(frozen=True)
class Identify:
    """Identity details given: email, person_name, postcode, phone, account ids."""

    details: Mapping[str, str]


@dataclass(frozen=True)
class AskHuman:
    manager: bool = False


@dataclass(frozen=True)
class ChitChat:
    kind: ChitChatKind


@dataclass(frozen=True)
class Repeat:
    """"Sorry, what?" – say the last thing again."""


@dataclass(frozen=True)
class Clarify:
    """The message could mean several things: ask which, offering these procedure ids."""

    options: tuple[str, ...]


@dataclass(frozen=True)
class OutOfScope:
    """Understood, but nothing this business does (or not understood at all when ``unknown``)."""

    unknown: bool = False


@dataclass(frozen=True)
class Unsupported:
    """A language the pack does not speak."""

    language: str


Command = (
    StartProcedure | SetSlot | RuleOut | Affirm | Deny | ProblemStatus | NothingElse | CancelProcedure
    | AskKnowledge | AskRecord | ChooseRecord | Identify | AskHuman | ChitChat | Repeat | Clarify | OutOfScope
    | Unsupported
)


@dataclass(frozen=True)
class Interpretation:
    """One message, understood: the commands, plus what every turn needs whatever the commands."""

    text: str  # redacted: card numbers and secrets already removed
    commands: tuple[Command, ...]
    entities: tuple[Entity, ...] = ()
    frustration: float = 0.0  # 0 calm .. 1 furious
    frustration_cues: tuple[str, ...] = ()
    redacted: tuple[str, ...] = ()  # kinds of secrets removed
    language: str = "en"
    confident: bool = True  # False: a hybrid setup may ask a language model for a second opinion
    source: str = "embedded"  # which generator produced it ("embedded", "llm", ...)
    warnings: tuple[str, ...] = ()  # e.g. "instruction_injection": an attempt to change the agent's rules
    model_usage: TurnModelUsage | None = None  # what asking a language model cost this turn, if one was asked

    def first(self, kind: type[Any]) -> Any | None:
        return next((c for c in self.commands if isinstance(c, kind)), None)

    def has(self, *kinds: type[Any]) -> bool:
        return any(isinstance(c, kinds) for c in self.commands)


@dataclass(frozen=True)
class GeneratorContext:
    """What a generator may know beyond the message: the pack's surface and the state's question."""

    procedures: Sequence[str] = ()
    awaiting: str | None = None  # "slot:<name>" | "more:<name>" | "confirm" | "offer:<kind>" | "verify" | None
    awaiting_slot_type: str | None = None
    active_procedure: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # the conversation's clock, as a wall time in the business's timezone (naive): "thursday" and "the 4th" are
    # read from it, not from the server's clock; None: now on this machine
    local_now: datetime | None = None


class CommandGenerator(Protocol):
    """(message, state, context) -> commands. Embedded models or a language model implement it."""

    def interpret(self, text: str, state: ConversationState, context: GeneratorContext) -> Interpretation: ...
