"""Answers to the question the agent asked: a slot's value, a yes or no to a confirmation, "anything
else?" after each item of a list. What is not an answer goes back to the engine as a digression."""

from __future__ import annotations

from typing import Any

from helpline.conversation.choices import choices_for, closest_option
from helpline.conversation.commands import (
    Affirm,
    AskHuman,
    AskKnowledge,
    AskRecord,
    CancelProcedure,
    ChitChat,
    Clarify,
    Deny,
    Interpretation,
    NothingElse,
    ProblemStatus,
    Repeat,
    RuleOut,
    SetSlot,
    StartProcedure,
)
from helpline.conversation.knowledge_answers import KnowledgeAnswers
from helpline.conversation.slot_values import TEMPORAL_TYPES, Fit, Temporal, fit
from helpline.conversation.state import ProcedureRun
from helpline.conversation.turn import Turn

# commands that mean the message is a new request rather than an answer
NEW_REQUESTS = (StartProcedure, AskKnowledge, AskRecord, CancelProcedure, AskHuman)


class AwaitedAnswers(KnowledgeAnswers):
    def _answer_awaited(self, turn: Turn, run: ProcedureRun, it: Interpretation) -> str:
        """'continue' (run on), 'wait' (handled; a question was asked) or 'no' (not an answer)."""
        proc = self.procedures[run.procedure_id]
        if run.awaiting == "confirm":
            correction = next((c for c in it.commands if isinstance(c, SetSlot) and c.correction
                               and c.slot in proc.slots), None)
            if correction is not None and correction.slot is not None:
                run.slots[correction.slot] = correction.value
                run.results.clear()
                run.pc = 0
                run.awaiting = None
                run.confirm_granted = False
                turn.state.steps_taken.append(f"Customer corrected {correction.slot} to {correction.value}")
                return "continue"
            if it.has(Affirm) and not it.has(Deny):
                run.awaiting = None
                run.confirm_granted = True
                turn.state.steps_taken.append("Customer confirmed")
                run.pc += 1
                return "continue"
            if it.has(Deny):
                return self._declined(turn, run)
            if it.has(*NEW_REQUESTS, ChitChat, Repeat):
                return "no"
            self._say(turn, "confirm_needed")
            return "wait"
        assert run.awaiting is not None
        kind, _, slot_name = run.awaiting.partition(":")
        slot = proc.slots[slot_name]
        if kind == "more":
            return self._answer_more(turn, run, slot_name, it)
        if slot.type in TEMPORAL_TYPES:
            temporal = self._answer_temporal(turn, run, slot_name, it)
            if temporal is not None:
                return temporal
        value = self._awaited_value(it, slot.type, slot_name)
        if slot.type == "choice" and value is None and self._ask_which(turn, run, slot_name, it):
            return "wait"
        if slot.type == "choice" and value is not None:
            match = self._match_choice(str(value), slot, self._names(turn, run))
            if match.ambiguous and not match.values:
                run.offered = [c.label for c in match.ambiguous]
                self._say(turn, "which_one", options=run.offered)
                return "wait"
            if match.values:
                return self._fill(turn, run, slot_name, match.values)
            value = None
        if slot.type == "text" and slot.options_from and value:
            # "one of these places": the table's spelling of the one named, else the words as said
            named = closest_option(str(value), choices_for(slot, self._names(turn, run)))
            if named is not None:
                value = named.value if slot.option_value else named.label
        if value is None and not slot.required and not it.has(*NEW_REQUESTS):
            value = ""  # an optional detail the customer didn't give ("any time is fine")
        if value is None:
            return "no"
        return self._fill(turn, run, slot_name, [value])

    def _ask_which(self, turn: Turn, run: ProcedureRun, slot_name: str, it: Interpretation) -> bool:
        """An answer close to several options ("the cheaper one" for two plans): ask which, naming them."""
        clarify = it.first(Clarify)
        if clarify is None:
            return False
        slot = self.procedures[run.procedure_id].slots[slot_name]
        by_value = {str(c.value): c.label for c in choices_for(slot, self._names(turn, run))}
        named = [by_value[option] for option in clarify.options if option in by_value]
        if len(named) < 2:
            return False
        run.offered = named
        self._say(turn, "which_one", options=named)
        return True

    def _answer_temporal(self, turn: Turn, run: ProcedureRun, slot_name: str, it: Interpretation) -> str | None:
        """A date, time or datetime answer: one value when one is asked, never one the customer ruled out.
        None when the message gives neither a value nor a ruled-out one (read as any other answer)."""
        slot = self.procedures[run.procedure_id].slots[slot_name]
        ruled = [v for c in it.commands if isinstance(c, RuleOut) and c.slot in (None, slot_name) for v in c.values]
        excluded = run.ruled_out.setdefault(slot_name, [])
        excluded += [v for v in dict.fromkeys(ruled) if v not in excluded]
        if ruled:
            turn.state.steps_taken.append(f"Customer ruled out {', '.join(ruled)} for {slot_name}")
        value = self._awaited_value(it, slot.type, slot_name)
        verdict = fit(slot, value, excluded) if value not in (None, "") else None
        if verdict is Fit.TAKE:
            run.windows.pop(slot_name, None)
            return self._fill(turn, run, slot_name, [str(value)])
        if verdict is Fit.NEEDS_ONE:
            window = Temporal.parse(value)
            assert window is not None
            run.windows[slot_name] = str(window)
            run.consumed_turn[slot_name] = turn.state.turn
            key = "ask_one_day" if slot.type == "date" else "ask_one_time"
            self._say(turn, key, ruled_out=excluded, window=window.facts())
            return "wait"
        if verdict is Fit.RULED_OUT or (ruled and verdict is None):
            # "thursday doesn't work": asked again, and the same message is never read for it again
            run.consumed_turn[slot_name] = turn.state.turn
            self._say(turn, "ask_other_day" if slot.type == "date" else "ask_other_time", ruled_out=excluded)
            return "wait"
        if verdict is Fit.NOT_THIS_TYPE:
            return "no"
        return None

    @staticmethod
    def _awaited_value(it: Interpretation, slot_type: str, slot_name: str) -> Any:
        if slot_type == "yes_no":
            status = it.first(ProblemStatus)
            if status is not None:
                return "yes" if status.solved else "no"
            if it.has(Deny):
                return "no"
            if it.has(Affirm):
                return "yes"
            return None
        value = next((c.value for c in it.commands if isinstance(c, SetSlot) and c.slot in (None, slot_name)), None)
        return value

    def _declined(self, turn: Turn, run: ProcedureRun) -> str:
        proc = self.procedures[run.procedure_id]
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

    def _answer_more(self, turn: Turn, run: ProcedureRun, slot_name: str, it: Interpretation) -> str:
        """After each item of a list: more items, or done."""
        slot = self.procedures[run.procedure_id].slots[slot_name]
        values: list[Any] = []
        said = next((c.value for c in it.commands if isinstance(c, SetSlot) and c.slot in (None, slot_name)), None)
        if said is not None:
            if slot.type == "choice":
                values = self._match_choice(str(said), slot, self._names(turn, run)).values
            else:
                values = [said]
        done = it.has(NothingElse) or (it.has(Deny) and not values)
        if values and not done:
            return self._fill(turn, run, slot_name, values)
        if done:
            if values:
                current = list(run.slots.get(slot_name) or [])
                run.slots[slot_name] = current + [v for v in values if v not in current]
            run.awaiting = None
            run.pc += 1
            return "continue"
        if it.has(Affirm):
            run.awaiting = f"slot:{slot_name}"
            self._say(turn, slot.prompt or f"What is the {slot_name}?", **self._names(turn, run))
            return "wait"
        return "no"

