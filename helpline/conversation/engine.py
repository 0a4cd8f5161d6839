"""The command processor: applies what understanding proposes, under the pack's procedures and policies.

A command generator (embedded models, or a language model) turns each message into typed commands
(`commands.py`); the engine applies them one by one against the conversation state. What the agent
is allowed to do is decided here and in its parts, deterministically, whatever the wording:
- nothing customer-specific is read or changed before identity verification (guards.py);
- one customer per conversation: results owned by anyone else are refused (guards.py);
- an operation that changes data runs only right after an explicit yes (steps.py);
- escalation when asked, when anger persists after an apology, after repeated misunderstanding, or
  when a procedure runs out of steps; a hand-off keeps serving the customer (escalation.py);
- answers come only from the knowledge base or from the customer's own records.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from helpline.conversation.awaited_answers import NEW_REQUESTS, AwaitedAnswers
from helpline.conversation.commands import (
    Affirm,
    AskHuman,
    AskKnowledge,
    AskRecord,
    CancelProcedure,
    ChitChat,
    ChitChatKind,
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
from helpline.conversation.events import KnowledgeGap, TurnResult
from helpline.conversation.guards import HOLDER_CALLBACK_OFFER, hide_codes
from helpline.conversation.incident_notices import PLACE_OFFER
from helpline.conversation.knowledge_answers import ARTICLE_OFFER
from helpline.conversation.other_contacts import SAME_ISSUE_OFFER
from helpline.conversation.ports import IDENTITY_TYPES
from helpline.conversation.state import ConversationState, ProcedureRun
from helpline.conversation.teamwork import TEAM_CALLBACK_OFFER
from helpline.conversation.turn import Incident, Turn, TurnContext

__all__ = ["Engine", "Incident", "TurnContext"]



class Engine(AwaitedAnswers):
    # --- public API -------------------------------------------------------------------------

    def greet(self, state: ConversationState, context: TurnContext) -> TurnResult:
        turn = Turn(state, context)
        greeting = self.pack.business.persona.greeting
        self._say(turn, greeting if greeting else "greeting")
        if not self._team_hours(turn, None).is_open(context.now):  # the default team, on this channel
            self._say(turn, "out_of_hours_note")
        self._tell_incidents(turn, tags=())
        return TurnResult(replies=turn.replies, events=turn.events)

    def interpret(self, state: ConversationState, text: str, now: datetime | None = None) -> Interpretation:
        """What the generator proposes for this message in this state (nothing is applied)."""
        return self.interpreter.interpret(text, state, self._generator_context(state, now))

    def handle(self, state: ConversationState, text: str, context: TurnContext,
               interpretation: Interpretation | None = None) -> TurnResult:
        """Apply one customer message; ``interpretation``, when given, is ``interpret``'s reading of this
        text on this very state (made ahead, outside the turn's transaction) and is used as is."""
        state.turn += 1
        turn = Turn(state, context)
        if state.ended:
            self._say(turn, "This conversation has ended. Please start a new one if you need anything else.")
            return TurnResult(replies=turn.replies, events=turn.events, redacted_text="")
        if not text or not text.strip():
            self._say(turn, "didnt_understand")
            return TurnResult(replies=turn.replies, events=turn.events, redacted_text="")

        it = interpretation if interpretation is not None else self.interpret(state, text, context.now)
        turn.interpretation = it
        if "card_number" in it.redacted:
            self._say(turn, "card_number_redacted")
        if len(text) > self.policy.max_understood_chars * 5:
            self._say(turn, "message_too_long")
        code_awaited = state.verification.code_pending
        if not code_awaited:  # a code typed back is not a ZIP, a phone or an order number to remember
            self._remember(state, it)
        self._note_caller(turn, it)
        self._track_mood(turn, it)
        joined_elsewhere = self._tell_joined(turn)  # then this stale contact does nothing the other one did
        if not state.ended and not joined_elsewhere:
            self._apply(turn, it)
            self._mention_other_contacts(turn)
        return TurnResult(
            replies=turn.replies or [self._line(turn, "didnt_understand")],
            events=turn.events,
            redacted_text=hide_codes(it.text) if code_awaited else it.text,
            intent=_summary(it.commands),
            frustration=it.frustration,
            understood_by=it.source,
            model_usage=it.model_usage,
        )

    def handle_silence(self, state: ConversationState, context: TurnContext, final: bool) -> TurnResult:
        """The customer said nothing for a while: reprompt, or close politely (keeping the ticket)."""
        turn = Turn(state, context)
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
        turn = Turn(state, context)
        if phone and not state.known.get("phone"):
            state.known["phone"] = phone
        self._book_callback(turn, "Escalation: the transfer was not answered", None, None, reply="handoff_unanswered",
                            tier_name=state.escalated_tier)
        return TurnResult(replies=turn.replies, events=turn.events)

    def end(self, state: ConversationState, context: TurnContext, reason: str = "ended") -> TurnResult:
        turn = Turn(state, context)
        if not state.ended:
            self._recap(turn)
            self._finish_conversation(turn, reason)
        return TurnResult(replies=turn.replies, events=turn.events)

    # --- applying commands ----------------------------------------------------------------------

    def _generator_context(self, state: ConversationState, now: datetime | None = None) -> GeneratorContext:
        run = state.active
        awaiting: str | None = None
        slot_type: str | None = None
        if state.verification.code_pending:
            awaiting = "verify_code"
        elif state.verification.in_progress:
            awaiting = "verify"
        elif run is not None and run.awaiting:
            awaiting = run.awaiting
            slot_name = run.awaiting.partition(":")[2]
            proc = self.procedures.get(run.procedure_id)
            if proc is not None and slot_name in proc.slots:
                slot_type = proc.slots[slot_name].type
        elif state.record_choices:
            awaiting = "record_choice"
        elif state.pending_offer:
            awaiting = f"offer:{state.pending_offer}"
        local_now = now.astimezone(ZoneInfo(self.pack.business.timezone)).replace(tzinfo=None) if now else None
        return GeneratorContext(procedures=tuple(self.procedures), awaiting=awaiting, awaiting_slot_type=slot_type,
                                active_procedure=run.procedure_id if run else None, local_now=local_now)

    def _apply(self, turn: Turn, it: Interpretation) -> None:
        state = turn.state
        # "which order do you mean?" is answered now or never: any other message leaves the choice
        choice_for, state.record_choices, state.record_choice_question = state.record_choice_question, {}, ""
        if "instruction_injection" in it.warnings:
            self._say(turn, "ignored_instruction")
        unsupported = it.first(Unsupported)
        if unsupported is not None:
            turn.language = unsupported.language  # say it in their language, where we have the words
            self._say(turn, "language_not_supported")
            state.pending_offer = "human"
            return
        if state.escalated:
            self._serve_after_handoff(turn, it)
            return
        chit = it.first(ChitChat)
        if chit is not None and chit.kind is ChitChatKind.BOT_CHALLENGE:
            self._say(turn, "bot_disclosure")
            if len(it.commands) == 1:
                return
        ask = it.first(AskHuman)
        if ask is not None:
            tier = self.pack.business.escalation.manager_tier if ask.manager else None
            self._escalate(turn, "customer asked for a person", tier)
            return
        if self.answer_record_choice(turn, it, choice_for):
            return
        if state.verification.code_pending:
            if self._continue_step_up(turn, it):
                self._after_verification(turn)
            return
        if state.verification.in_progress:
            if self._side_question_while_verifying(turn, it):
                return
            if self._continue_verification(turn, it):
                self._after_verification(turn)
            return
        run = state.active
        if run is not None and run.awaiting is not None:
            for later in reversed([c for c in it.commands if isinstance(c, StartProcedure) and c.queued
                                   and c.procedure_id in self.procedures]):
                state.suspended.insert(0, ProcedureRun(later.procedure_id, started_turn=state.turn, queued=True,
                                                       slots=dict(later.slots)))
            outcome = self._answer_awaited(turn, run, it)
            if outcome == "continue":
                self._run(turn)
            elif outcome == "no" and not self._digress(turn, it):
                self._misunderstood(turn, reprompt=run)
            return
        if state.pending_offer is not None and self._answer_offer(turn, it):
            return
        self._start_something(turn, it)

    def _side_question_while_verifying(self, turn: Turn, it: Interpretation) -> bool:
        """Asked who they are, the customer asks a general question instead ("do you take PayPal?"): answer it
        when the articles clearly do, then ask for the details again. It was read as a failed answer, and three
        of them handed the customer to a person: on the phone, a misheard request that started a verification
        left every later question unanswered but for "confirm it's you", then a transfer."""
        question = it.first(AskKnowledge)
        gives_details = it.has(Identify) or any(e.type in IDENTITY_TYPES for e in it.entities)
        if question is None or not question.question or gives_details or turn.state.verification.code_pending:
            return False
        if not self._side_answer(turn, question.query):
            return False
        self._say(turn, "verify_intro")
        return True

    def _after_verification(self, turn: Turn) -> None:
        question = turn.state.pending_record_question
        if question:
            turn.state.pending_record_question = ""
            self._answer_record(turn, AskRecord(question))
        self._run(turn)  # then the request that asked for verification goes on (nothing runs without one)

    def _start_something(self, turn: Turn, it: Interpretation) -> None:
        """A fresh request: a procedure, a question, or a conversational move."""
        state = turn.state
        starts = [c for c in it.commands if isinstance(c, StartProcedure) and c.procedure_id in self.procedures]
        if starts:
            for queued in reversed(starts[1:]):
                if queued.procedure_id != starts[0].procedure_id:
                    state.suspended.append(ProcedureRun(queued.procedure_id, started_turn=state.turn, queued=True,
                                                        slots=dict(queued.slots)))
            self._start_procedure(turn, starts[0].procedure_id, starts[0].slots)
            return
        ordered = sorted(it.commands, key=lambda c: isinstance(c, Identify))  # details alone come last
        if _asks_more(it):  # "that's all, oh wait, do you take PayPal?" is no goodbye
            ordered = [c for c in ordered if not isinstance(c, NothingElse)]
        for command in ordered:
            if self._start_with(turn, it, command):
                return
        self._misunderstood(turn, reprompt=None)

    def _start_with(self, turn: Turn, it: Interpretation, command: Command) -> bool:
        state = turn.state
        if isinstance(command, AskRecord):
            self._answer_record(turn, command)
        elif isinstance(command, AskKnowledge):
            self._answer_knowledge(turn, command)
        elif isinstance(command, ChitChat):
            self._chit_chat(turn, command.kind)
        elif isinstance(command, Repeat):
            self._say(turn, state.last_reply or "greeting", allow_repeat=True)
        elif isinstance(command, NothingElse):
            self._close(turn)
        elif isinstance(command, (Affirm, Deny, CancelProcedure, ProblemStatus)):
            self._say(turn, "how_can_i_help")
        elif isinstance(command, Clarify):
            titles = [self.procedures[p].title for p in command.options if p in self.procedures]
            self._say(turn, "which_one", options=titles)
        elif isinstance(command, OutOfScope):
            if command.unknown:
                return False
            state.out_of_scope_count += 1
            if state.out_of_scope_count >= self.policy.out_of_scope_to_offer_human:
                state.pending_offer = "human"
                self._say(turn, "offer_human")
            else:
                self._say(turn, "out_of_scope")
        elif isinstance(command, Identify):
            self._say(turn, "noted_details")
        else:
            return False
        return True

    def _chit_chat(self, turn: Turn, kind: ChitChatKind) -> None:
        state = turn.state
        if kind is ChitChatKind.GREETING:
            self._say(turn, "how_can_i_help" if state.turn > 1 or state.last_reply else "greeting")
        elif kind is ChitChatKind.THANKS:
            state.pending_offer = "anything_else"
            self._say(turn, "you_are_welcome")
            self._say(turn, "anything_else")
        elif kind is ChitChatKind.BYE:
            self._close(turn)
        elif kind is ChitChatKind.BOT_CHALLENGE:
            self._say(turn, "how_can_i_help")
        else:
            self._say(turn, "how_can_i_help")

    def _close(self, turn: Turn) -> None:
        self._recap(turn)
        self._say(turn, "goodbye")
        self._finish_conversation(turn, "customer said goodbye")

    def _digress(self, turn: Turn, it: Interpretation) -> bool:
        """Mid-procedure, a message that does not answer the question: a new request, a side question."""
        run = turn.state.active
        assert run is not None
        start = next((c for c in it.commands if isinstance(c, StartProcedure)
                      and c.procedure_id in self.procedures and c.procedure_id != run.procedure_id), None)
        if start is not None:
            if start.instead:
                # "actually, can I swap it instead?": the first request is dropped, not resumed later
                self._finish_procedure(turn, run, "withdrawn", "customer asked for something else instead")
            self._start_procedure(turn, start.procedure_id, start.slots)
            return True
        chit = it.first(ChitChat)
        if chit is not None and chit.kind is ChitChatKind.BYE:
            self._finish_procedure(turn, run, "unresolved", "customer left before it was finished")
            self._close(turn)
            return True
        if it.has(CancelProcedure):
            self._finish_procedure(turn, run, "unresolved", "customer changed their mind")
            self._say(turn, "declined_offer")
            self._after_procedure(turn)
            return True
        if it.has(Repeat):
            self._reprompt(turn, run)
            return True
        record = it.first(AskRecord)
        if record is not None and turn.state.verified:
            self._answer_record(turn, record)
            self._reprompt(turn, run)
            return True
        question = it.first(AskKnowledge)
        if question is not None and self._side_answer(turn, question.query):
            self._reprompt(turn, run)
            return True
        if chit is not None and chit.kind is ChitChatKind.THANKS:
            self._reprompt(turn, run)
            return True
        return False

    def _answer_offer(self, turn: Turn, it: Interpretation) -> bool:
        state = turn.state
        offer = state.pending_offer
        state.pending_offer = None
        chit = it.first(ChitChat)
        ends = (it.has(NothingElse) and not _asks_more(it)) or (
            chit is not None and chit.kind in (ChitChatKind.BYE, ChitChatKind.THANKS) and not it.has(*NEW_REQUESTS))
        if offer == "human":
            if it.has(Affirm):
                self._escalate(turn, "customer accepted a transfer to a person")
                return True
            if it.has(Deny, NothingElse):
                self._say(turn, "declined_offer")
                self._say(turn, "anything_else")
                state.pending_offer = "anything_else"
                return True
        elif offer and offer.startswith("start:"):
            procedure_id = offer.removeprefix("start:")
            if it.has(Affirm) and not it.has(*NEW_REQUESTS) and procedure_id in self.procedures:
                self._start_procedure(turn, procedure_id)
                return True
            if it.has(Deny) and not it.has(*NEW_REQUESTS):
                self._say(turn, "ask_rephrase")
                return True
        elif offer and offer.startswith(ARTICLE_OFFER):  # "is this about <topic>?" (knowledge_answers.py)
            if it.has(Affirm) and not it.has(*NEW_REQUESTS):
                return self.answer_offered_article(turn, offer.removeprefix(ARTICLE_OFFER))
            if it.has(Deny) and not it.has(*NEW_REQUESTS):
                turn.events.append(KnowledgeGap(state.offered_question, 0.0))
                state.offered_question = ""
                self._say(turn, "ask_rephrase")
                return True
        elif offer == HOLDER_CALLBACK_OFFER:  # a third party refused on the account (guards.py)
            if self._answer_holder_callback(turn, it):
                return True
        elif offer and offer.startswith(SAME_ISSUE_OFFER):  # "is today's call about the same thing?"
            if self._answer_same_issue(turn, it, offer):
                return True
        elif offer == TEAM_CALLBACK_OFFER:  # nobody answered the question we asked the team (teamwork.py)
            if self._answer_team_callback_offer(turn, it):
                return True
        elif offer == PLACE_OFFER:  # "which town are you in?" for a scoped incident (incident_notices.py)
            return self._answer_place(turn, it)
        elif offer == "anything_else":
            if ends or (it.has(Deny) and not it.has(*NEW_REQUESTS)):
                self._close(turn)
                return True
            if it.has(Affirm) and not it.has(*NEW_REQUESTS):
                self._say(turn, "what_else")
                return True
        return False

    # --- mood and memory --------------------------------------------------------------------

    def _track_mood(self, turn: Turn, it: Interpretation) -> None:
        state = turn.state
        frustration = it.frustration
        status = it.first(ProblemStatus)
        closing = it.has(NothingElse, Affirm, Deny) or any(
            isinstance(c, ChitChat) and c.kind in (ChitChatKind.BYE, ChitChatKind.THANKS) for c in it.commands)
        asking = any(isinstance(c, AskKnowledge) and c.question for c in it.commands)
        # a plain request ("I want to change my plan") or an answer to the question asked ("we're moving to
        # Three Forks", "the 23rd doesn't work for me"): the tone model alone misread these as upset
        plain = it.has(StartProcedure, SetSlot, RuleOut)
        if (closing or asking or plain or len(it.text.split()) <= 4) and set(it.frustration_cues) <= {"tone"}:
            # "No, that's all. Goodbye.", "changed my mind" or a plain question is not upset: the tone
            # model alone doesn't earn an apology there
            frustration = min(frustration, self.policy.frustrated - 0.05)
        if status is not None and not status.solved and set(it.frustration_cues) <= {"complaint", "negative", "tone"}:
            # "ok tried that, still nothing" answers a troubleshooting question: a fact, not anger
            frustration = min(frustration, self.policy.frustrated - 0.05)
        state.sentiment = frustration
        state.max_frustration = max(state.max_frustration, frustration)
        if frustration < self.policy.frustrated:
            state.upset_turns = 0
            return
        state.upset_turns += 1
        if state.apologised and state.upset_turns >= self.policy.upset_turns_to_escalate and not state.escalated:
            self._escalate(turn, "customer still upset after an apology", self.pack.business.escalation.manager_tier)
            return
        if not state.apologised:
            state.apologised = True
            # name the thing that is wrong in the customer's terms ("your Burr Grinder"), not our procedure
            problem = state.known.get("product", "")
            self._say(turn, "acknowledge_frustration", problem=problem)

    def _remember(self, state: ConversationState, it: Interpretation) -> None:
        identify = it.first(Identify)
        # An answer to the identity question, or a detail given as proof of identity, is not a slot value: "last
        # four 0109" is not a speed of 109 Mbps and "born 14 March 1979" is not the day of the visit.
        proofs = set(identify.details.values()) if identify is not None else set()
        identity_only = state.verification.in_progress
        for entity in it.entities:
            if entity.type == "card_number" or entity.value in proofs:
                continue
            if identity_only and entity.type not in IDENTITY_TYPES and entity.type not in self.pack.business.id_formats:
                continue
            state.known[entity.type] = entity.value
            state.known_turn[entity.type] = state.turn
        if identify is not None:
            pin = identify.details.get("pin")
            for key, value in identify.details.items():
                # A PIN is kept sealed in the verification only, never with the state; a bare "0000" is also read
                # as a last-4, which would keep the same PIN in clear.
                if pin is not None and value == pin:
                    continue
                state.known[key] = value
                state.known_turn[key] = state.turn
        describes_problem = it.has(StartProcedure, AskHuman, AskKnowledge) and len(it.text.split()) >= 4
        if describes_problem and not state.problem:
            state.problem = it.text[:300]
        record = it.first(AskRecord)
        if record is not None and not state.verified:
            state.pending_record_question = record.question[:500]


def _asks_more(it: Interpretation) -> bool:
    """The message asks for something besides any "nothing else" in it: a request, or a question for the articles
    ("nothing else, just where is my order?"). Such a message is not a goodbye; on the phone, a misheard "change my
    address" that the act model also read as "nothing else" hung up on the caller, and every later question went
    to a closed line. A statement the articles merely match ("that's everything I wanted to ask about my order")
    still closes."""
    return it.has(StartProcedure, AskRecord, AskHuman, CancelProcedure) or any(
        isinstance(c, AskKnowledge) and c.question for c in it.commands)


def _summary(commands: tuple[Command, ...]) -> str | None:
    """A short label of what was understood, kept on the stored message (e.g. "start_procedure:cancel_order")."""
    if not commands:
        return None
    first = commands[0]
    name = type(first).__name__
    label = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    if isinstance(first, StartProcedure):
        return f"{label}:{first.procedure_id}"
    return label
