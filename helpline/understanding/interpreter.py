"""The embedded command generator: a message and the state's open question -> typed commands.

It combines what the small models tell (the intent classifier over the pack's procedures, entities,
frustration, dialogue acts, language) with the question the agent is waiting on, and proposes
commands. It decides nothing: the engine validates every command against the state and the pack.
English wording patterns live here and in `short_answers.py`, never in the engine.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from helpline.conversation.choices import choices_for, match_choices
from helpline.conversation.commands import (
    Affirm,
    AskHuman,
    AskKnowledge,
    CancelProcedure,
    ChitChat,
    ChitChatKind,
    ChooseRecord,
    Clarify,
    Command,
    Deny,
    GeneratorContext,
    Identify,
    Interpretation,
    NothingElse,
    OutOfScope,
    ProblemStatus,
    Repeat,
    RuleOut,
    SetSlot,
    StartProcedure,
    Unsupported,
)
from helpline.conversation.ports import (
    IDENTITY_TYPES,
    Embedder,
    Entity,
    IntentScore,
    KnowledgeSearch,
    SlotReader,
    Understanding,
)
from helpline.conversation.slot_values import TEMPORAL_TYPES
from helpline.conversation.verification import DATE_CHOICE_SEPARATOR
from helpline.pack.models import Procedure, SlotSpec
from helpline.pack.records import RecordsDeclaration
from helpline.understanding.addresses import split_postal_address
from helpline.understanding.asked_parts import with_asked_parts
from helpline.understanding.builtin_intents import OUT_OF_SCOPE
from helpline.understanding.factors import read_factors
from helpline.understanding.faults import with_repair_question
from helpline.understanding.picks import ordinal, picked_record
from helpline.understanding.requests import (
    SWITCH,
    InterpreterPolicy,
    RequestReading,
    asks,
)
from helpline.understanding.short_answers import Answer, short_answers
from helpline.understanding.slot_values import (
    TemporalReader,
    read_pattern,
    strip_chatter,
    strip_place_lead,
    with_windows,
)

if TYPE_CHECKING:
    from helpline.conversation.state import ConversationState



class MessageUnderstander(Protocol):
    def understand(self, text: str) -> Understanding: ...


class ActReader(Protocol):
    """The dialogue-act classifier, as the interpreter uses it: the conversational answers it finds."""

    def answers(self, text: str, embedding: Any = None) -> set[Answer]: ...


class LanguageReader(Protocol):
    def detect(self, text: str) -> str: ...

    def ranked(self, text: str) -> list[tuple[str, float]]: ...


_INJECTION = re.compile(r"\b(ignore|disregard|forget) (all |your |the |previous |prior )*(rules|instructions|"
                        r"policy|policies|prompt)|you are now|system prompt|developer mode", re.I)
_ANSWER_PARTS = re.compile(r",|;| - |(?<=[.!?])\s+|\band\b|(?<=[a-z])\s+(?=\d)|(?<=\d)\s+(?=[a-z])", re.I)
_ID_LEAD = re.compile(r"(?i)\b(i'?m|i am|this is|it'?s|my name is|name'?s|name|zip( code)?|post ?code|postal code|email"
                      r"|e-mail)\b:?")
# words of a question about who is answering ("are you a bot?", "am I talking to a person?"); "does the machine
# listen to me?" has none of them: it asks about a product
_ABOUT_THE_AGENT = re.compile(r"\b(you|u|ur|you're|youre|yourself|this|talking|speaking|chatting|typing|texting|human"
                              r"|person|people|bot|robot|ai|agent|real|live|automated|recording|recorded|computer"
                              r"|chatgpt|anyone|someone|somebody)\b", re.I)
_TRANSFER = re.compile(r"\b(speak|talk|chat|transfer|connect|put me through|get me|give me|want|need)\b", re.I)
_PERSON_WORDS = r"(human|person|agent|representative|rep|operator|someone|somebody|manager|supervisor)"
_PERSON_REQUEST = re.compile(
    r"\b((get|give|put|pass|transfer|connect) me (through )?(to )?(a |an |to a |with a )?(real |actual |live )?"
    + _PERSON_WORDS + r"|(speak|talk|chat) (to|with) (a |an )?(real |actual |live )?" + _PERSON_WORDS
    + r"|(human|agent|representative|operator),? (please|pls|now)|real person|is there (a |an |any )?(real )?"
    + _PERSON_WORDS + r" (i|we) can|" + _PERSON_WORDS + r" (i|we) can (talk|speak|chat))\b",
    re.I,
)
_MANAGER = re.compile(r"\b(manager|supervisor|someone in charge|your boss)\b", re.I)
_CORRECTION = re.compile(r"\b(no|actually|i meant|wrong|other|instead|not that|sorry,? i)\b", re.I)

_ANSWER_TO_COMMAND: Mapping[Answer, Command] = {
    Answer.THANKS: ChitChat(ChitChatKind.THANKS),
    Answer.BYE: ChitChat(ChitChatKind.BYE),
    Answer.BOT_CHALLENGE: ChitChat(ChitChatKind.BOT_CHALLENGE),
}


def injection_attempt(text: str) -> bool:
    return bool(_INJECTION.search(text))


class EmbeddedInterpreter(RequestReading):
    """CommandGenerator over the embedded models."""

    def __init__(
        self,
        understander: MessageUnderstander,
        procedures: Mapping[str, Procedure],
        slot_reader: SlotReader,
        acts: ActReader | None = None,
        language: LanguageReader | None = None,
        languages: tuple[str, ...] = ("en",),
        policy: InterpreterPolicy | None = None,
        knowledge: KnowledgeSearch | None = None,
        records: RecordsDeclaration | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.understander = understander
        self.procedures = procedures
        self.slot_reader = slot_reader
        self.acts = acts
        self.language = language
        self.languages = languages
        self.policy = policy or InterpreterPolicy()
        self.knowledge = knowledge
        self.records = records
        self.embedder = embedder
        self._option_vectors: dict[tuple[str, ...], Any] = {}
        self._temporal = TemporalReader()
        self._procedure_vocabulary: dict[str, set[str]] = {}
        self._catalogue_vocabulary: frozenset[str] | None = None

    def interpret(self, text: str, state: ConversationState, context: GeneratorContext) -> Interpretation:
        u = self.understander.understand(text)
        u = replace(u, entities=with_windows(u.entities, context.local_now))
        language = self._language(_without_entities(u.text, u.entities),
                                  answering=(context.awaiting or "").startswith(("slot:", "more:")))
        commands, confident = self._commands(u, state, context, language)
        return Interpretation(
            text=u.text,
            commands=_without_proofs(with_repair_question(with_asked_parts(commands, language), language, [
                i.name for i in u.intents if i.name in self.procedures or i.name == OUT_OF_SCOPE])),
            entities=u.entities,
            frustration=u.frustration,
            frustration_cues=u.frustration_cues,
            redacted=u.redacted,
            language=language,
            confident=confident,
            warnings=("instruction_injection",) if injection_attempt(u.text) else (),
        )

    # --- for a language model choosing among the embedded readings (llm/choices.py) -----------------------

    def ranked_requests(self, text: str) -> tuple[IntentScore, ...]:
        """Every request the classifier knows (procedures and built-in intents), best first, for this message."""
        return self.understander.understand(text).intents

    def request_slots(self, procedure_id: str, text: str, entities: tuple[Entity, ...]) -> dict[str, Any]:
        """The slots starting this procedure on this message would fill, as when the classifier picks it."""
        return self._prefill(procedure_id, Understanding(text=text, intents=(), entities=entities))

    # --- the parts -----------------------------------------------------------------------------

    def _language(self, text: str, answering: bool = False) -> str:
        if self.language is None or not text.strip():
            return self.languages[0]
        found = self.language.detect(text)
        if found in self.languages or any(ord(c) > 0x7F and c.isalpha() for c in text):
            return found
        if answering and len(text.split()) <= 3:
            return self.languages[0]  # a few plain words around the answer asked for ("um it's 05301")
        if len(text.split()) <= 3 and short_answers(text) & {Answer.NOT_UNDERSTOOD, Answer.THANKS, Answer.BYE}:
            return found  # a known short phrase of that language ("no entiendo", "gracias", "adiós")
        # plain ASCII ("im harper johansson, zip code 80281"): leave English only when the model is sure
        ranked = dict(self.language.ranked(text))
        return found if ranked.get(found, 0.0) >= self.policy.other_language else self.languages[0]

    def _answers(self, text: str, embedding: Any = None, language: str = "en") -> set[Answer]:
        found = short_answers(text)
        if self.acts is not None and language == "en":  # the dialogue-act model learnt English (SGD) only
            said = set(found)
            found |= self.acts.answers(text, embedding)
            if Answer.STILL_BROKEN in found:
                found.discard(Answer.FIXED)
            if Answer.NOT_UNDERSTOOD in found:
                found.discard(Answer.DENY)
            if (Answer.BOT_CHALLENGE in found - said and not _ABOUT_THE_AGENT.search(text)
                    and self._article_knows(text, self.policy.kb_instead)):
                # the model heard "machine ... listen": a question about a product the articles answer
                found.discard(Answer.BOT_CHALLENGE)
        return found

    def _commands(self, u: Understanding, state: ConversationState, context: GeneratorContext,
                  language: str) -> tuple[list[Command], bool]:
        text = u.text
        if not text.strip():
            return [OutOfScope(unknown=True)], False
        answers = self._answers(text, u.embedding, language)
        if language not in self.languages:
            extra: list[Command] = [ChitChat(ChitChatKind.BYE)] if Answer.BYE in answers else []
            if Answer.AFFIRM in answers and len(text.split()) <= 3:
                extra.append(Affirm())
            return [Unsupported(language), *extra], True
        top = u.top_intent
        name, score = (top.name, top.score) if top else ("", 0.0)
        short = len(text.split()) <= 6
        commands: list[Command] = []

        identity = self._identity(u, verifying=context.awaiting == "verify")
        identity.update(read_factors(u.text, context.awaiting == "verify", self.languages,  # typed factors
                                     [v for v in state.verification.collected.values() if DATE_CHOICE_SEPARATOR in v]))
        if identity:
            commands.append(Identify(identity))
            u = self._without_identity(u, identity)
            top = u.top_intent
            name, score = (top.name, top.score) if top else ("", 0.0)
        wants_person = ((name == "human" and score >= self.policy.builtin) or "manager" in u.frustration_cues
                        or bool(_PERSON_REQUEST.search(text)))
        if wants_person and (Answer.BOT_CHALLENGE not in answers or _TRANSFER.search(text)):
            commands.append(AskHuman(manager=bool(_MANAGER.search(text))))

        awaiting = context.awaiting or ""
        switching = score >= self.policy.switch or (score >= self.policy.procedure and bool(SWITCH.search(text)))
        answers_choice = context.awaiting_slot_type == "choice" and self._names_fixed_option(text, context)
        if (awaiting.startswith(("slot:", "more:", "confirm")) and name in self.procedures and not answers_choice
                and name != context.active_procedure and switching and len(text.split()) > 5):
            answers -= {Answer.AFFIRM, Answer.DENY, Answer.STILL_BROKEN, Answer.FIXED}
            awaiting = "switch"  # "please cancel my order BB-10166, I no longer need it" is not a "yes"
        if awaiting.startswith(("slot:", "more:")):
            commands += self._slot_answer(u, answers, context, state.active.offered if state.active else [],
                                          state.active.windows if state.active else {})
        elif awaiting == "confirm":
            commands += self._confirm_answer(u, answers, state)
        elif awaiting == "record_choice":
            picked = picked_record(text, state.record_choices)
            if picked is not None:
                commands.append(ChooseRecord(picked))
        elif awaiting == "offer:anything_else":
            if Answer.NOTHING_ELSE in answers or (Answer.DENY in answers and short):
                commands.append(NothingElse())
            elif Answer.AFFIRM in answers and short:
                commands.append(Affirm())
        elif awaiting.startswith("offer:"):
            # a yes-or-no question ("is this about ...?"): "yes, that's it" says yes, though "that's it" alone
            # would end the call after "anything else?"
            if Answer.DENY in answers and short:
                commands.append(Deny())
            elif Answer.AFFIRM in answers and short:
                commands.append(Affirm())
            elif Answer.NOTHING_ELSE in answers:
                commands.append(Deny())

        for answer in (Answer.THANKS, Answer.BYE, Answer.BOT_CHALLENGE):
            if answer in answers and (short or answer is Answer.BOT_CHALLENGE):
                commands.append(_ANSWER_TO_COMMAND[answer])
        if Answer.REPEAT in answers or Answer.NOT_UNDERSTOOD in answers:
            commands.append(Repeat())
        if Answer.CANCEL in answers:
            commands.append(CancelProcedure())

        # an answer to the agent's own question ("yes" to "anything else?" is not one: a request may follow)
        answered = awaiting.startswith(("slot:", "more:", "confirm")) and any(
            isinstance(c, (SetSlot, Affirm, Deny, ProblemStatus, NothingElse)) for c in commands)
        mid_task = awaiting.startswith(("slot:", "more:", "confirm", "switch"))
        request = self._request(u, name, score, mid_task=mid_task, answered=answered, short=short)
        weak_start = [c for c in request if isinstance(c, StartProcedure)
                      and c.confidence < self.policy.procedure_mid_task]
        if mid_task and (not request or weak_start) and not answered and state.active is not None:
            # a correction of the current request ("for the ORDER ... not my account") is read with it
            request = self._reread_with_request(u, state.active.opening_text, context.active_procedure) or request
        starts = [c for c in request if isinstance(c, StartProcedure)]
        if starts and not mid_task:
            request += self._further_requests(u.text, starts[0].procedure_id)
        elif answered and context.active_procedure:
            # "yes, and also can you tell me where BB-10154 is": the answer, then a request for later
            later = self._further_requests(u.text, context.active_procedure)
            request += [replace(c, queued=True) for c in later if isinstance(c, StartProcedure)]
        commands += request
        if not commands:
            if name == "greet" and score >= self.policy.builtin:
                commands.append(ChitChat(ChitChatKind.GREETING))
            elif name == "thanks" and score >= self.policy.builtin:
                commands.append(ChitChat(ChitChatKind.THANKS))
            elif name == "bye" and score >= self.policy.builtin:
                commands.append(ChitChat(ChitChatKind.BYE))
            elif name == "repeat" and score >= self.policy.builtin:
                commands.append(Repeat())
            elif name == "nevermind" and score >= self.policy.builtin:
                commands.append(CancelProcedure())
            elif Answer.AFFIRM in answers and short:
                commands.append(Affirm())
            elif (Answer.DENY in answers or Answer.NOTHING_ELSE in answers) and short:
                commands.append(NothingElse() if Answer.NOTHING_ELSE in answers else Deny())
            elif Answer.FIXED in answers and short:
                commands.append(ProblemStatus(solved=True))
            elif name == OUT_OF_SCOPE and score >= self.policy.builtin:
                commands.append(OutOfScope())
            else:
                commands.append(AskKnowledge(text, question=asks(text)))
        confident = score >= self.policy.unsure or any(not isinstance(c, AskKnowledge) for c in commands)
        return _deduplicated(commands), confident

    def _identity(self, u: Understanding, verifying: bool) -> dict[str, str]:
        """Identity details: recognised entities, plus terse parts ("Samuel Rogers, 78681") read as
        a name or ZIP when the message carries a ZIP-like number or the agent asked for identity."""
        found = {e.type: e.value for e in u.entities if e.type in IDENTITY_TYPES}
        address = split_postal_address(u.text)
        if address:
            # a ZIP inside an address being given is part of that address, not an identity detail
            if found.get("postcode") == address.get("postal_code"):
                found.pop("postcode")
            return found
        numbers = [e for e in u.entities if e.type == "number" and len(e.value) == 5 and e.value.isdigit()]
        if not (verifying or "postcode" in found or numbers):
            return found
        taken = {e.text.lower() for e in u.entities if e.type not in ("number", "date", "datetime")}
        for part in _ANSWER_PARTS.split(_ID_LEAD.sub("", u.text)):
            part = part.strip(" .!?-:;")
            if not part or any(part.lower() in t or t in part.lower() for t in taken if t):
                continue
            for field_name in ("postcode", "person_name"):
                if field_name in found:
                    continue
                value = self.slot_reader.read(part, field_name)
                if value and (field_name != "person_name" or len(value.split()) >= 2 or verifying):
                    found[field_name] = value
                    break
        return found

    def _without_identity(self, u: Understanding, identity: Mapping[str, str]) -> Understanding:
        """Classify the request without the name, ZIP or email around it ("I'm Ana Cook, zip 75214,
        where's BB-10133" asks where the order is)."""
        identity = {k: v for k, v in identity.items() if k in ("person_name", "postcode")}
        if not identity:
            return u
        spans = [e for e in u.entities if e.type in identity]
        rest = u.text
        for entity in sorted(spans, key=lambda e: -e.start):
            if entity.text and entity.end > entity.start:
                rest = rest[: entity.start] + " " + rest[entity.end:]
        for value in identity.values():
            rest = re.sub(re.escape(value), " ", rest, flags=re.I)
        rest = _ID_LEAD.sub(" ", rest)
        if len(re.findall(r"[A-Za-z]{2,}", rest)) < 2:
            return Understanding(text=u.text, intents=(), entities=u.entities, frustration=u.frustration,
                                 frustration_cues=u.frustration_cues, redacted=u.redacted)
        again = self.understander.understand(rest)
        return Understanding(text=u.text, intents=again.intents, entities=u.entities, frustration=u.frustration,
                             frustration_cues=u.frustration_cues, redacted=u.redacted)

    def _slot_answer(self, u: Understanding, answers: set[Answer], context: GeneratorContext,
                     offered: list[str], windows: Mapping[str, str] | None = None) -> list[Command]:
        slot_name = (context.awaiting or "").partition(":")[2]
        slot_type = context.awaiting_slot_type or "text"
        if slot_type == "yes_no":
            if Answer.STILL_BROKEN in answers:
                return [ProblemStatus(solved=False)]
            if Answer.FIXED in answers:
                return [ProblemStatus(solved=True)]
            if Answer.DENY in answers:
                return [Deny()]
            if Answer.AFFIRM in answers:
                return [Affirm()]
            return []
        if (context.awaiting or "").startswith("more:"):
            if Answer.NOTHING_ELSE in answers or (Answer.DENY in answers and len(u.text.split()) <= 4):
                value = self._read(u, slot_type)
                found: list[Command] = [SetSlot(value, slot_name)] if value and slot_type != "choice" else []
                return [*found, NothingElse()]
            if Answer.AFFIRM in answers and len(u.text.split()) <= 3:
                return [Affirm()]
        if slot_type == "choice":
            # "the first one" after "which do you mean: A, or B?" (or, before, in the order the options are listed;
            # "the last one" is not "say the last thing again" here)
            fixed = self._awaited_slot(context)
            listed = offered or ([o.value for o in fixed.options] if fixed and not fixed.options_from else [])
            picked = ordinal(u.text, len(listed)) if listed else None
            if picked is not None:
                return [SetSlot(listed[picked], slot_name)]
        if answers & {Answer.CANCEL, Answer.NOT_UNDERSTOOD, Answer.REPEAT, Answer.BOT_CHALLENGE} and not (
                slot_type == "choice" and self._names_fixed_option(u.text, context)):
            return []  # ("changed my mind" is an answer when it is one of the options offered)
        if slot_type == "choice":
            # the engine matches the words against the options it offered; fixed options are also
            # matched by meaning here ("bought it by accident" is "ordered by mistake"); an answer as close
            # to two options as to each other asks which
            meant = self._choice_by_meaning(u.text, context)
            if len(meant) > 1:
                return [Clarify(tuple(meant))]
            return [SetSlot(meant[0] if meant else u.text, slot_name)]
        if answers & {Answer.CANCEL, Answer.NOT_UNDERSTOOD, Answer.REPEAT, Answer.BOT_CHALLENGE}:
            return []
        if slot_type in TEMPORAL_TYPES:
            # "thursday doesn't work" rules thursday out; "next month" is a window, never a day
            read = self._temporal.read(u.text, slot_type, now=context.local_now, within=(windows or {}).get(slot_name))
            ruled: list[Command] = [RuleOut(read.ruled_out, slot_name)] if read.ruled_out else []
            return ruled + ([SetSlot(read.value, slot_name)] if read.value else [])
        slot = self._awaited_slot(context)
        if slot is not None and slot.type == "text" and slot.pattern:
            matched = read_pattern(u.text, slot.pattern)  # "05301, like I said": the part that matches
            return [SetSlot(matched, slot_name)] if matched else []
        value = self._read(u, slot_type)
        if value is None:
            return []
        return [SetSlot(value, slot_name)]

    def _awaited_slot(self, context: GeneratorContext) -> SlotSpec | None:
        proc = self.procedures.get(context.active_procedure or "")
        return proc.slots.get((context.awaiting or "").partition(":")[2]) if proc else None

    def _names_fixed_option(self, text: str, context: GeneratorContext) -> bool:
        proc = self.procedures.get(context.active_procedure or "")
        slot = proc.slots.get((context.awaiting or "").partition(":")[2]) if proc else None
        if slot is None or not slot.options or slot.options_from:
            return False
        return bool(match_choices(text, choices_for(slot, {}), slot.many).values)

    def _choice_by_meaning(self, text: str, context: GeneratorContext) -> list[str]:
        """The fixed option the answer means (compared with each option's label, synonyms and description),
        or the two it is equally close to, or none."""
        slot = self._awaited_slot(context)
        if slot is None or not slot.options or slot.options_from or self.embedder is None:
            return []
        choices = choices_for(slot, {})
        if match_choices(text, choices, slot.many).values:
            return []  # the words already name an option
        texts = tuple(t for c in choices for t in (*c.names, c.description) if t)
        owners = np.array([i for i, c in enumerate(choices) for t in (*c.names, c.description) if t])
        if texts not in self._option_vectors:
            self._option_vectors[texts] = self.embedder.encode(list(texts))
        by_text = self._option_vectors[texts] @ self.embedder.encode([text])[0]
        scores = np.array([float(by_text[owners == i].max()) for i in range(len(choices))])
        order = np.argsort(-scores)
        best, second = float(scores[order[0]]), float(scores[order[1]]) if len(order) > 1 else 0.0
        if best >= self.policy.choice_meaning and best - second >= self.policy.choice_margin:
            return [str(choices[int(order[0])].value)]
        if second >= self.policy.choice_ambiguous and len(text.split()) <= self.policy.choice_ambiguous_words \
                and not asks(text):
            return [str(choices[int(i)].value) for i in order[:2]]
        return []

    def _read(self, u: Understanding, slot_type: str) -> str | None:
        if slot_type == "text":
            top = u.top_intent
            if (top is not None and top.name in self.procedures and top.score >= self.policy.procedure_mid_task
                    and SWITCH.search(u.text)):
                return None  # "actually, I want to cancel my order": a new request, not the detail asked for
        found = u.entities_of(slot_type)
        if found:
            return found[0].value
        if slot_type == "text":  # the answer as said, without the "um, well" before it or "like I said" after
            value = self.slot_reader.read(u.text, slot_type)
            return strip_place_lead(value) if value else None
        value = self.slot_reader.read(u.text, slot_type)
        answer = strip_chatter(u.text)
        if value is None and answer != u.text.strip():  # "05301, like I said"
            value = self.slot_reader.read(answer, slot_type)
        return value

    def _confirm_answer(self, u: Understanding, answers: set[Answer], state: ConversationState) -> list[Command]:
        if _CORRECTION.search(u.text) and state.active is not None:
            corrections = self._corrections(u, state)
            if corrections:
                return corrections
        if Answer.DENY in answers or Answer.CANCEL in answers:
            return [Deny()]
        if Answer.AFFIRM in answers or Answer.FIXED in answers:
            return [Affirm()]
        return []

    def _corrections(self, u: Understanding, state: ConversationState) -> list[Command]:
        run = state.active
        assert run is not None
        proc = self.procedures.get(run.procedure_id)
        if proc is None:
            return []
        for slot_name, slot in proc.slots.items():
            if slot_name not in run.slots or slot.type in ("text", "yes_no"):
                continue
            found = [e for e in u.entities if e.type == slot.type and e.value != run.slots[slot_name]
                     and (slot.window or "/" not in e.value)]  # "actually next week" is no day to put in
            if found:
                return [SetSlot(found[0].value, slot_name, correction=True)]
        return []


def _without_entities(text: str, entities: tuple[Entity, ...]) -> str:
    """The message without names, ids, emails and numbers: "Harper Johansson" is not German."""
    for entity in sorted(entities, key=lambda e: -e.start):
        if entity.end > entity.start and text[entity.start:entity.end] == entity.text:
            text = text[: entity.start] + " " + text[entity.end:]
    return text


def _deduplicated(commands: list[Command]) -> list[Command]:
    seen: list[Command] = []
    for command in commands:
        if command not in seen:
            seen.append(command)
    return seen


def _without_proofs(commands: Sequence[Command]) -> tuple[Command, ...]:
    """A detail given as proof of identity is not also a value for the request: "book a visit, born 14 March 1979"
    does not book the 14th of March 1979."""
    proofs = {v for c in commands if isinstance(c, Identify) for v in c.details.values()}
    if not proofs:
        return tuple(commands)
    return tuple(dataclasses.replace(c, slots={k: v for k, v in c.slots.items() if v not in proofs})
                 if isinstance(c, StartProcedure) else c for c in commands)
