"""Hand-offs, callbacks and the recap: what happens when a person takes over, and what is promised.

A hand-off never dead-ends the conversation: after it the agent still answers, collects a number or
email before promising a call, tells the customer what happens next and when, and adds anything new
to the hand-off card (the `HandoffNote` event).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from helpline.conversation.callback_times import RequestedTime, callback_at, read_requested_time
from helpline.conversation.commands import ChitChat, ChitChatKind, Identify, Interpretation, NothingElse, Repeat
from helpline.conversation.events import CallbackRequested, Escalated, HandoffNote
from helpline.conversation.hours import Schedule, team_schedule, team_sla
from helpline.conversation.incident_notices import IncidentNotices
from helpline.conversation.state import ProcedureRun
from helpline.conversation.turn import Turn
from helpline.pack.models import parse_duration

TEMPORAL_SLOT_TYPES = ("datetime", "time", "date")


class Escalation(IncidentNotices):
    def _escalate(self, turn: Turn, reason: str, tier_name: str | None = None) -> None:
        state = turn.state
        if state.escalated:
            return
        business = self.pack.business
        tier = business.escalation.tier(tier_name)
        now = turn.context.now
        summary = self._handoff_summary(turn, reason)
        open_now = self._team_hours(turn, tier.name).is_open(now)  # the team's own hours on this channel
        if state.active is not None:
            self._finish_procedure(turn, state.active, "escalated", "")
        for run in state.suspended:
            self._finish_procedure(turn, run, "escalated", "")
        state.suspended.clear()
        state.escalated = True
        state.escalated_tier = tier.name
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
        self._promise_callback_after_hours(turn, f"Escalation: {reason}", phone, email, read_time=False)

    def _promise_callback_after_hours(self, turn: Turn, reason: str, phone: str | None, email: str | None,
                                      read_time: bool = True) -> None:
        """Out of the team's hours: a callback when it opens, or at the time the customer asked for in the
        message that gave their number (`read_time`; not in the message that asked for a person, where a date
        is about the problem)."""
        now = turn.context.now
        hours = self._team_hours(turn, turn.state.escalated_tier)
        requested = self._requested_time(turn, None) if read_time else None
        if requested is not None:
            due, honoured = callback_at(hours, now, requested)
        else:
            due = max(hours.next_opening(now), now) + timedelta(minutes=self.policy.callback_grace_minutes)
            honoured = False
        turn.events.append(CallbackRequested(reason, due, phone, email))
        when = hours.describe(due, now)
        turn.state.steps_taken.append(f"Callback promised {'for' if honoured else 'by'} {when} ({phone or email})")
        self._say(turn, "out_of_hours_callback_at" if honoured else "out_of_hours_escalation", due=when,
                  phone=phone, email=email)

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
                       reply: str = "callback_booked", tier_name: str | None = None) -> None:
        """Book a callback from the team that will make it: at the time the customer asked for when that team
        is open then, else within the SLA counted in the team's open hours (never "by Tuesday at 03:38")."""
        state = turn.state
        now = turn.context.now
        hours = self._team_hours(turn, tier_name)
        requested = self._requested_time(turn, run)
        if requested is not None:
            due, honoured = callback_at(hours, now, requested)
        else:
            honoured = False
            due = hours.due(now, parse_duration(within or team_sla(self.pack.business, tier_name)))
        known_phone, email = self._contact(state)
        phone = (run.slots.get("phone") if run else None) or known_phone
        turn.events.append(CallbackRequested(reason, due, phone, email))
        when = hours.describe(due, now)
        state.steps_taken.append(f"Callback booked {'for' if honoured else 'by'} {when}: {reason}")
        for record in reversed(state.requests):
            if record.outcome == "open":
                record.outcome = "callback"
                break
        if requested is not None and reply == "callback_booked":
            reply = "callback_at_requested_time" if honoured else "callback_team_closed_then"
        self._say(turn, reply, phone=phone, due=when, asked=requested.phrase if requested is not None else "")

    def _team_hours(self, turn: Turn, tier_name: str | None) -> Schedule:
        """The hours of the team (default: the default tier) on this conversation's channel."""
        return team_schedule(self.pack.business, tier_name, turn.context.channel)

    def _requested_time(self, turn: Turn, run: ProcedureRun | None) -> RequestedTime | None:
        """A time the customer asked to be called at: in this message, else in a date or time slot of the
        request ("any time tomorrow morning", "after 3pm")."""
        zone = self._team_hours(turn, None).zone
        said = [turn.interpretation.text] if turn.interpretation is not None else []
        if run is not None:
            proc = self.procedures.get(run.procedure_id)
            for name, spec in (proc.slots.items() if proc is not None else ()):
                if spec.type in TEMPORAL_SLOT_TYPES and run.slots.get(name):
                    said.append(str(run.slots[name]))
        for text in said:
            requested = read_requested_time(text, turn.context.now, zone)
            if requested is not None:
                return requested
        return None

    def _recap(self, turn: Turn) -> None:
        state = turn.state
        done = [r for r in state.requests if r.procedure_id != "knowledge" and r.outcome != "withdrawn"]
        if not done:
            return
        parts = [r.resolution or f"{r.title.lower()} ({r.outcome})" for r in done]
        self._say(turn, "recap", summary="; ".join(parts), ticket_number=turn.context.ticket_number)
