"""Running a procedure: step by step until one needs the customer, with one handler per action.

Policies enforced here whatever the pack or the understanding say: verification before a step or
operation that needs it, only the verified customer's records, and an explicit yes right before any
operation that changes data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpline.conversation.choices import ChoiceMatch, choices_for, match_choices
from helpline.conversation.events import OperationCalled
from helpline.conversation.guards import Guards
from helpline.conversation.slot_values import TEMPORAL_TYPES, Fit, fit
from helpline.conversation.state import ProcedureRun, RequestRecord
from helpline.conversation.turn import Turn
from helpline.pack.expressions import ExpressionError, evaluate, json_data, render, render_value
from helpline.pack.models import Procedure, SlotSpec, Step


class Steps(Guards):
    def _start_procedure(self, turn: Turn, procedure_id: str, slots: Mapping[str, Any] | None = None,
                         handed_from: ProcedureRun | None = None) -> None:
        """Start a procedure with the slot values the message already gave (typed by the generator), or
        those a procedure that hands over passes (`handed_from`: the same request goes on)."""
        state = turn.state
        proc = self.procedures[procedure_id]
        given = {k: v for k, v in (slots or {}).items() if k in proc.slots and v not in (None, "")}
        if state.active is not None:
            if state.active.procedure_id == procedure_id:
                if given:
                    state.active.slots.update(given)
                    state.active.awaiting = None
                    self._run(turn)
                else:
                    self._reprompt(turn, state.active)
                return
            state.suspended.append(state.active)
        waiting = next((r for r in state.suspended if r.procedure_id == procedure_id and not r.queued), None)
        if waiting is not None:
            # asked again for something put aside: pick it up with the new details, not a second copy
            state.suspended.remove(waiting)
            waiting.slots.update(given)
            waiting.awaiting = None
            state.active = waiting
            self._run(turn)
            return
        opening = turn.interpretation.text if turn.interpretation is not None else ""
        started = state.turn
        if handed_from is not None:
            # what the customer said for the request counts as said for the procedure it was handed to
            opening, started = handed_from.opening_text, handed_from.started_turn
        state.active = ProcedureRun(procedure_id=procedure_id, started_turn=started, opening_text=opening[:2000],
                                    slots=dict(given))
        state.pending_offer = None
        state.misunderstandings = 0
        state.requests.append(RequestRecord(proc.id, proc.title, proc.category, proc.priority,
                                            tags=list(proc.ticket.tags)))
        state.steps_taken.append(f"Started '{proc.title}'")
        self._tell_incidents(turn, tags=(proc.id, proc.category, *proc.ticket.tags))
        if proc.requires_verification and not state.verified and not self._begin_verification(turn):
            return
        self._run(turn)

    def _run(self, turn: Turn) -> None:
        """Execute steps until one needs the customer's answer or the procedure ends."""
        state = turn.state
        if state.active is not None and self._incidents_before_steps(turn, state.active):
            return  # asked where the caller is, or a declared incident ended or handed off the procedure
        for _ in range(self.policy.max_steps_per_turn):
            run = state.active
            if run is None or state.ended or state.escalated:
                return
            proc = self.procedures[run.procedure_id]
            if run.pc >= len(proc.steps):
                self._say(turn, "no_procedure_steps")
                self._escalate(turn, f"'{proc.title}' ran out of steps")
                return
            step = proc.steps[run.pc]
            if self._skipped_for_incident(turn, proc, step):  # e.g. no router restart during an outage
                run.pc += 1
                continue
            needed = self._assurance_needed(proc, step)
            if needed > state.assurance and not self._ensure_assurance(turn, needed):
                return
            if not self._execute(turn, proc, run, step):
                return
        self._escalate(turn, "procedure loop detected")

    def _execute(self, turn: Turn, proc: Procedure, run: ProcedureRun, step: Step) -> bool:
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
                if not proc.slots[step.ask].ask_customer:
                    run.slots[step.ask] = ""  # only taken from what the customer already said
                    run.pc += 1
                    return True
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
                    # the value came from this turn's message or earlier: asking again waits for a new one
                    # (re-reading it looped until "procedure loop detected")
                    run.consumed_turn[slot_name] = state.turn
                run.pc += 1
                return True
            if action == "handover":
                return self._hand_over(turn, proc, run, step, names)
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
                self._book_callback(turn, render(step.callback or "", names), step.within, run, tier_name=step.tier)
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

    def _call(self, turn: Turn, proc: Procedure, run: ProcedureRun, step: Step, names: dict[str, Any]) -> bool:
        state = turn.state
        assert step.call is not None
        spec = self.pack.operations.operations[step.call]
        needed = self._assurance_needed(proc, step, spec)
        if needed > state.assurance and not self._ensure_assurance(turn, needed):
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
        turn.events.append(OperationCalled(step.call, json_data(args), result.ok and not refused_owner,
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
            state.changes_made.append({"operation": step.call, "args": json_data(args)})
        if step.save_as:
            run.results[step.save_as] = data
        run.pc += 1
        return True

    def _hand_over(self, turn: Turn, proc: Procedure, run: ProcedureRun, step: Step, names: dict[str, Any]) -> bool:
        """Finish this procedure and start another with what was learned ("moving out of the service area" →
        cancelling, with the reason given): the other never asks for a slot it was given. The ticket keeps
        both requests, this one handed over."""
        assert step.handover is not None
        target = self.procedures.get(step.handover)
        if target is None:  # the validator refuses this; a pack changed under a running engine still can't crash
            raise ExpressionError(f"hands over to unknown procedure '{step.handover}'")
        given = render_value(step.with_, names)
        passed = {k: v for k, v in given.items() if k in target.slots and v not in (None, "")}
        self._finish_procedure(turn, run, "handed_over", f"Handed over to '{target.title}'"
                               + (f" with {_describe(passed)}" if passed else ""))
        turn.state.steps_taken.append(f"'{proc.title}' handed over to '{target.title}'")
        self._start_procedure(turn, target.id, passed, handed_from=run)
        return False

    def _fill(self, turn: Turn, run: ProcedureRun, slot_name: str, values: list[Any]) -> str:
        proc = self.procedures[run.procedure_id]
        slot = proc.slots[slot_name]
        run.reasks = 0
        run.offered = []
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


    def _match_choice(self, text: str, slot: SlotSpec, names: dict[str, Any]) -> ChoiceMatch:
        choices = choices_for(slot, names)
        exact = [c.value for c in choices if isinstance(c.value, str) and c.value == text]
        if exact:  # understanding already named the option (by meaning, by "the second one")
            return ChoiceMatch(values=exact)
        return match_choices(text, choices, slot.many)


    def _slot_from_memory(self, turn: Turn, proc: Procedure, run: ProcedureRun, slot_name: str) -> list[Any]:
        """Never re-ask what was said: values from the request's opening message or identity details."""
        slot = proc.slots[slot_name]
        state = turn.state
        consumed = run.consumed_turn.get(slot_name)
        if slot.type == "choice":
            if not run.opening_text or not slot.from_first_message or consumed is not None:
                return []
            match = self._match_choice(run.opening_text, slot, self._names(turn, run))
            return match.values
        if slot.type in ("text", "yes_no"):
            return []
        said_at = state.known_turn.get(slot.type)
        if said_at is None or (consumed is not None and said_at <= consumed):
            return []
        if slot.type in TEMPORAL_TYPES:
            verdict = fit(slot, state.known.get(slot.type), run.ruled_out.get(slot_name, []))
            if verdict is Fit.NEEDS_ONE and said_at >= run.started_turn and slot_name not in run.windows:
                # "we're moving next month": asked for the day, and "the 4th" is then read in that month
                run.windows[slot_name] = str(state.known[slot.type])
            if verdict is not Fit.TAKE:
                return []
        # only what was said for this request: an earlier ZIP or phone is not the new one being asked for;
        # the thing talked about just before ("what travel mugs do you have?" -> "the small blue one, how
        # much?") carries over one turn
        carries = slot.type in ("product", *self.pack.business.id_formats)
        if said_at >= run.started_turn or (carries and said_at == run.started_turn - 1):
            value = state.known.get(slot.type)
            return [value] if value is not None else []
        return []

    def _reprompt(self, turn: Turn, run: ProcedureRun) -> None:
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


    def _misunderstood(self, turn: Turn, reprompt: ProcedureRun | None) -> None:
        state = turn.state
        upset = turn.interpretation is not None and turn.interpretation.frustration >= self.policy.frustrated
        if upset and reprompt is None and not state.escalated:
            # an upset customer with nothing we can act on: never "I didn't follow"; offer a person
            state.pending_offer = "human"
            self._say(turn, "offer_human_upset")
            return
        state.misunderstandings += 1
        if reprompt is not None:
            reprompt.reasks += 1
        if state.misunderstandings >= self.policy.misunderstandings_to_escalate:
            self._escalate(turn, "repeated misunderstanding")
            return
        if state.misunderstandings == self.policy.misunderstandings_to_offer_human and reprompt is None:
            state.pending_offer = "human"
            self._say(turn, "offer_human")
            return
        self._say(turn, "didnt_understand")
        if reprompt is not None:
            self._reprompt(turn, reprompt)

    def _after_procedure(self, turn: Turn) -> None:
        state = turn.state
        if state.ended or state.escalated:
            return
        while state.suspended and not self._still_wanted(turn, state.suspended[-1]):
            state.suspended.pop()  # finished or dropped meanwhile: never resume phantom work
        if state.suspended:
            run = state.suspended.pop()
            proc = self.procedures[run.procedure_id]
            if run.queued:
                self._say(turn, "next_request", title=proc.title)
                self._start_procedure(turn, run.procedure_id, run.slots)
                return
            state.active = run
            self._say(turn, "resume", title=proc.title)
            run.awaiting = None
            self._run(turn)
            return
        state.pending_offer = "anything_else"
        self._say(turn, "anything_else")


    @staticmethod
    def _still_wanted(turn: Turn, run: ProcedureRun) -> bool:
        if run.queued:
            return True
        return any(r.procedure_id == run.procedure_id and r.outcome == "open" for r in turn.state.requests)


def _describe(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in args.items())
