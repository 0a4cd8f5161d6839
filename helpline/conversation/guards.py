"""The guards no understanding can get past: identity verification before customer data, and only
the verified customer's own records. (The explicit yes before a change is enforced where operations
are called, in steps.py.)"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from helpline.conversation.attempts import record_key
from helpline.conversation.commands import CancelProcedure, Deny, Identify, Interpretation
from helpline.conversation.escalation import Escalation
from helpline.conversation.events import CustomerVerified
from helpline.conversation.ports import IDENTITY_TYPES, Understanding
from helpline.conversation.turn import Turn
from helpline.conversation.verification import name_mismatch
from helpline.pack.expressions import mask
from helpline.pack.models import OperationSpec, Procedure, Step

# "the code is 123 456", "123-456": a run of digits, spaces or dashes allowed between them
CODE_IN_TEXT = re.compile(r"(?<![\d\w])\d(?:[ \-]?\d){3,11}(?![\d\w])")
CODE_HASH_ROUNDS = 60_000  # a stolen state must not give the code back by trying all 10^6 cheaply


def code_digest(code: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", code.encode(), bytes.fromhex(salt), CODE_HASH_ROUNDS).hex()


def codes_in(text: str, digits: int) -> list[str]:
    found = (re.sub(r"\D", "", m.group(0)) for m in CODE_IN_TEXT.finditer(text))
    return [c for c in found if len(c) == digits]


def hide_codes(text: str) -> str:
    """The customer's message as stored: a code typed back is replaced, even a wrong one."""
    return CODE_IN_TEXT.sub(lambda m: "[code]" if 6 <= len(re.sub(r"\D", "", m.group(0))) <= 10 else m.group(0),
                            text)


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
        throttle = turn.context.throttle
        permit = throttle.check(record_key(method.fields, v.collected, self._secret_fields), state.clients) \
            if throttle is not None else None
        if permit is not None and not permit.allowed:
            self._verification_paused(turn)
            return False
        lookup = self.identity.look_up(method, v.collected)
        turn.events.extend(lookup.calls)
        if throttle is not None and permit is not None:
            if lookup.customer is not None:
                throttle.record_success(permit)
            elif not lookup.result.ok and lookup.result.retryable:
                throttle.release(permit)  # the records could not be reached: not the caller's failure
            else:
                throttle.record_failure(permit, method.fields)
        if lookup.customer is not None:
            state.customer = lookup.customer
            state.assurance = max(state.assurance, method.level)
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
            self._stop_verifying(turn, "verify_locked", "Identity verification failed")
            return False
        self._say(turn, "verify_failed")
        return False

    @property
    def _secret_fields(self) -> list[str]:
        return self.pack.business.verification.attempt_limits.secret_fields

    def _verification_paused(self, turn: Turn) -> None:
        """Too many failed attempts on these details or from this client, across conversations: no lookup,
        and one reply for both, so it tells nothing about whether the record exists."""
        state = turn.state
        state.verification.collected.clear()
        for field_name in IDENTITY_TYPES:
            state.known.pop(field_name, None)
        self._stop_verifying(turn, "verify_paused", "Identity verification paused: too many failed attempts")

    def _stop_verifying(self, turn: Turn, reply: str, step: str) -> None:
        """No more attempts: the request ends unresolved and a person is offered."""
        state = turn.state
        state.verification.in_progress = False
        self._say(turn, reply)
        state.steps_taken.append(step)
        if state.active:
            self._finish_procedure(turn, state.active, "unresolved", "identity not verified")
        state.pending_offer = "human"
        self._say(turn, "offer_human")

    def _misunderstood_verification(self, turn: Turn) -> None:
        turn.state.misunderstandings += 1
        if turn.state.misunderstandings >= self.policy.misunderstandings_to_escalate:
            self._escalate(turn, "could not verify identity (repeated misunderstanding)")
            return
        self._say(turn, "verify_intro")

    # --- assurance levels and step-up by one-time code ----------------------------------------------

    @staticmethod
    def _assurance_needed(proc: Procedure, step: Step | None = None, spec: OperationSpec | None = None) -> int:
        """The identity assurance a step needs: 0 none, 1 identified, 2 strong (the highest that applies)."""
        levels = [proc.requires_assurance or (1 if proc.requires_verification else 0)]
        if step is not None:
            levels.append(step.requires_assurance or (1 if step.requires_verification else 0))
        if spec is not None:
            levels.append(spec.requires_assurance or (1 if spec.owner_field else 0))
        return max(levels)

    def _ensure_assurance(self, turn: Turn, needed: int) -> bool:
        """True when the customer has proved enough for `needed`; otherwise start what gets them there."""
        state = turn.state
        if needed <= 0:
            return True
        if not state.verified and not self._begin_verification(turn):
            return False
        if state.assurance >= needed:
            return True
        return self._begin_step_up(turn, needed)

    def _begin_step_up(self, turn: Turn, needed: int) -> bool:
        """Send a one-time code to a contact on file and wait for it; never a silent downgrade."""
        state = turn.state
        v = state.verification
        otp = self.pack.business.verification.one_time_code
        if v.code_pending:
            self._say(turn, "step_up_enter_code", sent_to=v.code_sent_to, allow_repeat=True)
            return False
        if v.code_locked or otp is None or otp.level < needed or self.codes is None or not self._send_code(turn):
            self._step_up_unavailable(turn, "locked" if v.code_locked else "unavailable")
            return False
        self._say(turn, "step_up_code_sent", sent_to=v.code_sent_to)
        return False

    def _send_code(self, turn: Turn) -> bool:
        state = turn.state
        v = state.verification
        otp = self.pack.business.verification.one_time_code
        customer = state.customer or {}
        if otp is None or self.codes is None:
            return False
        code = f"{secrets.randbelow(10 ** otp.digits):0{otp.digits}d}"
        for kind in otp.send_to:
            contact = str(customer.get(kind) or "").strip()
            if contact and self.codes.send(contact, code):
                v.code_salt = secrets.token_hex(16)
                v.code_hash = code_digest(code, v.code_salt)
                v.code_expires_at = (turn.context.now + timedelta(minutes=otp.expires_minutes)).isoformat()
                v.code_pending = True
                v.code_sent_to = mask(contact, kind)
                state.steps_taken.append(f"Security code sent to {v.code_sent_to}")
                return True
        return False

    def _clear_code(self, turn: Turn) -> None:
        v = turn.state.verification
        v.code_pending = False
        v.code_hash = v.code_salt = v.code_expires_at = ""

    def _step_up_unavailable(self, turn: Turn, why: str) -> None:
        state = turn.state
        self._say(turn, "step_up_locked" if why == "locked" else "step_up_unavailable")
        state.steps_taken.append("Change not made in chat: stronger identity check " + (
            "failed" if why == "locked" else "not available"))
        if state.active:
            self._finish_procedure(turn, state.active, "unresolved", "")
        state.pending_offer = "human"
        self._say(turn, "offer_human")

    def _continue_step_up(self, turn: Turn, it: Interpretation) -> bool:
        """The customer's answer while a code is awaited; True when the code was right."""
        state = turn.state
        v = state.verification
        otp = self.pack.business.verification.one_time_code
        assert otp is not None
        typed = codes_in(it.text, otp.digits)
        if not typed:
            if it.has(Deny, CancelProcedure):
                self._clear_code(turn)
                state.steps_taken.append("Customer did not complete the security code check")
                if state.active:
                    self._finish_procedure(turn, state.active, "unresolved", "")
                self._say(turn, "anything_else")
                state.pending_offer = "anything_else"
                return False
            state.misunderstandings += 1
            if state.misunderstandings >= self.policy.misunderstandings_to_escalate:
                self._clear_code(turn)
                self._escalate(turn, "could not complete the security code check")
                return False
            self._say(turn, "step_up_enter_code", sent_to=v.code_sent_to, allow_repeat=True)
            return False
        expired = turn.context.now >= datetime.fromisoformat(v.code_expires_at)
        right = not expired and any(hmac.compare_digest(code_digest(c, v.code_salt), v.code_hash) for c in typed)
        if right:
            self._clear_code(turn)
            v.code_attempts = 0
            state.misunderstandings = 0
            state.assurance = otp.level
            state.steps_taken.append(f"Identity confirmed by one-time code (assurance {otp.level})")
            self._say(turn, "step_up_verified")
            return True
        v.code_attempts += 1
        if v.code_attempts >= otp.max_attempts:
            self._clear_code(turn)
            v.code_locked = True
            self._step_up_unavailable(turn, "locked")
            return False
        if expired:
            self._clear_code(turn)
            if not self._send_code(turn):
                self._step_up_unavailable(turn, "unavailable")
                return False
            self._say(turn, "step_up_expired", sent_to=v.code_sent_to)
            return False
        self._say(turn, "step_up_wrong_code", left=otp.max_attempts - v.code_attempts, sent_to=v.code_sent_to)
        return False

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
