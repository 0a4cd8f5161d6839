"""Hand-offs, callbacks and the recap: what happens when a person takes over, and what is promised.

A hand-off never dead-ends the conversation: after it the agent still answers, collects a number or
email before promising a call, tells the customer what happens next and when, and adds anything new
to the hand-off card (the `HandoffNote` event).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from helpline.conversation.base import EngineBase
from helpline.conversation.commands import ChitChat, ChitChatKind, Identify, Interpretation, NothingElse, Repeat
from helpline.conversation.events import CallbackRequested, Escalated, HandoffNote
from helpline.conversation.hours import is_open, next_opening
from helpline.conversation.state import ProcedureRun
from helpline.conversation.turn import Turn
from helpline.pack.models import parse_duration


class Escalation(EngineBase):
    def _escalate(self, turn: Turn, reason: str, tier_name: str | None = None) -> None:
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
            return
        phone, email = self._contact(state)
        if phone is None and email is None:
            # Never promise a call we cannot make: ask how to reach them first.
            state.awaiting_contact = f"Escalation: {reason}"
            self._say(turn, "ask_contact_for_callback")
            return
        self._promise_callback_after_hours(turn, f"Escalation: {reason}", phone, email)

    def _promise_callback_after_hours(self, turn: Turn, reason: str, phone: str | None, email: str | None) -> None:
        now = turn.context.now
        due = max(next_opening(self.pack.business, now), now) + timedelta(minutes=self.policy.callback_grace_minutes)
        turn.events.append(CallbackRequested(reason, due, phone, email))
        turn.state.steps_taken.append(f"Callback promised by {self._local_time(due)} ({phone or email})")
        self._say(turn, "out_of_hours_escalation", due=self._local_time(due), phone=phone, email=email)

    def _serve_after_handoff(self, turn: Turn, it: Interpretation) -> None:
        """The customer writes on after a hand-off: answer, take contact details, note the problem."""
        state = turn.state
        identify = it.first(Identify)
        if identify is not None:
            for key, value in identify.details.items():
                state.known[key] = value
        phone, email = self._contact(state)
        if state.awaiting_contact and (phone or email):
            reason = state.awaiting_contact
            state.awaiting_contact = None
            self._promise_callback_after_hours(turn, reason, phone, email)
            return
        chit = it.first(ChitChat)
        if it.has(NothingElse) or (chit is not None and chit.kind in (ChitChatKind.BYE, ChitChatKind.THANKS)):
            self._say(turn, "handoff_goodbye")
            return
        if it.has(Repeat):
            self._say(turn, state.last_reply or "handoff_waiting", allow_repeat=True)
            return
        if identify is None and len(it.text.split()) >= 3:
            turn.events.append(HandoffNote(it.text[:500]))
            self._say(turn, "handoff_noted")
        elif identify is not None:
            turn.events.append(HandoffNote("Contact details: " + ", ".join(f"{k} {v}" for k, v in
                                                                           identify.details.items())))
            self._say(turn, "handoff_noted")
        if state.awaiting_contact:
            self._say(turn, "ask_contact_for_callback")
        elif not turn.replies:
            self._say(turn, "handoff_waiting")

    def _handoff_summary(self, turn: Turn, reason: str) -> dict[str, Any]:
        state = turn.state
        customer = state.customer or {}
        who = (f"{customer.get('name', '')} ({customer.get('id')}), verified" if state.customer
               else "unverified customer")
        wants = state.requests[-1].title if state.requests else "to speak to a person"
        frustration = max(state.max_frustration, state.sentiment)
        mood = ("angry" if frustration >= self.policy.angry
                else "frustrated" if frustration >= self.policy.frustrated or state.apologised else "calm")
        priorities = [r.priority for r in state.requests] or ["normal"]
        urgency = "high" if mood == "angry" or "urgent" in priorities or "high" in priorities else "normal"
        handled = "; ".join(f"{r.title} ({r.outcome})" for r in state.requests)
        problem = state.problem
        issue = "; ".join(p for p in (problem and f"customer said: {problem}", handled) if p) or reason
        return {"who": who, "issue": issue, "reason": reason, "steps_tried": list(state.steps_taken),
                "customer_wants": wants, "mood": mood, "urgency": urgency, "problem": problem}

    def _book_callback(self, turn: Turn, reason: str, within: str | None, run: ProcedureRun | None,
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

    def _recap(self, turn: Turn) -> None:
        state = turn.state
        done = [r for r in state.requests if r.procedure_id != "knowledge" and r.outcome != "withdrawn"]
        if not done:
            return
        parts = [r.resolution or f"{r.title.lower()} ({r.outcome})" for r in done]
        self._say(turn, "recap", summary="; ".join(parts), ticket_number=turn.context.ticket_number)
