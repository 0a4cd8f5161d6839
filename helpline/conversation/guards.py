"""The guards no understanding can get past: identity verification before customer data, and only
the verified customer's own records. (The explicit yes before a change is enforced where operations
are called, in steps.py.)"""

from __future__ import annotations

from typing import Any

from helpline.conversation.commands import CancelProcedure, Deny, Identify, Interpretation
from helpline.conversation.escalation import Escalation
from helpline.conversation.events import CustomerVerified
from helpline.conversation.ports import Understanding
from helpline.conversation.turn import Turn
from helpline.conversation.verification import name_mismatch

IDENTITY_TYPES = ("email", "phone", "person_name", "postcode")


class Guards(Escalation):
    def _begin_verification(self, turn: Turn) -> bool:
        """Start (or finish at once, from details already given) identity verification."""
        state = turn.state
        state.verification.in_progress = True
        if self._try_verify(turn):
            return True
        if not state.verified and state.verification.in_progress:
            self._say(turn, "verify_intro")
        return False

    def _continue_verification(self, turn: Turn, it: Interpretation) -> bool:
        """True when verification completed and the procedure can go on."""
        collected = turn.state.verification.collected
        identify = it.first(Identify)
        for key, value in (identify.details.items() if identify else ()):
            if key in self.identity.fields:
                collected[key] = value
        self.identity.gather(collected, Understanding(text=it.text, intents=(), entities=it.entities))
        if not collected:
            if it.has(Deny, CancelProcedure):
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

    def _try_verify(self, turn: Turn, asked: bool = False) -> bool:
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

    def _misunderstood_verification(self, turn: Turn) -> None:
        turn.state.misunderstandings += 1
        if turn.state.misunderstandings >= self.policy.misunderstandings_to_escalate:
            self._escalate(turn, "could not verify identity (repeated misunderstanding)")
            return
        self._say(turn, "verify_intro")

    @staticmethod
    def _only_own(data: Any, owner_field: str, customer_id: str) -> tuple[Any, bool]:
        """Keep only the verified customer's records; True when what came back is someone else's."""
        if isinstance(data, dict):
            owner = data.get(owner_field)
            return data, owner is not None and str(owner) != customer_id
        if isinstance(data, list):
            own = [r for r in data if not isinstance(r, dict) or str(r.get(owner_field)) == customer_id]
            return own, bool(data) and not own  # nothing of it is theirs: it's someone else's
        return data, False
