"""What every part of the command processor shares: the ports, the pack, the policy and how to speak.

The processor is split by duty (steps.py runs procedures, guards.py holds verification and
ownership, escalation.py hand-offs and callbacks, engine.py applies commands); each part is a class
over this base, and `Engine` combines them. Nothing here decides what the agent may do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from helpline.conversation.choices import choice_labels
from helpline.conversation.commands import CommandGenerator
from helpline.conversation.events import ConversationEnded, ProcedureFinished
from helpline.conversation.incidents import caller_from, in_effect_for
from helpline.conversation.policy import EnginePolicy
from helpline.conversation.ports import CodeSender, KnowledgeHit, KnowledgeSearch, OperationGateway, SlotReader
from helpline.conversation.state import ConversationState, ProcedureRun
from helpline.conversation.turn import Turn
from helpline.conversation.verification import IdentityCheck
from helpline.conversation.wording import TemplateWording
from helpline.pack.loader import BusinessPack


class EngineBase:
    def __init__(
        self,
        pack: BusinessPack,
        interpreter: CommandGenerator,
        slot_reader: SlotReader,
        knowledge: KnowledgeSearch,
        operations: OperationGateway,
        wording: TemplateWording | None = None,
        kb_answer: Callable[[str, list[KnowledgeHit]], Any] | None = None,  # (question, hits)
        policy: EnginePolicy | None = None,
        codes: CodeSender | None = None,
    ):
        self.pack = pack
        self.interpreter = interpreter
        self.slot_reader = slot_reader
        self.knowledge = knowledge
        self.operations = operations
        self.wording = wording or TemplateWording(pack.replies, by_language=pack.replies_by_language)
        self.kb_answer = kb_answer
        self.policy = policy or EnginePolicy()
        self.codes = codes  # one-time codes for step-up verification; None: level 2 only by a strong method
        self.procedures = pack.procedures
        self.identity = IdentityCheck(pack.business.verification, operations, slot_reader)

    # --- speaking ------------------------------------------------------------------------------

    def _names(self, turn: Turn, run: ProcedureRun | None) -> dict[str, Any]:
        names: dict[str, Any] = {
            "business": {"name": self.pack.business.name},
            "persona": self.pack.business.persona.model_dump(),
            "customer": turn.state.customer or {},
            "now": turn.context.now,
            "ticket_number": turn.context.ticket_number,
            # the incident in effect that applies to this customer (and the running procedure), or None
            "incident": self._incident_facts(turn, run),
        }
        if run is not None:
            names.update(run.results)
            names["slots"] = dict(run.slots)
            proc = self.procedures.get(run.procedure_id)
            names["labels"] = choice_labels(proc.slots if proc is not None else {}, run.slots)
        return names

    def _line(self, turn: Turn, key: str, **facts: Any) -> str:
        names = self._names(turn, turn.state.active)
        names.update(facts)
        avoid = {turn.state.last_reply, *turn.replies}
        return self.wording.render_avoiding(key, names, avoid=avoid, seed=turn.state.turn)

    def _say(self, turn: Turn, key: str, allow_repeat: bool = False, **facts: Any) -> None:
        if not key:
            return
        names = self._names(turn, turn.state.active)
        names.update(facts)
        avoid: set[str] = set() if allow_repeat else {turn.state.last_reply, *turn.replies}
        line = self.wording.render_avoiding(key, names, avoid=avoid, seed=turn.state.turn, language=turn.language)
        if line and (allow_repeat or line not in turn.replies):
            turn.replies.append(line)
            turn.state.last_reply = line

    def _local_time(self, moment: datetime) -> str:
        local = moment.astimezone(ZoneInfo(self.pack.business.timezone))
        return f"{local:%A} at {local:%H:%M}"

    # --- shared bookkeeping ----------------------------------------------------------------------

    def _finish_procedure(self, turn: Turn, run: ProcedureRun, outcome: str, resolution: str) -> None:
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

    def _finish_conversation(self, turn: Turn, reason: str) -> None:
        turn.state.ended = True
        turn.events.append(ConversationEnded(reason))

    def _incident_facts(self, turn: Turn, run: ProcedureRun | None) -> dict[str, Any] | None:
        proc = self.procedures.get(run.procedure_id) if run is not None else None
        tags = (proc.id, proc.category, *proc.ticket.tags) if proc is not None else None
        found = in_effect_for(turn.context.incidents, caller_from(turn.state), turn.context.now, tags)
        if not found:
            return None
        languages = self.pack.business.languages
        language = turn.state.language or (languages[0] if languages else "en")
        return found[0].facts(language, self.pack.business.timezone, turn.context.now)

    @staticmethod
    def _contact(state: ConversationState) -> tuple[str | None, str | None]:
        customer = state.customer or {}
        return (state.known.get("phone") or customer.get("phone"),
                state.known.get("email") or customer.get("email"))
