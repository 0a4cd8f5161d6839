"""The deterministic checks on contacts built by hand: each red flag and record check fires on the case the
hiring guide describes and stays quiet on the good one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from helpline.qa.checks import PackFacts, Result, amounts_add_up, check_contact
from helpline.qa.contact import AuditFact, ContactRecord, Line, TicketFacts
from helpline.qa.rubric import Criterion, Flag, Rubric, RubricError, load_rubric
from helpline.qa.score import criterion_results, score

T0 = datetime(2026, 11, 20, 16, tzinfo=UTC)
PACK = PackFacts("Brightbean Coffee Co.", frozenset({"get_order", "cancel_order"}))
GREETING = Line(1, "agent", "Hi, thanks for contacting Brightbean Coffee Co.! I'm Bea. How can I help?")


def ticket(**changes: Any) -> TicketFacts:
    fields: dict[str, Any] = dict(number=1001, status="resolved", summary="Cancel an order",
                                  resolution="Cancelled order BB-10166", next_step="", notes="", steps_taken=(),
                                  flags=(), created_at=T0, closed_at=T0 + timedelta(minutes=3))
    fields.update(changes)
    return TicketFacts(**fields)


def contact(*lines: Line, audit: tuple[AuditFact, ...] = (), state: dict[str, Any] | None = None,
            **kwargs: Any) -> ContactRecord:
    facts = kwargs.pop("ticket_facts", ticket())
    return ContactRecord((GREETING, *lines), state or {}, facts, audit, **kwargs)


def judged(record: ContactRecord, rubric: Rubric | None = None) -> dict[str, str]:
    return criterion_results([f.as_dict() for f in check_contact(record, rubric or Rubric(), PACK)])


def flags(record: ContactRecord) -> list[tuple[str | None, int | None]]:
    return [(f.flag, f.seq) for f in check_contact(record, Rubric(), PACK) if f.flag]


def test_a_good_cancellation_passes_every_applicable_criterion() -> None:
    record = contact(
        Line(2, "customer", "cancel my order", {"intent": "start_procedure:cancel_order", "frustration": 0.1}),
        Line(3, "agent", "First, a quick security check"),
        Line(4, "customer", "Samuel Rogers 78681", {"intent": "identify"}),
        Line(5, "agent", "Shall I go ahead?"),
        Line(6, "customer", "yes", {"intent": "affirm"}),
        Line(7, "agent", "All done - order BB-10166 is cancelled."),
        audit=(AuditFact("read", "operation:find_customer", {}, 4), AuditFact("read", "verification:caller", {}, 4),
               AuditFact("read", "operation:get_order", {}, 4), AuditFact("update", "operation:cancel_order", {}, 6)))
    results = judged(record)
    assert results[Criterion.VERIFICATION] == Result.PASS
    assert results[Criterion.STEPS_IN_ORDER] == Result.PASS
    assert Result.FAIL not in results.values()
    assert flags(record) == []


def test_account_data_read_before_verification_is_flagged_at_its_turn() -> None:
    record = contact(Line(2, "customer", "where is BB-10166?", {"intent": "start_procedure:order_status"}),
                     Line(3, "agent", "It was delivered yesterday."),
                     audit=(AuditFact("read", "operation:get_order", {}, 2),
                            AuditFact("read", "verification:caller", {}, 4)))
    assert judged(record)[Criterion.VERIFICATION] == Result.FAIL
    assert (Flag.DATA_BEFORE_VERIFICATION, 2) in flags(record)


def test_a_change_without_the_customers_yes_is_out_of_order() -> None:
    record = contact(Line(2, "customer", "cancel BB-10166", {"intent": "set_slot"}),
                     audit=(AuditFact("read", "verification:caller", {}, 2),
                            AuditFact("update", "operation:cancel_order", {}, 2)))
    assert judged(record)[Criterion.STEPS_IN_ORDER] == Result.FAIL


def test_anger_must_be_acknowledged_within_two_agent_lines() -> None:
    angry = Line(2, "customer", "this is ridiculous, nobody helps me", {"frustration": 0.9})
    ignored = contact(angry, Line(3, "agent", "Which order is it?"), Line(4, "agent", "It starts with BB."),
                      Line(5, "agent", "I'm sorry about all this."))
    assert judged(ignored)[Criterion.EMPATHY] == Result.FAIL
    assert flags(ignored) == [(Flag.ANGER_NOT_ACKNOWLEDGED, 2)]
    heard = contact(angry, Line(3, "agent", "Which order is it?"), Line(4, "agent", "I understand, I'm sorry."))
    assert judged(heard)[Criterion.EMPATHY] == Result.PASS
    calm = contact(Line(2, "customer", "where is my order", {"frustration": 0.3}), Line(3, "agent", "Which one?"))
    assert judged(calm)[Criterion.EMPATHY] == Result.NOT_APPLICABLE


def test_a_whisper_is_not_an_acknowledgement() -> None:
    record = contact(Line(2, "customer", "useless!!", {"frustration": 0.95}),
                     Line(3, "agent", "I'm so sorry", {"visibility": "staff"}), Line(4, "agent", "Order number?"),
                     Line(5, "agent", "It starts with BB."))
    assert judged(record)[Criterion.EMPATHY] == Result.FAIL


def test_blaming_the_customer_is_flagged() -> None:
    record = contact(Line(2, "customer", "it broke"), Line(3, "human", "Well, you should have read the manual."))
    assert (Flag.BLAMING_CUSTOMER, 3) in flags(record)
    assert judged(record)[Criterion.EMPATHY] == Result.FAIL


def test_a_callback_promised_with_no_number_or_email_is_flagged() -> None:
    promise = Line(3, "agent", "No problem, we'll call you back tomorrow.")
    record = contact(Line(2, "customer", "call me later"), promise)
    assert (Flag.PROMISE_WITHOUT_MEANS, 3) in flags(record)
    assert judged(record)[Criterion.NEXT_STEP] == Result.FAIL
    with_number = contact(Line(2, "customer", "call me later"), promise, callbacks_with_means=1)
    assert judged(with_number)[Criterion.NEXT_STEP] == Result.PASS
    known = contact(Line(2, "customer", "call me later"), promise, state={"known": {"phone": "+15125550126"}})
    assert flags(known) == []


def test_asking_for_a_person_needs_a_hand_off() -> None:
    ask = Line(2, "customer", "I want a manager", {"intent": "ask_human"})
    stranded = contact(ask, Line(3, "agent", "I can help with most things!"))
    assert judged(stranded)[Criterion.ESCALATION] == Result.FAIL
    handed = contact(ask, Line(3, "agent", "Let me hand you over to our manager."), handoffs=1)
    assert judged(handed)[Criterion.ESCALATION] == Result.PASS


def test_questions_answered_from_a_source_or_honestly_not_known() -> None:
    question = Line(2, "customer", "what is your return policy?", {"intent": "ask_knowledge"})
    sourced = contact(question, Line(3, "agent", "Our Returns article says: 30 days."))
    honest = contact(question, Line(3, "agent", "I'm sorry, I don't know - shall I ask a colleague?"))
    made_up = contact(question, Line(3, "agent", "Returns are free forever."))
    assert judged(sourced)[Criterion.GROUNDED_ANSWER] == Result.PASS
    assert judged(honest)[Criterion.GROUNDED_ANSWER] == Result.PASS
    assert judged(made_up)[Criterion.GROUNDED_ANSWER] == Result.FAIL


def test_greeting_needs_hello_and_who_is_answering() -> None:
    record = ContactRecord((Line(1, "agent", "What do you want?"),), {}, ticket())
    assert judged(record)[Criterion.GREETING] == Result.FAIL


@pytest.mark.parametrize(("text", "adds_up"), [
    ("Items $20.00 and item $30.00, discount $5.00, total $45.00", True),
    ("Items $20.00 and item $30.00, total $55.00", False),
    ("Subtotal $100, shipping $4.99, total $104.99", True),
    ("Refunded $89.00 to visa ending 4242", None),
])
def test_amounts_on_a_ticket(text: str, adds_up: bool | None) -> None:
    assert amounts_add_up(text) is adds_up


def test_record_checks_flag_the_ticket() -> None:
    wrong = ticket(resolution="item $20.00, item $30.00, total $60.00", closed_at=T0 - timedelta(minutes=1),
                   flags=("name_mismatch: said 'Jon Smith', record 'John Smith'",))
    raised = {flag for flag, _ in flags(contact(ticket_facts=wrong))}
    assert {Flag.AMOUNTS_DONT_ADD_UP, Flag.ENDED_BEFORE_STARTED, Flag.NAME_MISMATCH} <= raised
    open_no_step = ticket(status="open", resolution="", next_step="")
    raised = {flag for flag, _ in flags(contact(ticket_facts=open_no_step))}
    assert Flag.MISSING_OUTCOME in raised
    assert judged(contact(ticket_facts=open_no_step))[Criterion.TICKET] == Result.FAIL


def test_score_is_the_share_of_applicable_criteria_and_ignores_disputed_findings() -> None:
    findings: list[dict[str, Any]] = [
        {"criterion": "greeting", "result": "pass"}, {"criterion": "empathy", "result": "fail"},
        {"criterion": "empathy", "result": "pass"}, {"criterion": "escalation", "result": "not_applicable"},
        {"criterion": "ticket", "result": "fail"}]
    assert score(findings) == pytest.approx(33.3)
    findings[1]["dispute"] = {"by": "console:sup@example.com", "why": "they were joking"}
    assert score(findings) == pytest.approx(66.7)
    assert score([{"criterion": "escalation", "result": "not_applicable"}]) is None


def test_the_pack_can_edit_the_rubric(tmp_path: Path) -> None:
    assert load_rubric(tmp_path) == Rubric()
    (tmp_path / "qa.yaml").write_text("criteria: {greeting: Say hello, ticket: Ticket}\nupset_frustration: 0.5\n")
    rubric = load_rubric(tmp_path)
    results = judged(contact(Line(2, "customer", "meh", {"frustration": 0.6}), Line(3, "agent", "Order?"),
                             Line(4, "agent", "Number?")), rubric)
    assert set(results) == {Criterion.GREETING, Criterion.TICKET}
    (tmp_path / "qa.yaml").write_text("criteria: {politeness: Be polite}\n")
    with pytest.raises(RubricError, match="unknown criteria"):
        load_rubric(tmp_path)
    (tmp_path / "qa.yaml").write_text("upset_frustration: 3\n")
    with pytest.raises(RubricError, match=r"qa\.yaml"):
        load_rubric(tmp_path)


# A contact that ends badly for the customer must not score as if it ended well: the signals are the ticket's
# status, the engine's state at the end, hand-offs and callbacks, and the customer's own last words.
FIX_TRIED = (Line(2, "customer", "my grinder is jammed", {"intent": "start_procedure:grinder_jammed"}),
             Line(3, "agent", "Please empty the hopper and run it empty for ten seconds. Is it clear now?"),
             Line(4, "customer", "yes it's grinding", {"intent": "problem_status"}),
             Line(5, "agent", "Great! Is there anything else?"))


def test_resolved_against_the_customers_last_words_fails_next_step_and_ticket_citing_that_line() -> None:
    record = contact(*FIX_TRIED, Line(6, "customer", "hmm, that did not help after all, it jams on every cup",
                                      {"intent": "ask_knowledge", "frustration": 0.3}),
                     Line(7, "agent", "To recap: grinder clear. Your reference is 1001."))
    results = judged(record)
    assert results[Criterion.NEXT_STEP] == Result.FAIL and results[Criterion.TICKET] == Result.FAIL
    assert (Flag.RESOLVED_NOT_SOLVED, 6) in flags(record)


def test_resolved_with_the_customers_last_request_left_open_in_the_engine_fails_whatever_the_words() -> None:
    lines = (*FIX_TRIED, Line(6, "customer", "one more thing about the milk jug", {"intent": "ask_knowledge"}),
             Line(7, "agent", "Do you mean the frother's jug?"))
    left_open = contact(*lines, state={"pending_offer": "start:frother_help"})
    assert judged(left_open)[Criterion.TICKET] == Result.FAIL
    assert (Flag.RESOLVED_NOT_SOLVED, 6) in flags(left_open)
    # "Anything else?" left unanswered is a customer who was done, not one left mid-request.
    done = contact(*FIX_TRIED, state={"pending_offer": "anything_else"})
    assert Result.FAIL not in judged(done).values()


def test_a_contact_ended_mid_request_needs_a_callback_or_a_person() -> None:
    lines = (Line(2, "customer", "the kettle trips the fuse", {"intent": "start_procedure:kettle_power"}),
             Line(3, "agent", "Which kettle do you have?"))
    state = {"active": {"procedure_id": "kettle_power", "awaiting": "slot:model"}}
    unresolved = ticket(status="open", resolution="", next_step="Review: the request was not resolved")
    left = contact(*lines, state=state, ticket_facts=unresolved)
    assert judged(left)[Criterion.NEXT_STEP] == Result.FAIL
    assert (Flag.MISSING_OUTCOME, 2) in flags(left)
    called_back = contact(*lines, state=state, ticket_facts=unresolved, callbacks_with_means=1)
    assert judged(called_back)[Criterion.NEXT_STEP] == Result.PASS


ASKED_FOR_PERSON = (Line(2, "customer", "put me through to someone", {"intent": "ask_human"}),
                    Line(3, "agent", "I'm passing you to our team now with everything so far."))


@pytest.mark.parametrize(("kwargs", "expected"), [
    (dict(handoffs=1, handoffs_waiting=1, waited_for_nobody=300.0), Result.FAIL),  # left waiting 5 minutes
    (dict(handoffs=1, handoffs_waiting=1, waited_for_nobody=5.0), Result.PASS),  # hung up within the target
    (dict(handoffs=1, handoffs_waiting=1, waited_for_nobody=300.0, callbacks_with_means=1), Result.PASS),
    (dict(handoffs=1, handoffs_waiting=0, waited_for_nobody=0.0), Result.PASS),  # a person took it
])
def test_a_hand_off_nobody_took_with_no_callback_leaves_the_customer_waiting(kwargs: dict[str, Any],
                                                                             expected: str) -> None:
    record = contact(*ASKED_FOR_PERSON, ticket_facts=ticket(status="escalated", next_step="A person takes over"),
                     **kwargs)
    assert judged(record)[Criterion.ESCALATION] == expected
    assert judged(record)[Criterion.NEXT_STEP] == expected  # the recorded next step never happens
    assert ((Flag.LEFT_WAITING, 3) in flags(record)) == (expected == Result.FAIL)
