"""Telling customers about declared incidents, and what procedures do while one applies to them.

An incident is told once per conversation, to a customer inside its scope (their verified record, or the
town or postcode they named), on a topic it affects. A caller outside the scope is never told. When a
scoped incident could explain what an unverified caller reports, the agent asks once where they are.
Outages are told as a problem now; planned maintenance as planned, with its window. While an incident
in effect applies, a procedure's `during_incident` says why and skips steps, jumps, ends or hands off.
"""

from __future__ import annotations

from typing import Any

from helpline.conversation.base import EngineBase
from helpline.conversation.commands import (
    AskHuman,
    AskKnowledge,
    AskRecord,
    CancelProcedure,
    Interpretation,
    StartProcedure,
)
from helpline.conversation.incidents import Incident, IncidentKind, caller_from, in_effect_for, places_named
from helpline.conversation.state import ProcedureRun
from helpline.conversation.turn import Turn
from helpline.pack.models import Procedure, Step

PLACE_OFFER = "place"  # pending_offer while waiting for the town or postcode
MAX_PLACE_CHARS = 80
# a message this long or longer in the pack's own language means the customer switched back to it
SWITCH_BACK_WORDS = 4


def procedure_tags(proc: Procedure) -> tuple[str, ...]:
    """What an incident's `affected` list is matched against for a procedure."""
    return (proc.id, proc.category, *proc.ticket.tags)


class IncidentNotices(EngineBase):
    # --- what the conversation knows about the caller ----------------------------------------------

    def _note_caller(self, turn: Turn, it: Interpretation) -> None:
        """Each message: places in it that incidents name ("no internet in Millbrook"), and the language."""
        state = turn.state
        for place in places_named(it.text, turn.context.incidents):
            if place not in state.places:
                state.places.append(place)
        default = self.pack.business.languages[0] if self.pack.business.languages else "en"
        if it.language != default and it.language in self.pack.business.languages:
            state.language = it.language  # understanding stays on the default unless clearly sure
        elif it.language == default and len(it.text.split()) >= SWITCH_BACK_WORDS:
            state.language = ""

    def _customer_language(self, turn: Turn) -> str:
        languages = self.pack.business.languages
        return turn.state.language or (languages[0] if languages else "en")

    # --- telling ------------------------------------------------------------------------------------

    def _tell_incidents(self, turn: Turn, tags: tuple[str, ...], may_ask: bool = False) -> bool:
        """Tell the untold incidents on these topics that apply to the caller; True when instead the caller
        was asked where they are (the turn waits for the answer)."""
        state = turn.state
        caller = caller_from(state)
        ask = False
        for incident in turn.context.incidents:
            if incident.id in state.incidents_told or (incident.affected and not incident.affects(tags)):
                continue
            applies = incident.applies_to(caller)
            if applies is None and may_ask and incident.affected and incident.needs_place and not state.place_asked:
                ask = True  # a problem this scoped incident could explain, from someone we cannot place yet
            if applies is True:
                self._tell(turn, incident)
        if ask:
            state.place_asked = True
            state.pending_offer = PLACE_OFFER
            self._say_in(turn, "ask_place_for_incident", self._customer_language(turn))
        return ask

    def _tell(self, turn: Turn, incident: Incident) -> None:
        state = turn.state
        language = self._customer_language(turn)
        facts = incident.facts(language, self.pack.business.timezone, turn.context.now)
        key = "maintenance_notice" if incident.kind is IncidentKind.PLANNED_MAINTENANCE else "incident_notice"
        state.incidents_told.append(incident.id)
        state.steps_taken.append(f"Told about incident '{incident.title}'")
        if language != self.wording.language and not self.wording.has(key, language) \
                and incident.has_message_in(language):
            # no wording of ours in their language, but the business's own message is: say just that
            key = "{{ incident.message }}"
        self._say_in(turn, key, language, incident=facts)

    def _say_in(self, turn: Turn, key: str, language: str, **facts: Any) -> None:
        names = self._names(turn, turn.state.active)
        names.update(facts)
        line = self.wording.render_avoiding(key, names, avoid={turn.state.last_reply, *turn.replies},
                                            seed=turn.state.turn, language=language)
        if line and line not in turn.replies:
            turn.replies.append(line)
            turn.state.last_reply = line

    def _answer_place(self, turn: Turn, it: Interpretation) -> bool:
        """The answer to "which town are you in?": noted, matching incidents told, the request goes on. False
        when the message is something else (a new request): it is handled as such, and not asked again."""
        state = turn.state
        named = places_named(it.text, turn.context.incidents)
        postcode = state.known.get("postcode") if state.known_turn.get("postcode") == state.turn else None
        if not named and not postcode and (it.has(StartProcedure, AskHuman, AskRecord, CancelProcedure) or any(
                isinstance(c, AskKnowledge) and c.question for c in it.commands)):
            return False
        said = named or ([postcode] if postcode else []) or ([it.text.strip()[:MAX_PLACE_CHARS]] if it.text.strip()
                                                                 else [])
        state.places.extend(p for p in said if p not in state.places)
        run = state.active
        if run is None:
            self._tell_incidents(turn, tags=())
            return True
        self._run(turn)
        return True

    # --- procedures during an incident ----------------------------------------------------------------

    def _incident_for(self, turn: Turn, proc: Procedure) -> Incident | None:
        """The incident in effect that applies to the caller and affects this procedure, of a kind its
        `during_incident` reacts to."""
        during = proc.during_incident
        if during is None:
            return None
        found = in_effect_for(turn.context.incidents, caller_from(turn.state), turn.context.now,
                              procedure_tags(proc))
        return next((i for i in found if i.kind.value in during.kinds), None)

    def _incidents_before_steps(self, turn: Turn, run: ProcedureRun) -> bool:
        """Before a procedure's steps run: tell (or ask where the caller is), then apply `during_incident`.
        True when the turn stops here (a question asked, the procedure ended or handed off)."""
        proc = self.procedures[run.procedure_id]
        if self._tell_incidents(turn, procedure_tags(proc), may_ask=not turn.state.verified):
            return True
        incident = self._incident_for(turn, proc)
        if incident is None or run.incident_handled == incident.id:
            return False
        during = proc.during_incident
        assert during is not None
        run.incident_handled = incident.id
        turn.state.steps_taken.append(f"'{proc.title}' changed during incident '{incident.title}'")
        names = self._names(turn, run)
        if during.say:
            self._say(turn, during.say, **names)
        if during.escalate is not None:
            self._finish_procedure(turn, run, "escalated", during.escalate)
            self._escalate(turn, during.escalate, during.tier)
            return True
        if during.end is not None:
            self._finish_procedure(turn, run, during.end, during.resolution or f"Incident: {incident.title}")
            self._after_procedure(turn)
            return True
        if during.goto is not None:
            run.pc = proc.index_of(during.goto)
        return False

    def _skipped_for_incident(self, turn: Turn, proc: Procedure, step: Step) -> bool:
        """A step `during_incident.skip_steps` leaves out while an incident applies."""
        during = proc.during_incident
        if during is None or step.label is None or step.label not in during.skip_steps:
            return False
        return self._incident_for(turn, proc) is not None

    # the engine's parts defined further down the chain
    def _escalate(self, turn: Turn, reason: str, tier_name: str | None = None) -> None:
        raise NotImplementedError

    def _after_procedure(self, turn: Turn) -> None:
        raise NotImplementedError

    def _run(self, turn: Turn) -> None:
        raise NotImplementedError
