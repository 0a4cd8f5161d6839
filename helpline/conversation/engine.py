"""The conversation engine: executes the pack's procedures and enforces the policies.

Models only *understand* (intents, entities, frustration) and *word* things; what the agent is
allowed to do is decided here, deterministically, whatever the customer's wording:
- nothing customer-specific is read or changed before identity verification;
- one customer per conversation: results owned by anyone else are refused;
- an operation that changes data runs only right after an explicit yes to a confirm step;
- escalation when asked, when anger persists after an apology, after repeated misunderstanding,
  when out of scope repeatedly, or when a procedure runs out of steps;
- answers come only from the knowledge base or from operation results.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from helpline.conversation.choices import ChoiceMatch, choices_for, match_choices
from helpline.conversation.events import (
    CallbackRequested,
    ConversationEnded,
    CustomerVerified,
    Escalated,
    KnowledgeGap,
    OperationCalled,
    ProcedureFinished,
    TurnResult,
)
from helpline.conversation.hours import is_open, next_opening
from helpline.conversation.ports import (
    KnowledgeHit,
    KnowledgeSearch,
    OperationGateway,
    SlotReader,
    Understander,
    Understanding,
)
from helpline.conversation.state import ConversationState, ProcedureRun, RequestRecord
from helpline.conversation.verification import IdentityCheck, name_mismatch
from helpline.conversation.wording import TemplateWording
from helpline.pack.expressions import ExpressionError, evaluate, render, render_value
from helpline.pack.loader import BusinessPack
from helpline.pack.models import Procedure, SlotSpec, Step, parse_duration

BUILTIN = {"greet", "thanks", "bye", "affirm", "deny", "human", "repeat", "complaint", "out_of_scope",
           "nevermind"}
PROCEDURE_THRESHOLD = 0.45  # top intent score to start a procedure on its own
PROCEDURE_WEAK_THRESHOLD = 0.25  # ... when the knowledge base has nothing better
BUILTIN_THRESHOLD = 0.5
KB_THRESHOLD = 0.5
FRUSTRATED = 0.55
MAX_STEPS_PER_TURN = 60
MAX_UNDERSTOOD_CHARS = 2000
IDENTITY_TYPES = ("email", "phone", "person_name", "postcode")
_YES = re.compile(r"^\s*(y|yes|yeah|yep|yup|sure|ok|okay|correct|right|go ahead|please do|do it|confirm(ed)?"
                  r"|that'?s (right|correct)|absolutely|definitely)\b[\s.!]*", re.I)
_NO = re.compile(r"^\s*(n|no|nope|nah|don'?t|do not|not really|negative|wrong|cancel that|stop)\b", re.I)
_CORRECTION = re.compile(r"\b(no|actually|i meant|wrong|other|instead|not that|sorry,? i)\b", re.I)
_INJECTION = re.compile(r"\b(ignore|disregard|forget) (all |your |the |previous |prior )*(rules|instructions|"
                        r"policy|policies|prompt)|you are now|system prompt|developer mode", re.I)


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


class _Turn:
    """Accumulates replies and events while one message is handled."""

    def __init__(self, state: ConversationState, context: TurnContext):
        self.state = state
        self.context = context
        self.replies: list[str] = []
        self.events: list[Any] = []
        self.understanding: Understanding | None = None


class Engine:
    def __init__(
        self,
        pack: BusinessPack,
        understander: Understander,
        slot_reader: SlotReader,
        knowledge: KnowledgeSearch,
        operations: OperationGateway,
        wording: TemplateWording | None = None,
        kb_answer: Callable[[list[KnowledgeHit]], Any] | None = None,
    ):
        self.pack = pack
        self.understander = understander
        self.slot_reader = slot_reader
        self.knowledge = knowledge
        self.operations = operations
        self.wording = wording or TemplateWording(pack.replies)
        self.kb_answer = kb_answer
        self.procedures = pack.procedures
        self.identity = IdentityCheck(pack.business.verification, operations, slot_reader)

    # --- public API -------------------------------------------------------------------------

    def greet(self, state: ConversationState, context: TurnContext) -> TurnResult:
        turn = _Turn(state, context)
        greeting = self.pack.business.persona.greeting
        self._say(turn, greeting if greeting else "greeting")
        if not is_open(self.pack.business, context.now):
            self._say(turn, "out_of_hours_note")
        self._tell_incidents(turn, tags=())
        return TurnResult(replies=turn.replies, events=turn.events)

    def handle(self, state: ConversationState, text: str, context: TurnContext) -> TurnResult:
        state.turn += 1
        turn = _Turn(state, context)
        if state.ended:
            self._say(turn, "This conversation has ended. Please start a new one if you need anything else.")
            return TurnResult(replies=turn.replies, events=turn.events, redacted_text="")
        if not text or not text.strip():
            self._say(turn, "didnt_understand")
            return TurnResult(replies=turn.replies, events=turn.events, redacted_text="")

        understanding = self.understander.understand(text)
        turn.understanding = understanding
        if "card_number" in understanding.redacted:
            self._say(turn, "card_number_redacted")
        if len(text) > MAX_UNDERSTOOD_CHARS * 5:
            self._say(turn, "message_too_long")
        self._remember_entities(state, understanding)
        self._track_mood(turn, understanding)
        if not state.escalated and not state.ended:
            self._route(turn, understanding)
        top = understanding.top_intent
        return TurnResult(
            replies=turn.replies or [self._line(turn, "didnt_understand")],
            events=turn.events,
            redacted_text=understanding.text,
            intent=top.name if top else None,
            frustration=understanding.frustration,
        )

    def handle_silence(self, state: ConversationState, context: TurnContext, final: bool) -> TurnResult:
        """The customer said nothing for a while: reprompt, or close politely (keeping the ticket)."""
        turn = _Turn(state, context)
        if final:
            self._say(turn, "silence_goodbye")
            self._finish_conversation(turn, "silence")
        else:
            state.reprompted_turn = state.turn
            self._say(turn, "silence_reprompt")
            if state.active and state.active.awaiting:
                self._reprompt(turn, state.active)
        return TurnResult(replies=turn.replies, events=turn.events)

    def handle_handoff_failed(self, state: ConversationState, context: TurnContext,
                              phone: str | None = None) -> TurnResult:
        """Nobody took the escalated contact (a transfer rang out): promise a callback instead."""
        turn = _Turn(state, context)
        if phone and not state.known.get("phone"):
            state.known["phone"] = phone
        self._book_callback(turn, "Escalation: the transfer was not answered", None, None, reply="handoff_unanswered")
        return TurnResult(replies=turn.replies, events=turn.events)

    def end(self, state: ConversationState, context: TurnContext, reason: str = "ended") -> TurnResult:
        turn = _Turn(state, context)
        if not state.ended:
            self._recap(turn)
            self._finish_conversation(turn, reason)
        return TurnResult(replies=turn.replies, events=turn.events)

    # --- routing ----------------------------------------------------------------------------

    def _route(self, turn: _Turn, u: Understanding) -> None:
        state = turn.state
        intent = u.top_intent
        name, score = (intent.name, intent.score) if intent else ("", 0.0)
        run = state.active

        if _INJECTION.search(u.text):
            self._say(turn, "ignored_instruction")

        if (name == "human" and score >= BUILTIN_THRESHOLD) or "manager" in u.frustration_cues:
            manager = "manager" in u.frustration_cues or "manager" in u.text.lower()
            tier = self.pack.business.escalation.manager_tier if manager else None
            self._escalate(turn, "customer asked for a person", tier)
            return

        if state.verification.in_progress:
            if self._continue_verification(turn, u):
                self._run(turn)
            return

        if run is not None and run.awaiting is not None:
            outcome = self._answer_awaited(turn, run, u)
            if outcome == "continue":
                self._run(turn)
                return
            if outcome == "wait":
                return
            # not an answer: a digression (question / new request) or a misunderstanding
            if self._digress(turn, u, name, score):
                return
            self._misunderstood(turn, reprompt=run)
            return

        if state.pending_offer is not None and self._answer_offer(turn, u, name, score):
            return
        self._start_something(turn, u, name, score)

    def _start_something(self, turn: _Turn, u: Understanding, name: str, score: float) -> bool:
        """A fresh request: a procedure, a knowledge question, or a conversational move."""
        state = turn.state
        hits: list[KnowledgeHit] | None = None
        if name in self.procedures and _general_question(u):
            # "How long do I have to send something back?" asks about the policy, not for a return.
            hits = self.knowledge.search(u.text, k=3)
            if hits and hits[0].score >= KB_THRESHOLD and score < 0.97:
                self._answer_from_kb(turn, hits)
                return True
        if name in self.procedures and score >= PROCEDURE_THRESHOLD:
            self._queue_other_requests(turn, u, name)
            self._start_procedure(turn, name)
            return True
        if name in BUILTIN and score >= BUILTIN_THRESHOLD and name not in ("out_of_scope", "complaint"):
            self._builtin(turn, name)
            return True
        if name == "complaint" and score >= BUILTIN_THRESHOLD:
            if not state.apologised:
                self._say(turn, "acknowledge_frustration")
                state.apologised = True
            state.pending_offer = "human"
            self._say(turn, "offer_human")
            return True
        if hits is None:
            hits = self.knowledge.search(u.text, k=3)
        if hits and hits[0].score >= KB_THRESHOLD:
            self._answer_from_kb(turn, hits)
            return True
        if name in self.procedures and score >= PROCEDURE_WEAK_THRESHOLD:
            self._start_procedure(turn, name)
            return True
        if name == "out_of_scope" and score >= BUILTIN_THRESHOLD:
            state.out_of_scope_count += 1
            if state.out_of_scope_count >= 2:
                state.pending_offer = "human"
                self._say(turn, "offer_human")
            else:
                self._say(turn, "out_of_scope")
            return True
        turn.events.append(KnowledgeGap(u.text[:500], hits[0].score if hits else 0.0))
        self._misunderstood(turn, reprompt=None)
        return False

    def _digress(self, turn: _Turn, u: Understanding, name: str, score: float) -> bool:
        """Mid-procedure: answer a side question or take a new request, then come back."""
        run = turn.state.active
        assert run is not None
        if name in self.procedures and name != run.procedure_id and score >= PROCEDURE_THRESHOLD + 0.15:
            self._start_procedure(turn, name)
            return True
        if name == "bye" and score >= BUILTIN_THRESHOLD:
            self._finish_procedure(turn, run, "unresolved", "customer left before it was finished")
            self._recap(turn)
            self._say(turn, "goodbye")
            self._finish_conversation(turn, "customer said goodbye")
            return True
        if name in ("nevermind",) and score >= BUILTIN_THRESHOLD:
            self._finish_procedure(turn, run, "unresolved", "customer changed their mind")
            self._say(turn, "declined_offer")
            self._after_procedure(turn)
            return True
        if name in ("repeat",) and score >= BUILTIN_THRESHOLD:
            self._reprompt(turn, run)
            return True
        hits = self.knowledge.search(u.text, k=3)
        if (hits and hits[0].score >= KB_THRESHOLD and "?" in u.text) or (hits and hits[0].score >= 0.7):
            self._answer_from_kb(turn, hits)
            self._reprompt(turn, run)
            return True
        return False

    def _builtin(self, turn: _Turn, name: str) -> None:
        state = turn.state
        if name == "greet":
            self._say(turn, "How can I help you today?" if state.turn > 1 or state.last_reply else "greeting")
        elif name == "thanks":
            state.pending_offer = "anything_else"
            self._say(turn, "You're welcome!")
            self._say(turn, "anything_else")
        elif name == "bye":
            self._recap(turn)
            self._say(turn, "goodbye")
            self._finish_conversation(turn, "customer said goodbye")
        elif name == "repeat":
            self._say(turn, state.last_reply or "greeting", allow_repeat=True)
        elif name in ("affirm", "deny", "nevermind"):
            self._say(turn, "How can I help you today?")
        elif name == "human":
            self._escalate(turn, "customer asked for a person")

    def _answer_offer(self, turn: _Turn, u: Understanding, name: str, score: float) -> bool:
        state = turn.state
        offer = state.pending_offer
        yes = _YES.match(u.text) is not None or (name == "affirm" and score >= BUILTIN_THRESHOLD)
        no = _NO.match(u.text) is not None or (name in ("deny", "bye") and score >= BUILTIN_THRESHOLD)
        state.pending_offer = None
        if offer == "human":
            if yes:
                self._escalate(turn, "customer accepted a transfer to a person")
                return True
            if no:
                self._say(turn, "declined_offer")
                self._say(turn, "anything_else")
                state.pending_offer = "anything_else"
                return True
        elif offer == "anything_else":
            short = len(u.text.split()) <= 4
            if (no and short) or (name in ("bye", "thanks") and short):
                self._recap(turn)
                self._say(turn, "goodbye")
                self._finish_conversation(turn, "resolved")
                return True
            if yes and short:
                self._say(turn, "What else can I help you with?")
                return True
        return False

    # --- knowledge --------------------------------------------------------------------------

    def _answer_from_kb(self, turn: _Turn, hits: list[KnowledgeHit]) -> None:
        state = turn.state
        best = hits[0]
        answer_text = best.text
        if self.kb_answer is not None:
            answer = self.kb_answer(hits)
            if answer is not None:
                answer_text = getattr(answer, "text", answer_text)
        tags = self._article_tags(best.article_id)
        self._tell_incidents(turn, tags=(best.article_id, *tags))
        self._say(turn, "kb_answer", answer=answer_text, title=best.title, article=best.article_id)
        state.steps_taken.append(f"Answered from article '{best.title}'")
        state.misunderstandings = 0
        state.requests.append(RequestRecord("knowledge", best.title, "question", "low", "resolved",
                                            f"Answered from '{best.title}'", [best.article_id]))
        if state.active is None:
            state.pending_offer = "anything_else"

    def _article_tags(self, article_id: str) -> tuple[str, ...]:
        """Tags of an article, when the knowledge adapter keeps articles (for incident matching)."""
        articles = getattr(self.knowledge, "articles", None)
        if not callable(articles):
            return ()
        article = articles().get(article_id)
        return tuple(getattr(article, "tags", ()) or ())

    # --- procedures -------------------------------------------------------------------------

    def _queue_other_requests(self, turn: _Turn, u: Understanding, first: str) -> None:
        """'Cancel BB-10160 and also change my address': the second request runs after the first."""
        clauses = [c.strip() for c in _REQUEST_SPLIT.split(u.text) if len(c.strip().split()) >= 3]
        if len(clauses) < 2:
            return
        queued: list[str] = []
        for clause in clauses[1:]:
            top = self.understander.understand(clause).top_intent
            if top and top.name in self.procedures and top.name not in (first, *queued) and top.score >= 0.6:
                queued.append(top.name)
        for procedure_id in reversed(queued):
            turn.state.suspended.append(ProcedureRun(procedure_id, started_turn=turn.state.turn, queued=True))

    def _start_procedure(self, turn: _Turn, procedure_id: str) -> None:
        state = turn.state
        proc = self.procedures[procedure_id]
        if state.active is not None:
            if state.active.procedure_id == procedure_id:
                self._reprompt(turn, state.active)
                return
            state.suspended.append(state.active)
        opening = turn.understanding.text if turn.understanding is not None else ""
        state.active = ProcedureRun(procedure_id=procedure_id, started_turn=state.turn, opening_text=opening[:2000])
        state.pending_offer = None
        state.misunderstandings = 0
        state.requests.append(RequestRecord(proc.id, proc.title, proc.category, proc.priority,
                                            tags=list(proc.ticket.tags)))
        state.steps_taken.append(f"Started '{proc.title}'")
        self._tell_incidents(turn, tags=(proc.id, proc.category, *proc.ticket.tags))
        if proc.requires_verification and not state.verified and not self._begin_verification(turn):
            return
        self._run(turn)

    def _run(self, turn: _Turn) -> None:
        """Execute steps until one needs the customer's answer or the procedure ends."""
        state = turn.state
        for _ in range(MAX_STEPS_PER_TURN):
            run = state.active
            if run is None or state.ended or state.escalated:
                return
            proc = self.procedures[run.procedure_id]
            if run.pc >= len(proc.steps):
                self._say(turn, "no_procedure_steps")
                self._escalate(turn, f"'{proc.title}' ran out of steps")
                return
            step = proc.steps[run.pc]
            if step.requires_verification and not state.verified and not self._begin_verification(turn):
                return
            if not self._execute(turn, proc, run, step):
                return
        self._escalate(turn, "procedure loop detected")

    def _execute(self, turn: _Turn, proc: Procedure, run: ProcedureRun, step: Step) -> bool:
        """Run one step; False when the turn must stop (waiting for the customer or finished)."""
        state = turn.state
        names = self._names(turn, run)
        action = step.action
        try:
            if action == "ask":
                assert step.ask is not None
                if step.ask in run.slots:
                    run.pc += 1
                    return True
                remembered = self._slot_from_memory(turn, proc, run, step.ask)
                if remembered:
                    return self._fill(turn, run, step.ask, remembered) == "continue"
                run.awaiting = f"slot:{step.ask}"
                self._say(turn, step.prompt or proc.slots[step.ask].prompt or f"What is the {step.ask}?",
                          **names)
                return False
            if action == "say" or (step.say is not None and action in ("goto", "noop")):
                self._say(turn, step.say or "", **names)
                if action == "goto":
                    assert step.goto is not None
                    run.pc = proc.index_of(step.goto)
                else:
                    run.pc += 1
                return True
            if step.say is not None:
                self._say(turn, step.say, **names)
            if action == "noop":
                run.pc += 1
                return True
            if action == "goto":
                assert step.goto is not None
                run.pc = proc.index_of(step.goto)
                return True
            if action == "set":
                for key, expression in (step.set or {}).items():
                    run.results[key] = evaluate(expression, names)
                    names[key] = run.results[key]
                run.pc += 1
                return True
            if action == "clear":
                for slot_name in step.clear or []:
                    run.slots.pop(slot_name, None)
                run.pc += 1
                return True
            if action == "check":
                assert step.check is not None
                if evaluate(step.check, names):
                    run.pc += 1
                    return True
                if step.else_say:
                    self._say(turn, step.else_say, **names)
                state.steps_taken.append(f"Policy check failed: {step.check}")
                if step.else_goto:
                    run.pc = proc.index_of(step.else_goto)
                    return True
                self._finish_procedure(turn, run, "unresolved", "")
                self._after_procedure(turn)
                return False
            if action == "branch":
                for case in step.branch or []:
                    if evaluate(case.when, names):
                        run.pc = proc.index_of(case.goto)
                        return True
                run.pc = proc.index_of(step.otherwise) if step.otherwise else run.pc + 1
                return True
            if action == "confirm":
                assert step.confirm is not None
                run.awaiting = "confirm"
                run.confirm_granted = False
                self._say(turn, step.confirm, **names)
                return False
            if action == "call":
                return self._call(turn, proc, run, step, names)
            if action == "escalate":
                self._finish_procedure(turn, run, "escalated", render(step.escalate or "", names))
                self._escalate(turn, render(step.escalate or "", names), step.tier)
                return False
            if action == "callback":
                self._book_callback(turn, render(step.callback or "", names), step.within, run)
                run.pc += 1
                return True
            if action == "end":
                resolution = render(step.resolution, names) if step.resolution else ""
                self._finish_procedure(turn, run, step.end or "resolved", resolution)
                self._after_procedure(turn)
                return False
        except ExpressionError as exc:
            state.steps_taken.append(f"Pack error in '{proc.id}' step {run.pc + 1}: {exc}")
            self._say(turn, "operation_failed")
            self._finish_procedure(turn, run, "escalated", "pack error")
            self._escalate(turn, f"could not run step {run.pc + 1} of '{proc.title}'")
            return False
        raise AssertionError(f"unhandled step action {action}")

    def _call(self, turn: _Turn, proc: Procedure, run: ProcedureRun, step: Step, names: dict[str, Any]) -> bool:
        state = turn.state
        assert step.call is not None
        spec = self.pack.operations.operations[step.call]
        needs_identity = proc.requires_verification or spec.owner_field
        if needs_identity and not state.verified and not self._begin_verification(turn):
            return False
        if spec.changes_data and not run.confirm_granted:
            # Policy, whatever the pack says: no change without an explicit yes right before it.
            run.awaiting = "confirm"
            self._say(turn, "confirm_needed")
            return False
        args = render_value(step.args, names)
        result = self.operations.call(step.call, args)
        run.confirm_granted = False
        data = result.data
        refused_owner = False
        if result.ok and spec.owner_field and state.customer_id is not None:
            data, refused_owner = self._only_own(data, spec.owner_field, state.customer_id)
        turn.events.append(OperationCalled(step.call, dict(args), result.ok and not refused_owner,
                                           spec.changes_data, state.customer_id, result.error))
        if refused_owner:
            self._say(turn, "other_customer_refused")
            state.steps_taken.append(f"Refused {step.call}: belongs to another customer")
            self._finish_procedure(turn, run, "unresolved", "request about another customer refused")
            self._after_procedure(turn)
            return False
        if not result.ok:
            state.steps_taken.append(f"{step.call} failed: {result.error}")
            if step.save_as:
                run.results[step.save_as] = {"error": result.error}
            run.results["error"] = result.error
            if step.on_failure:
                run.pc = proc.index_of(step.on_failure)
                return True
            self._say(turn, "operation_failed")
            self._finish_procedure(turn, run, "escalated", f"{step.call} failed")
            self._escalate(turn, f"system error during '{proc.title}': {result.error}")
            return False
        if spec.changes_data:
            state.steps_taken.append(f"{step.call} done ({_describe(args)})")
        if step.save_as:
            run.results[step.save_as] = data
        run.pc += 1
        return True

    @staticmethod
    def _only_own(data: Any, owner_field: str, customer_id: str) -> tuple[Any, bool]:
        if isinstance(data, dict):
            owner = data.get(owner_field)
            return data, owner is not None and str(owner) != customer_id
        if isinstance(data, list):
            own = [r for r in data if not isinstance(r, dict) or str(r.get(owner_field)) == customer_id]
            return own, bool(data) and not own  # nothing of it is theirs: it's someone else's
        return data, False

    # --- answers to questions the agent asked --------------------------------------------------

    def _answer_awaited(self, turn: _Turn, run: ProcedureRun, u: Understanding) -> str:
        """'continue' (run on), 'wait' (handled; a question was asked) or 'no' (not an answer)."""
        proc = self.procedures[run.procedure_id]
        intent = u.top_intent
        name = intent.name if intent else ""
        score = intent.score if intent else 0.0
        if run.awaiting == "confirm":
            if self._correction(turn, proc, run, u):
                return "continue"
            if _YES.match(u.text) or (name == "affirm" and score >= 0.6 and not _NO.match(u.text)):
                run.awaiting = None
                run.confirm_granted = True
                turn.state.steps_taken.append("Customer confirmed")
                run.pc += 1
                return "continue"
            if _NO.match(u.text) or (name in ("deny", "nevermind") and score >= 0.6):
                run.awaiting = None
                turn.state.steps_taken.append("Customer declined the change")
                step = proc.steps[run.pc]
                if step.on_no:
                    run.pc = proc.index_of(step.on_no)
                    return "continue"
                self._say(turn, "declined_offer")
                self._finish_procedure(turn, run, "resolved", "customer declined the change")
                self._after_procedure(turn)
                return "wait"
            if name in BUILTIN or (name in self.procedures and score >= PROCEDURE_THRESHOLD + 0.15):
                return "no"
            self._say(turn, "confirm_needed")
            return "wait"
        assert run.awaiting is not None
        kind, _, slot_name = run.awaiting.partition(":")
        slot = proc.slots[slot_name]
        names = self._names(turn, run)
        if kind == "more":
            return self._answer_more(turn, run, slot_name, u, names)
        if slot.type == "choice":
            match = self._match_choice(u.text, slot, names)
            if match.ambiguous and not match.values:
                self._say(turn, "which_one", options=[c.label for c in match.ambiguous])
                return "wait"
            if match.values:
                return self._fill(turn, run, slot_name, match.values)
            value: Any = None
        else:
            value = self._read_slot(u, slot.type)
        if value is None and not slot.required and not self._is_other_request(u):
            value = ""  # an optional detail the customer didn't give ("any time is fine")
        if value is None:
            return "no"
        return self._fill(turn, run, slot_name, [value])

    def _fill(self, turn: _Turn, run: ProcedureRun, slot_name: str, values: list[Any]) -> str:
        proc = self.procedures[run.procedure_id]
        slot = proc.slots[slot_name]
        run.reasks = 0
        turn.state.misunderstandings = 0
        if slot.many:
            current = list(run.slots.get(slot_name) or [])
            run.slots[slot_name] = current + [v for v in values if v not in current]
            run.awaiting = f"more:{slot_name}"
            self._say(turn, slot.more_prompt or "anything_to_add", **self._names(turn, run))
            return "wait"
        run.slots[slot_name] = values[0]
        run.awaiting = None
        run.pc += 1
        return "continue"

    def _answer_more(self, turn: _Turn, run: ProcedureRun, slot_name: str, u: Understanding,
                     names: dict[str, Any]) -> str:
        """After each item of a list: more items, or done."""
        slot = self.procedures[run.procedure_id].slots[slot_name]
        match = self._match_choice(u.text, slot, names) if slot.type == "choice" else None
        values = match.values if match else [v for v in [self._read_slot(u, slot.type)] if v]
        if values and not _DONE.search(u.text):
            return self._fill(turn, run, slot_name, values)
        if _DONE.search(u.text) or _NO.match(u.text):
            if values:
                current = list(run.slots.get(slot_name) or [])
                run.slots[slot_name] = current + [v for v in values if v not in current]
            run.awaiting = None
            run.pc += 1
            return "continue"
        if _YES.match(u.text):
            run.awaiting = f"slot:{slot_name}"
            self._say(turn, slot.prompt or f"What is the {slot_name}?", **names)
            return "wait"
        return "no"

    def _match_choice(self, text: str, slot: SlotSpec, names: dict[str, Any]) -> ChoiceMatch:
        return match_choices(text, choices_for(slot, names), slot.many)

    def _is_other_request(self, u: Understanding) -> bool:
        top = u.top_intent
        return top is not None and top.score >= PROCEDURE_THRESHOLD and (
            top.name in self.procedures or top.name in ("human", "nevermind", "bye"))

    def _correction(self, turn: _Turn, proc: Procedure, run: ProcedureRun, u: Understanding) -> bool:
        """'No, the other order BB-10002': replace a filled slot and replay the procedure from the top."""
        if not _CORRECTION.search(u.text):
            return False
        for slot_name, slot in proc.slots.items():
            if slot_name not in run.slots or slot.type in ("text", "yes_no"):
                continue
            found = [e for e in u.entities if e.type == slot.type and e.value != run.slots[slot_name]]
            if found:
                run.slots[slot_name] = found[0].value
                run.results.clear()
                run.pc = 0
                run.awaiting = None
                run.confirm_granted = False
                turn.state.steps_taken.append(f"Customer corrected {slot_name} to {found[0].value}")
                return True
        return False

    def _read_slot(self, u: Understanding, slot_type: str) -> str | None:
        if slot_type == "yes_no":
            if _YES.match(u.text):
                return "yes"
            if _NO.match(u.text):
                return "no"
            top = u.top_intent
            if top and top.name in ("affirm", "deny") and top.score >= 0.6:
                return "yes" if top.name == "affirm" else "no"
            return None
        found = u.entities_of(slot_type)
        if found:
            return found[0].value
        return self.slot_reader.read(u.text, slot_type)

    def _slot_from_memory(self, turn: _Turn, proc: Procedure, run: ProcedureRun, slot_name: str) -> list[Any]:
        """Never re-ask what was said: values from the request's opening message or identity details."""
        slot = proc.slots[slot_name]
        state = turn.state
        if slot.type == "choice":
            if not run.opening_text:
                return []
            match = self._match_choice(run.opening_text, slot, self._names(turn, run))
            return match.values
        if slot.type in ("text", "yes_no"):
            return []
        said_at = state.known_turn.get(slot.type)
        if said_at is None:
            return []
        # only what was said for this request: an earlier ZIP or phone is not the new one being asked for
        if said_at >= run.started_turn:
            value = state.known.get(slot.type)
            return [value] if value is not None else []
        return []

    def _reprompt(self, turn: _Turn, run: ProcedureRun) -> None:
        proc = self.procedures[run.procedure_id]
        names = self._names(turn, run)
        if run.awaiting == "confirm":
            step = proc.steps[run.pc]
            self._say(turn, step.confirm or "confirm_needed", **names)
        elif run.awaiting and run.awaiting.startswith("slot:"):
            slot_name = run.awaiting.removeprefix("slot:")
            step = proc.steps[run.pc]
            prompt = step.prompt if step.ask == slot_name and step.prompt else proc.slots[slot_name].prompt
            self._say(turn, prompt or f"What is the {slot_name}?", allow_repeat=True, **names)

    def _misunderstood(self, turn: _Turn, reprompt: ProcedureRun | None) -> None:
        state = turn.state
        state.misunderstandings += 1
        if reprompt is not None:
            reprompt.reasks += 1
        if state.misunderstandings >= 3:
            self._escalate(turn, "repeated misunderstanding")
            return
        if state.misunderstandings == 2 and reprompt is None:
            state.pending_offer = "human"
            self._say(turn, "offer_human")
            return
        self._say(turn, "didnt_understand")
        if reprompt is not None:
            self._reprompt(turn, reprompt)

    # --- verification -----------------------------------------------------------------------

    def _begin_verification(self, turn: _Turn) -> bool:
        """Start (or finish at once, from details already given) identity verification."""
        state = turn.state
        state.verification.in_progress = True
        if self._try_verify(turn):
            return True
        if not state.verified and state.verification.in_progress:
            self._say(turn, "verify_intro")
        return False

    def _continue_verification(self, turn: _Turn, u: Understanding) -> bool:
        """True when verification completed and the procedure can go on."""
        collected = turn.state.verification.collected
        self.identity.gather(collected, u)
        if not collected:
            intent = u.top_intent
            if intent and intent.name in ("nevermind", "deny") and intent.score >= BUILTIN_THRESHOLD:
                turn.state.verification.in_progress = False
                run = turn.state.active
                if run:
                    self._finish_procedure(turn, run, "unresolved", "customer did not verify")
                self._say(turn, "anything_else")
                turn.state.pending_offer = "anything_else"
                return False
            self._misunderstood_verification(turn)
            return False
        return self._try_verify(turn, asked=True)

    def _try_verify(self, turn: _Turn, asked: bool = False) -> bool:
        state = turn.state
        v = state.verification
        for field_name in self.identity.fields:
            if field_name not in v.collected and field_name in state.known:
                v.collected[field_name] = state.known[field_name]
        method = self.identity.complete_method(v.collected)
        if method is None:
            missing = self.identity.still_missing(v.collected)
            if missing and asked:
                self._say(turn, "verify_need_more", missing=" and ".join(m.replace("_", " ") for m in missing)
                          .replace("person name", "full name").replace("postcode", "ZIP code"))
            return False
        lookup = self.identity.look_up(method, v.collected)
        turn.events.extend(lookup.calls)
        if lookup.customer is not None:
            state.customer = lookup.customer
            v.in_progress = False
            turn.events.append(CustomerVerified(dict(lookup.customer), tuple(method.fields)))
            state.steps_taken.append(f"Verified identity by {' + '.join(method.fields)}")
            flag = name_mismatch(state.known.get("person_name"), lookup.customer)
            if flag:
                state.flags.append(flag)
            self._say(turn, "verified", customer=state.customer)
            return True
        v.attempts += 1
        v.collected.clear()
        for field_name in IDENTITY_TYPES:
            state.known.pop(field_name, None)
        if not lookup.result.ok and lookup.result.retryable:
            self._say(turn, "operation_failed")
            self._escalate(turn, "could not reach the customer records to verify identity")
            return False
        if v.attempts >= self.pack.business.verification.max_attempts:
            v.in_progress = False
            self._say(turn, "verify_locked")
            state.steps_taken.append("Identity verification failed")
            if state.active:
                self._finish_procedure(turn, state.active, "unresolved", "identity not verified")
            state.pending_offer = "human"
            self._say(turn, "offer_human")
            return False
        self._say(turn, "verify_failed")
        return False

    def _misunderstood_verification(self, turn: _Turn) -> None:
        turn.state.misunderstandings += 1
        if turn.state.misunderstandings >= 3:
            self._escalate(turn, "could not verify identity (repeated misunderstanding)")
            return
        self._say(turn, "verify_intro")

    # --- endings ----------------------------------------------------------------------------

    def _finish_procedure(self, turn: _Turn, run: ProcedureRun, outcome: str, resolution: str) -> None:
        state = turn.state
        for record in reversed(state.requests):
            if record.procedure_id == run.procedure_id and record.outcome == "open":
                record.outcome = outcome
                record.resolution = resolution
                break
        turn.events.append(ProcedureFinished(run.procedure_id, outcome, resolution))
        if resolution:
            state.steps_taken.append(resolution)
        if state.active is run:
            state.active = None

    def _after_procedure(self, turn: _Turn) -> None:
        state = turn.state
        if state.ended or state.escalated:
            return
        if state.suspended:
            run = state.suspended.pop()
            proc = self.procedures[run.procedure_id]
            if run.queued:
                self._say(turn, "next_request", title=proc.title)
                self._start_procedure(turn, run.procedure_id)
                return
            state.active = run
            self._say(turn, "resume", title=proc.title)
            run.awaiting = None
            self._run(turn)
            return
        state.pending_offer = "anything_else"
        self._say(turn, "anything_else")

    def _escalate(self, turn: _Turn, reason: str, tier_name: str | None = None) -> None:
        state = turn.state
        if state.escalated:
            return
        business = self.pack.business
        tier = business.escalation.tier(tier_name)
        now = turn.context.now
        summary = self._handoff_summary(turn, reason)
        open_now = is_open(business, now)
        if state.active is not None:
            self._finish_procedure(turn, state.active, "escalated", "")
        for run in state.suspended:
            self._finish_procedure(turn, run, "escalated", "")
        state.suspended.clear()
        state.escalated = True
        state.pending_offer = None
        state.steps_taken.append(f"Escalated to {tier.name}: {reason}")
        turn.events.append(Escalated(tier.name, reason, summary, out_of_hours=not open_now))
        if open_now:
            self._say(turn, "escalating", tier=tier.model_dump())
        else:
            due = max(next_opening(business, now), now) + timedelta(minutes=30)
            phone, email = self._contact(state)
            turn.events.append(CallbackRequested(f"Escalation: {reason}", due, phone, email))
            self._say(turn, "out_of_hours_escalation", due=self._local_time(due))

    def _handoff_summary(self, turn: _Turn, reason: str) -> dict[str, Any]:
        state = turn.state
        customer = state.customer or {}
        who = (f"{customer.get('name', '')} ({customer.get('id')}), verified" if state.customer
               else "unverified customer")
        wants = state.requests[-1].title if state.requests else "to speak to a person"
        frustration = state.max_frustration
        mood = "angry" if frustration >= 0.75 else "frustrated" if frustration >= FRUSTRATED else "calm"
        priorities = [r.priority for r in state.requests] or ["normal"]
        urgency = "high" if mood == "angry" or "urgent" in priorities or "high" in priorities else "normal"
        issue = "; ".join(f"{r.title} ({r.outcome})" for r in state.requests) or reason
        return {"who": who, "issue": issue, "reason": reason, "steps_tried": list(state.steps_taken),
                "customer_wants": wants, "mood": mood, "urgency": urgency}

    @staticmethod
    def _contact(state: ConversationState) -> tuple[str | None, str | None]:
        customer = state.customer or {}
        return (state.known.get("phone") or customer.get("phone"),
                state.known.get("email") or customer.get("email"))

    def _book_callback(self, turn: _Turn, reason: str, within: str | None, run: ProcedureRun | None,
                       reply: str = "callback_booked") -> None:
        state = turn.state
        sla = parse_duration(within or self.pack.business.callback_sla)
        due = turn.context.now + sla
        known_phone, email = self._contact(state)
        phone = (run.slots.get("phone") if run else None) or known_phone
        turn.events.append(CallbackRequested(reason, due, phone, email))
        state.steps_taken.append(f"Callback booked by {self._local_time(due)}: {reason}")
        for record in reversed(state.requests):
            if record.outcome == "open":
                record.outcome = "callback"
                break
        self._say(turn, reply, phone=phone, due=self._local_time(due))

    def _local_time(self, moment: datetime) -> str:
        from zoneinfo import ZoneInfo

        local = moment.astimezone(ZoneInfo(self.pack.business.timezone))
        return f"{local:%A} at {local:%H:%M}"

    def _recap(self, turn: _Turn) -> None:
        state = turn.state
        done = [r for r in state.requests if r.procedure_id != "knowledge"]
        if not done:
            return
        parts = [r.resolution or f"{r.title.lower()} ({r.outcome})" for r in done]
        self._say(turn, "recap", summary="; ".join(parts), ticket_number=turn.context.ticket_number)

    def _finish_conversation(self, turn: _Turn, reason: str) -> None:
        turn.state.ended = True
        turn.events.append(ConversationEnded(reason))

    # --- mood and memory --------------------------------------------------------------------

    def _track_mood(self, turn: _Turn, u: Understanding) -> None:
        state = turn.state
        state.sentiment = u.frustration
        state.max_frustration = max(state.max_frustration, u.frustration)
        if u.frustration < FRUSTRATED:
            state.upset_turns = 0
            return
        state.upset_turns += 1
        if state.apologised and state.upset_turns >= 2:
            self._escalate(turn, "customer still upset after an apology",
                           self.pack.business.escalation.manager_tier)
            return
        if not state.apologised:
            state.apologised = True
            self._say(turn, "acknowledge_frustration")

    @staticmethod
    def _remember_entities(state: ConversationState, u: Understanding) -> None:
        for entity in u.entities:
            if entity.type == "card_number":
                continue
            state.known[entity.type] = entity.value
            state.known_turn[entity.type] = state.turn

    def _tell_incidents(self, turn: _Turn, tags: Sequence[str]) -> None:
        for incident in turn.context.incidents:
            if incident.id in turn.state.incidents_told:
                continue
            if incident.affected and not incident.affects(tags):
                continue
            turn.state.incidents_told.append(incident.id)
            self._say(turn, "incident_notice", incident=incident.__dict__)

    # --- wording ----------------------------------------------------------------------------

    def _names(self, turn: _Turn, run: ProcedureRun | None) -> dict[str, Any]:
        names: dict[str, Any] = {
            "business": {"name": self.pack.business.name},
            "persona": self.pack.business.persona.model_dump(),
            "customer": turn.state.customer or {},
            "now": turn.context.now,
            "ticket_number": turn.context.ticket_number,
            "incident": next((i.__dict__ for i in turn.context.incidents), None),
        }
        if run is not None:
            names.update(run.results)
            names["slots"] = dict(run.slots)
        return names

    def _line(self, turn: _Turn, key: str, **facts: Any) -> str:
        names = self._names(turn, turn.state.active)
        names.update(facts)
        avoid = {turn.state.last_reply, *turn.replies}
        return self.wording.render_avoiding(key, names, avoid=avoid, seed=turn.state.turn)

    def _say(self, turn: _Turn, key: str, allow_repeat: bool = False, **facts: Any) -> None:
        if not key:
            return
        names = self._names(turn, turn.state.active)
        names.update(facts)
        avoid: set[str] = set() if allow_repeat else {turn.state.last_reply, *turn.replies}
        line = self.wording.render_avoiding(key, names, avoid=avoid, seed=turn.state.turn)
        if line and (allow_repeat or line not in turn.replies):
            turn.replies.append(line)
            turn.state.last_reply = line


_DONE = re.compile(r"\b(that'?s (all|it|everything)|that is (all|it)|nothing else|no more|none|just (that|those|the)"
                   r"|only (that|those|the)|i'?m done|all of them|no,? thanks?)\b", re.I)
_REQUEST_SPLIT = re.compile(r"\band also\b|\balso,?\b|\bplus\b|\band then\b|(?<=[.!?])\s+", re.I)
_QUESTION = re.compile(r"^\s*(how|what|what's|whats|when|where|why|which|who|do|does|is|are|can|could|will|would"
                       r"|should|any)\b", re.I)
_PERSONAL = re.compile(r"\b(my|mine|me|i've|i'd like|i want|i need|please)\b", re.I)


def _general_question(u: Understanding) -> bool:
    """A question about how things work, not about the customer's own account or order."""
    asks = bool(_QUESTION.match(u.text)) or u.text.rstrip().endswith("?")
    specific = any(e.type not in ("product", "product_option", "money", "number") for e in u.entities)
    return asks and not specific and not _PERSONAL.search(u.text)


def _describe(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in args.items())
