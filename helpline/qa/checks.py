"""Deterministic checks of one finished contact against the rubric. Every finding names its criterion, says
pass / fail / not applicable, cites the transcript line (message seq) it rests on and, for the guide's red flags,
names the flag. No model is involved: the same contact always gets the same findings."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from helpline.analytics.kpis import STILL_BROKEN
from helpline.qa.contact import ContactRecord, Line
from helpline.qa.rubric import Criterion, Flag, Rubric


class Result:
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class PackFacts:
    """What the checks need to know about the business: its name (a greeting may identify it) and which
    operations return or change a customer's account data."""

    business_name: str
    account_operations: frozenset[str]
    # The business's answering target (service_level.answer_seconds): a customer handed to a person who waited
    # longer than this for nobody, with no callback booked, was left waiting.
    answer_seconds: float = 20.0


@dataclass(frozen=True)
class Finding:
    criterion: str
    result: str
    note: str
    seq: int | None = None
    flag: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


OPERATION_PREFIX = "operation:"
VERIFIED_PREFIX = "verification:"
ASK_HUMAN = "ask_human"
QUESTION_INTENTS = ("ask_knowledge", "ask_record")
AFFIRM = "affirm"
CHANGE_ACTIONS = ("create", "update", "delete")
HANDOFF_WORDS = ("colleague", "hand you", "pass you", "manager", "transfer", "team", "call you", "specialist")
SOURCE_WORDS = ("article", "our records", "your order", "your account", "order bb", "according to")
MONEY = r"\$?\s?(\d+(?:,\d{3})*(?:\.\d{1,2})?)"
AMOUNT = re.compile(r"\b(item|items|subtotal|total|discount|shipping)\b[^$\d\n]{0,20}" + MONEY, re.IGNORECASE)
CENT = 0.01
RESOLVED = "resolved"
# The engine's offer of "anything else?" left unanswered means the customer was done; any other open offer, a
# procedure still running, or a request for a way to reach them means the customer left mid-request.
DONE_OFFERS = (None, "", "anything_else")


def _has(text: str, words: Iterable[str]) -> bool:
    lowered = text.lower().replace("’", "'")
    return any(word in lowered for word in words)


def _words(text: str, words: Iterable[str]) -> bool:
    """Whole-word match (``hi`` must not match ``this``)."""
    lowered = text.lower().replace("’", "'")
    return any(re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", lowered) for word in words)


def greeting(contact: ContactRecord, rubric: Rubric, pack: PackFacts) -> list[Finding]:
    first = next((line for line in contact.lines if line.spoken_by_agent), None)
    if first is None:
        return [Finding(Criterion.GREETING, Result.FAIL, "the agent never spoke")]
    greeted = _words(first.text, rubric.greeting_words)
    named = _has(first.text, rubric.identification_words) or (
        bool(pack.business_name) and pack.business_name.lower() in first.text.lower())
    if greeted and named:
        return [Finding(Criterion.GREETING, Result.PASS, "greeted and said who is answering", first.seq)]
    missing = " and ".join(part for part, ok in (("a greeting", greeted), ("who is answering", named)) if not ok)
    return [Finding(Criterion.GREETING, Result.FAIL, f"the first line lacks {missing}", first.seq)]


def verification(contact: ContactRecord, rubric: Rubric, pack: PackFacts) -> list[Finding]:
    verified_at: int | None = None
    for index, fact in enumerate(contact.audit):
        if fact.entity.startswith(VERIFIED_PREFIX) and verified_at is None:
            verified_at = index
        operation = fact.entity.removeprefix(OPERATION_PREFIX)
        if fact.entity.startswith(OPERATION_PREFIX) and operation in pack.account_operations:
            if verified_at is None:
                return [Finding(Criterion.VERIFICATION, Result.FAIL, f"account data ({operation}) used before the "
                                "customer was verified", fact.turn_seq or None, Flag.DATA_BEFORE_VERIFICATION)]
            return [Finding(Criterion.VERIFICATION, Result.PASS, "verified before any account data was used",
                            contact.audit[verified_at].turn_seq or None)]
    return [Finding(Criterion.VERIFICATION, Result.NOT_APPLICABLE, "no account data was used")]


def grounded_answer(contact: ContactRecord, rubric: Rubric, pack: PackFacts) -> list[Finding]:
    findings: list[Finding] = []
    lines = contact.lines
    for index, line in enumerate(lines):
        if line.role != "customer" or line.intent not in QUESTION_INTENTS:
            continue
        reply = []
        for later in lines[index + 1:]:
            if later.role == "customer":
                break
            if later.spoken_by_agent:
                reply.append(later.text)
        text = " ".join(reply)
        if not text:
            findings.append(Finding(Criterion.GROUNDED_ANSWER, Result.FAIL, "the question got no answer", line.seq))
        elif _has(text, SOURCE_WORDS) or _has(text, rubric.not_knowing_phrases) or text.rstrip().endswith("?"):
            findings.append(Finding(Criterion.GROUNDED_ANSWER, Result.PASS, "answered from a source, asked back, or "
                                    "said it did not know", line.seq))
        else:
            findings.append(Finding(Criterion.GROUNDED_ANSWER, Result.FAIL, "an answer with no source named",
                                    line.seq))
    return findings or [Finding(Criterion.GROUNDED_ANSWER, Result.NOT_APPLICABLE, "no question asked")]


def steps_in_order(contact: ContactRecord, rubric: Rubric, pack: PackFacts) -> list[Finding]:
    intents = {line.seq: line.intent for line in contact.lines}
    findings: list[Finding] = []
    for fact in contact.audit:
        if not (fact.entity.startswith(OPERATION_PREFIX) and fact.action in CHANGE_ACTIONS):
            continue
        operation = fact.entity.removeprefix(OPERATION_PREFIX)
        if intents.get(fact.turn_seq) == AFFIRM:
            findings.append(Finding(Criterion.STEPS_IN_ORDER, Result.PASS, f"{operation} ran right after the "
                                    "customer's yes", fact.turn_seq or None))
        else:
            findings.append(Finding(Criterion.STEPS_IN_ORDER, Result.FAIL, f"{operation} changed data without a yes "
                                    "in that turn", fact.turn_seq or None))
    return findings or [Finding(Criterion.STEPS_IN_ORDER, Result.NOT_APPLICABLE, "nothing was changed")]


def empathy(contact: ContactRecord, rubric: Rubric, pack: PackFacts) -> list[Finding]:
    findings: list[Finding] = []
    for line in contact.customer_lines:
        if line.frustration < rubric.upset_frustration:
            continue
        window = contact.agent_lines_after(line.seq)[:rubric.acknowledge_within]
        # Handing the upset customer to a person acts on the anger, which the guide counts as hearing it.
        heard = next((reply for reply in window
                      if _has(reply.text, rubric.acknowledgement_words) or _has(reply.text, HANDOFF_WORDS)), None)
        if heard is not None:
            findings.append(Finding(Criterion.EMPATHY, Result.PASS, "the upset customer was acknowledged", heard.seq))
        else:
            findings.append(Finding(Criterion.EMPATHY, Result.FAIL, f"an upset line (frustration "
                                    f"{line.frustration:.2f}) got no acknowledgement within "
                                    f"{rubric.acknowledge_within} agent lines", line.seq, Flag.ANGER_NOT_ACKNOWLEDGED))
    for line in contact.lines:
        if line.spoken_by_agent and _has(line.text, rubric.blaming_phrases):
            findings.append(Finding(Criterion.EMPATHY, Result.FAIL, "the agent blamed the customer", line.seq,
                                    Flag.BLAMING_CUSTOMER))
    return findings or [Finding(Criterion.EMPATHY, Result.NOT_APPLICABLE, "the customer was not upset")]


def escalation(contact: ContactRecord, rubric: Rubric, pack: PackFacts) -> list[Finding]:
    asked = next((line for line in contact.customer_lines if line.intent == ASK_HUMAN), None)
    handed = contact.handoffs > 0 or contact.callbacks_with_means > 0
    if asked is None and not handed:
        return [Finding(Criterion.ESCALATION, Result.NOT_APPLICABLE, "no person was asked for or needed")]
    if not handed:
        return [Finding(Criterion.ESCALATION, Result.FAIL, "a person was asked for and no hand-off or callback "
                        "was made", asked.seq if asked else None)]
    after = asked.seq if asked else 0
    told = next((line for line in contact.agent_lines_after(after) if _has(line.text, HANDOFF_WORDS)), None)
    if told is None:
        return [Finding(Criterion.ESCALATION, Result.FAIL, "handed over without telling the customer",
                        asked.seq if asked else None)]
    if _left_waiting(contact, pack):
        return [Finding(Criterion.ESCALATION, Result.FAIL, f"handed to a person nobody took; the customer waited "
                        f"{contact.waited_for_nobody:.0f} s (target {pack.answer_seconds:.0f} s) and no callback was "
                        "offered or booked", told.seq, Flag.LEFT_WAITING)]
    return [Finding(Criterion.ESCALATION, Result.PASS, "handed over and told the customer", told.seq)]


def _left_waiting(contact: ContactRecord, pack: PackFacts) -> bool:
    """Every hand-off went untaken past the answering target and no callback can reach the customer, though the
    agent never asked for a way to (asking, and the customer leaving, is judged as a missing next step instead)."""
    return (contact.handoffs > 0 and contact.handoffs_waiting == contact.handoffs
            and contact.waited_for_nobody > pack.answer_seconds
            and not contact.callbacks_with_means and not contact.state.get("awaiting_contact"))


def _left_mid_request(contact: ContactRecord) -> bool:
    """The engine's state at the end says the customer's last request was still open: a procedure still running,
    an offer unanswered, or a way to reach them asked for and not given."""
    state = contact.state
    return bool(state.get("active")) or bool(state.get("awaiting_contact")) or \
        state.get("pending_offer") not in DONE_OFFERS


def _person_answered(contact: ContactRecord, line: Line) -> bool:
    return any(later.role == "human" and later.spoken_by_agent for later in contact.agent_lines_after(line.seq))


def _still_not_solved(contact: ContactRecord) -> Line | None:
    """The customer's last line, when the contact ends with it unsolved: their words say it still doesn't work
    (the dashboard's first-contact-resolution rule) or the engine was still mid-request; None otherwise, or when a
    person answered it."""
    last = contact.last_customer_line
    if last is None or _person_answered(contact, last):
        return None
    if STILL_BROKEN.search(last.text) or _left_mid_request(contact):
        return last
    return None


def _known_contact(contact: ContactRecord) -> bool:
    customer = contact.state.get("customer") or {}
    known = contact.state.get("known") or {}
    values = [*(customer.get(k) for k in ("phone", "email")), *(known.get(k) for k in ("phone", "email"))]
    return contact.callbacks_with_means > 0 or any(values)


def next_step(contact: ContactRecord, rubric: Rubric, pack: PackFacts) -> list[Finding]:
    findings: list[Finding] = []
    if not _known_contact(contact):
        for line in contact.lines:
            if line.spoken_by_agent and _has(line.text, rubric.promise_phrases):
                findings.append(Finding(Criterion.NEXT_STEP, Result.FAIL, "promised to get back with no number or "
                                        "email to do it with", line.seq, Flag.PROMISE_WITHOUT_MEANS))
    ticket = contact.ticket
    last = contact.lines[-1].seq if contact.lines else None
    unsolved = _still_not_solved(contact)
    followed_up = contact.callbacks_with_means > 0 or contact.handoffs > contact.handoffs_waiting
    # A promise with no means to keep it already says the customer was left with nothing: not said twice.
    if unsolved is not None and not followed_up and not findings:
        note = ("closed as resolved, but the customer's last line says it is not, and no next step was given"
                if ticket.status == RESOLVED else
                "the customer's request was still open when the contact ended, and no callback or follow-up was "
                "booked")
        findings.append(Finding(Criterion.NEXT_STEP, Result.FAIL, note, unsolved.seq, Flag.MISSING_OUTCOME))
    elif _left_waiting(contact, pack):
        findings.append(Finding(Criterion.NEXT_STEP, Result.FAIL, "the next step on record is a person who never "
                                "took the contact, and no callback can reach the customer", last,
                                Flag.MISSING_OUTCOME))
    elif ticket.resolution.strip() or ticket.next_step.strip() or contact.callbacks_with_means:
        findings.append(Finding(Criterion.NEXT_STEP, Result.PASS, "the outcome or next step is recorded", last))
    else:
        findings.append(Finding(Criterion.NEXT_STEP, Result.FAIL, "neither an outcome nor a next step", last,
                                Flag.MISSING_OUTCOME))
    return findings


def amounts_add_up(text: str) -> bool | None:
    """None when the text states no total with parts; else whether items - discount + shipping = total."""
    parts: dict[str, list[float]] = {}
    for label, number in AMOUNT.findall(text):
        key = label.lower().rstrip("s") if label.lower() == "items" else label.lower()
        parts.setdefault(key, []).append(float(number.replace(",", "")))
    if "total" not in parts or not (parts.get("item") or parts.get("subtotal")):
        return None
    base = sum(parts.get("item", [])) or sum(parts.get("subtotal", []))
    expected = base - sum(parts.get("discount", [])) + sum(parts.get("shipping", []))
    return abs(expected - parts["total"][-1]) < CENT


def ticket(contact: ContactRecord, rubric: Rubric, pack: PackFacts) -> list[Finding]:
    facts = contact.ticket
    findings: list[Finding] = []
    text = "\n".join([facts.summary, facts.resolution, facts.next_step, facts.notes, *facts.steps_taken])
    if amounts_add_up(text) is False:
        findings.append(Finding(Criterion.TICKET, Result.FAIL, "the amounts on the ticket don't add up", None,
                                Flag.AMOUNTS_DONT_ADD_UP))
    ended_early = (facts.closed_at is not None and facts.closed_at < facts.created_at) or (
        contact.ended_at is not None and contact.started_at is not None and contact.ended_at < contact.started_at)
    if ended_early:
        findings.append(Finding(Criterion.TICKET, Result.FAIL, "ended before it started", None,
                                Flag.ENDED_BEFORE_STARTED))
    for flag in facts.flags:
        if flag.startswith(Flag.NAME_MISMATCH):
            findings.append(Finding(Criterion.TICKET, Result.FAIL, flag, None, Flag.NAME_MISMATCH))
    if not facts.summary.strip():
        findings.append(Finding(Criterion.TICKET, Result.FAIL, "the ticket has no summary"))
    unsolved = _still_not_solved(contact)
    if facts.status == RESOLVED and unsolved is not None:
        findings.append(Finding(Criterion.TICKET, Result.FAIL, "marked resolved, but the transcript ends with the "
                                "customer's problem open", unsolved.seq, Flag.RESOLVED_NOT_SOLVED))
    if facts.status == "open" and not facts.next_step.strip():
        findings.append(Finding(Criterion.TICKET, Result.FAIL, "left open with no next step", None,
                                Flag.MISSING_OUTCOME))
    return findings or [Finding(Criterion.TICKET, Result.PASS, "summary, outcome, times, amounts and name agree")]


Check = Callable[[ContactRecord, Rubric, PackFacts], list[Finding]]
CHECKS: dict[str, Check] = {
    Criterion.GREETING: greeting, Criterion.VERIFICATION: verification, Criterion.GROUNDED_ANSWER: grounded_answer,
    Criterion.STEPS_IN_ORDER: steps_in_order, Criterion.EMPATHY: empathy, Criterion.ESCALATION: escalation,
    Criterion.NEXT_STEP: next_step, Criterion.TICKET: ticket,
}


def check_contact(contact: ContactRecord, rubric: Rubric, pack: PackFacts) -> list[Finding]:
    """Every finding for the criteria the rubric judges, in the rubric's order."""
    return [finding for criterion in Criterion.ALL if rubric.judges(criterion)
            for finding in CHECKS[criterion](contact, rubric, pack)]


