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
from helpline.conversation.commands import Affirm, CancelProcedure, Deny, Identify, Interpretation
from helpline.conversation.escalation import Escalation
from helpline.conversation.events import CallbackRequested, CallerIdentified, CustomerVerified
from helpline.conversation.ports import IDENTITY_TYPES, Understanding
from helpline.conversation.state import ConversationState
from helpline.conversation.turn import Turn
from helpline.conversation.verification import (
    CALLER_NAME,
    DATE_CHOICE_SEPARATOR,
    THIRD_PARTY,
    CallerCheck,
    Served,
    display_name,
    name_mismatch,
)
from helpline.pack.expressions import mask
from helpline.pack.models import OperationSpec, Procedure, Step, VerificationMethod, parse_duration

# The offer made to a third party who was refused: a call back to the account holder (engine.py answers it).
HOLDER_CALLBACK_OFFER = "holder_callback"
# Regions that write the month first (03/04/1988 is March 4th): the default order of an ambiguous date of birth.
MONTH_FIRST = frozenset({"US", "PH", "FM", "MH", "PW", "AS", "GU", "MP", "PR", "VI", "UM"})
FACTOR_READINGS = ("account_number", "phone_last4", "card_last4", "date_of_birth", "pin")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")
# The built-in wording of typed verification (a pack overrides any of them in templates/replies.yaml).
VERIFICATION_REPLIES = {
    "verify_which_date": "Just to be sure I have your {{ detail }} right: is it {{ options[0] }} or {{ options[1] }}?",
    "verified_authorised_user": "Thanks, {{ caller }}. I can see you're authorised on this account, so I can help "
                                "with it.",
    "third_party_refused": "I'm sorry, I can only discuss an account with the account holder or someone they've "
                           "authorised on it, so I can't go into the account's details with you. I'm happy to help "
                           "with general questions about our services, or I can ask our team to call the account "
                           "holder back on the number we have on file. Would you like that call back?",
    "holder_callback_booked": "Done: we'll call the account holder back on the number we have on file by "
                              "{{ due }}. Is there anything general I can help you with?",
}


def _spoken_date(iso: str) -> str:
    """1988-04-03 -> "3 April 1988": unambiguous whatever the reader's habit."""
    return f"{int(iso[8:10])} {_MONTH_NAMES[int(iso[5:7]) - 1]} {iso[:4]}"

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
        said = len(turn.replies)
        if self._try_verify(turn):
            return True
        if not state.verified and state.verification.in_progress and len(turn.replies) == said:
            self._say(turn, "verify_intro")
        return False

    def _continue_verification(self, turn: Turn, it: Interpretation) -> bool:
        """True when verification completed and the procedure can go on."""
        state = turn.state
        collected = state.verification.collected
        identify = it.first(Identify)
        details = dict(identify.details) if identify else {}
        self.identity.gather(collected, Understanding(text=it.text, intents=(), entities=it.entities), details,
                             third_party=self._third_party(state) is not None)
        state.known.pop("pin", None)  # a PIN said bare is kept sealed in `collected` only
        if not collected:
            if it.has(Deny, CancelProcedure):
                state.verification.in_progress = False
                run = state.active
                if run:
                    self._finish_procedure(turn, run, "unresolved", "customer did not verify")
                self._say(turn, "anything_else")
                state.pending_offer = "anything_else"
                return False
            if THIRD_PARTY in details:  # "it's my mum's account": ask for the details again, now knowing
                self._say(turn, "verify_intro")
                return False
            self._misunderstood_verification(turn)
            return False
        return self._try_verify(turn, asked=True)

    @staticmethod
    def _third_party(state: ConversationState) -> str | None:
        """The caller's words when he said he is not the account holder ("her son"), this conversation."""
        return state.known.get(THIRD_PARTY)

    def _try_verify(self, turn: Turn, asked: bool = False) -> bool:
        state = turn.state
        v = state.verification
        third_party = self._third_party(state)
        for field_name in self.identity.fields:
            kind = self.identity.reads_as(field_name)
            known = state.known.get(field_name) or state.known.get(kind)
            if field_name not in v.collected and known and kind != "pin":
                v.collected[field_name] = known
        if third_party and CALLER_NAME not in v.collected and state.known.get("person_name"):
            v.collected[CALLER_NAME] = state.known["person_name"]
        business = self.pack.business
        settle = self.identity.date_to_settle(v.collected, day_first=business.phone_region.upper() not in MONTH_FIRST)
        if settle is not None:
            name, choices = settle
            v.collected[name] = DATE_CHOICE_SEPARATOR.join(choices)  # "the first" means the first said
            self._say_own(turn, "verify_which_date", options=[_spoken_date(c) for c in choices],
                          detail=self.identity.label(name))
            return False
        method = self.identity.complete_method(v.collected)
        caller_missing = self.identity.caller_missing(v.collected) if third_party else []
        if method is None or caller_missing:
            missing = (self.identity.still_missing(v.collected) if method is None else []) + caller_missing
            if missing and (asked or method is not None):
                self._say(turn, "verify_need_more", missing=self.identity.describe(missing))
            return False
        throttle = turn.context.throttle
        secret = [*self._secret_fields, *(f for f in method.fields if self.identity.is_secret(f))]
        permit = throttle.check(record_key(method.fields, v.collected, secret), state.clients) \
            if throttle is not None else None
        if permit is not None and not permit.allowed:
            self._verification_paused(turn)
            return False
        lookup = self.identity.look_up(method, v.collected)
        turn.events.extend(lookup.calls)
        caller = None
        if lookup.customer is not None and third_party:
            caller = self.identity.check_caller(lookup.customer, v.collected, third_party)
            turn.events.extend(caller.calls)
        if throttle is not None and permit is not None:
            if lookup.customer is not None and (caller is None or caller.served is Served.AUTHORISED_USER):
                throttle.record_success(permit)
            elif (not lookup.result.ok and lookup.result.retryable) or (caller is not None and caller.served is None):
                throttle.release(permit)  # the records could not be reached, or nothing was decided yet
            else:
                throttle.record_failure(permit, method.fields)
        if lookup.customer is not None and caller is not None and caller.served is not Served.AUTHORISED_USER:
            if caller.served is None:  # he gave the holder's name as his own: ask for his
                v.collected.pop(CALLER_NAME, None)
                state.known.pop("person_name", None)
                self._say(turn, "verify_need_more", missing=self.identity.describe(self.identity.caller_missing(
                    v.collected)))
                return False
            self._refuse_third_party(turn, lookup.customer, caller)
            return False
        if lookup.customer is not None:
            self._verified(turn, lookup.customer, method, caller)
            return True
        v.attempts += 1
        v.collected.clear()
        self._forget_identity(state)
        if not lookup.result.ok and lookup.result.retryable:
            self._say(turn, "operation_failed")
            self._escalate(turn, "could not reach the customer records to verify identity")
            return False
        if v.attempts >= self.pack.business.verification.max_attempts:
            self._stop_verifying(turn, "verify_locked", "Identity verification failed")
            return False
        self._say(turn, "verify_failed")
        return False

    def _verified(self, turn: Turn, customer: dict[str, Any], method: VerificationMethod,
                  caller: CallerCheck | None) -> None:
        state = turn.state
        state.customer = customer
        state.assurance = max(state.assurance, method.level)
        state.verification.in_progress = False
        state.verification.collected.clear()
        turn.events.append(CustomerVerified(dict(customer), tuple(method.fields)))
        state.steps_taken.append(f"Verified identity by {' + '.join(method.fields)}")
        customer_id = str(customer.get("id"))
        if caller is None:
            turn.events.append(CallerIdentified(customer_id, Served.HOLDER, display_name(customer)))
            flag = name_mismatch(state.known.get("person_name"), customer)
            if flag:
                state.flags.append(flag)
            self._say(turn, "verified", customer=customer)
            return
        turn.events.append(CallerIdentified(customer_id, Served.AUTHORISED_USER, caller.name, caller.relationship))
        served = f"authorised user {caller.name}" + (f" ({caller.relationship})" if caller.relationship else "")
        state.steps_taken.append(f"Caller is an {served} of the account, not its holder")
        state.flags.append(f"served_authorised_user: {caller.name}")
        self._say_own(turn, "verified_authorised_user", caller=caller.name, customer=customer)

    def _refuse_third_party(self, turn: Turn, customer: dict[str, Any], caller: CallerCheck) -> None:
        """Someone who is neither the holder nor authorised: nothing of the account is read to him (not even the
        holder's name); he is offered general help and a call back to the holder on the number on file."""
        state = turn.state
        v = state.verification
        v.in_progress = False
        turn.events.append(CallerIdentified(str(customer.get("id")), Served.REFUSED, caller.name, caller.relationship))
        state.steps_taken.append("Caller is not the account holder or an authorised user: account not discussed")
        state.flags.append("third_party_refused")
        if state.active:
            self._finish_procedure(turn, state.active, "unresolved", "caller not authorised on the account")
        self._say_own(turn, "third_party_refused")
        if customer.get("phone"):
            state.pending_offer = HOLDER_CALLBACK_OFFER  # the account's details stay in `collected` for it
        else:
            v.collected.clear()
            state.pending_offer = "anything_else"
            self._say(turn, "anything_else")

    def _answer_holder_callback(self, turn: Turn, it: Interpretation) -> bool:
        """The answer to "shall we ask the account holder to call back?"; False when it was no answer."""
        state = turn.state
        v = state.verification
        method = self.identity.complete_method(v.collected)
        accepted = it.has(Affirm) and not it.has(Deny)
        if not accepted:
            v.collected.clear()
            return False
        lookup = self.identity.look_up(method, v.collected) if method is not None else None
        v.collected.clear()
        phone = str((lookup.customer or {}).get("phone") or "") if lookup is not None else ""
        if lookup is not None:
            turn.events.extend(lookup.calls)
        if not phone:
            self._say(turn, "anything_else")
            state.pending_offer = "anything_else"
            return True
        due = turn.context.now + parse_duration(self.pack.business.callback_sla)
        reason = "Call the account holder: someone not authorised on the account called on their behalf"
        turn.events.append(CallbackRequested(reason, due, phone, None))
        state.steps_taken.append(f"Callback to the account holder booked by {self._local_time(due)}")
        self._say_own(turn, "holder_callback_booked", due=self._local_time(due))
        return True

    def _say_own(self, turn: Turn, key: str, **facts: Any) -> None:
        """A line of typed verification: the pack's wording when it has the key, else the built-in one."""
        self._say(turn, key if key in self.wording.replies else VERIFICATION_REPLIES[key], **facts)

    def _forget_identity(self, state: ConversationState) -> None:
        """After a failed check nothing said for it is reused (the caller's claim to be someone else stays)."""
        for field_name in (*IDENTITY_TYPES, *FACTOR_READINGS):
            state.known.pop(field_name, None)

    @property
    def _secret_fields(self) -> list[str]:
        return self.pack.business.verification.attempt_limits.secret_fields

    def _verification_paused(self, turn: Turn) -> None:
        """Too many failed attempts on these details or from this client, across conversations: no lookup,
        and one reply for both, so it tells nothing about whether the record exists."""
        state = turn.state
        state.verification.collected.clear()
        self._forget_identity(state)
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
