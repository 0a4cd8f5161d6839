"""The embedded understanding with a language model beside it: `hybrid` and `llm` modes.

The embedded interpreter always runs first: it redacts secrets, finds entities, frustration and language, and
its commands are the fallback for every failure of the model (timeout, open circuit, malformed or empty
answer, nothing that validates). In `hybrid` mode the model is asked only when the embedded reading is unsure
or found nothing; in `llm` mode on every turn.

Two rules hold whatever the model says, on top of what the engine enforces for every generator:
- a "yes" to a change is only taken when the customer's words themselves read as yes (the embedded reading
  found it): a model cannot confirm a refund on the customer's behalf;
- a message in a language the pack does not speak stays `Unsupported` (the replies could not be understood).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from helpline.conversation.commands import (
    Affirm,
    Clarify,
    Command,
    CommandGenerator,
    GeneratorContext,
    Identify,
    Interpretation,
    OutOfScope,
    StartProcedure,
    Unsupported,
)
from helpline.conversation.state import ConversationState
from helpline.llm.commands import ModelCommandReader
from helpline.llm.port import LanguageModelError, TurnModelUsage
from helpline.llm.privacy import PersonalDataMask
from helpline.llm.settings import LlmMode

log = logging.getLogger(__name__)

# A request the embedded classifier guesses with less confidence than this gets the model's reading in hybrid
# mode (set once, by design: the classifier's scores are calibrated so that 0.6 is "more likely right than
# not"; not tuned on any reported figure).
SECOND_OPINION_BELOW = 0.6


def _found_nothing(commands: tuple[Command, ...]) -> bool:
    return all(isinstance(c, OutOfScope | Clarify) for c in commands)


class ModelAssistedInterpreter:
    """CommandGenerator: the embedded generator, and a model's reading where the mode says so."""

    def __init__(self, embedded: CommandGenerator, reader: ModelCommandReader, mode: LlmMode = LlmMode.HYBRID,
                 share_customer_data: bool = False, second_opinion_below: float = SECOND_OPINION_BELOW) -> None:
        self.embedded = embedded
        self.second_opinion_below = second_opinion_below
        self.reader = reader
        self.mode = mode
        self.share_customer_data = share_customer_data

    def wants_model(self, it: Interpretation) -> bool:
        if self.mode == LlmMode.EMBEDDED or it.has(Unsupported) or not it.text.strip():
            return False
        guess = it.first(StartProcedure)
        return (self.mode == LlmMode.LLM or not it.confident or _found_nothing(it.commands)
                or (guess is not None and guess.confidence < self.second_opinion_below))

    def interpret(self, text: str, state: ConversationState, context: GeneratorContext) -> Interpretation:
        embedded = self.embedded.interpret(text, state, context)
        if not self.wants_model(embedded):
            return embedded
        usage = TurnModelUsage()
        mask = PersonalDataMask(enabled=not self.share_customer_data)
        mask.add_entities(embedded.entities)
        mask.add_record(state.customer)
        mask.add_known(state.known)
        try:
            reading = self.reader.read(embedded.text, state, context, mask)
        except LanguageModelError as error:
            usage.failed(error)
            log.warning("language model unavailable (%s); the embedded reading stands", error.kind)
            return replace(embedded, model_usage=usage, warnings=(*embedded.warnings, f"llm_{error.kind}"))
        if reading.completion is not None:
            usage.add(reading.completion)
        if reading.dropped:
            log.info("language model commands dropped: %s", "; ".join(reading.dropped))
        commands = self._guarded(reading.commands, embedded, context)
        if not commands or (_found_nothing(commands) and not _found_nothing(embedded.commands)):
            return replace(embedded, model_usage=usage, warnings=(*embedded.warnings, "llm_no_valid_command"))
        return replace(embedded, commands=commands, confident=True, source="llm", model_usage=usage)

    @staticmethod
    def _guarded(commands: tuple[Command, ...], embedded: Interpretation,
                 context: GeneratorContext) -> tuple[Command, ...]:
        if context.awaiting == "confirm" and not embedded.has(Affirm):
            commands = tuple(c for c in commands if not isinstance(c, Affirm))
        identify = embedded.first(Identify)
        if identify is not None and not any(isinstance(c, Identify) for c in commands):
            # identity details the embedded extractors found (an email, a name and ZIP) are facts of the
            # message, not a reading of it: kept whatever the model proposes
            commands = (identify, *commands)
        return commands
