"""The console says the engine's internals in plain words: every event type, every step the engine writes, every
status; policy checks as the rule broken; times in the business's zone."""

from __future__ import annotations

import ast
import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import helpline.conversation
from helpline.console.live import LiveRow, trouble_of
from helpline.console.policy_words import rule_words
from helpline.console.web import local_time, time_ago
from helpline.console.wording import EVENT_WORDING, STATUSES, ConsoleWording, event, flag, operation_failure, status
from helpline.conversation import events
from helpline.conversation.policy import EnginePolicy
from helpline.pack.loader import load_pack
from helpline.store.validation import (
    CALLBACK_STATUSES,
    CONVERSATION_STATUSES,
    OUTBOUND_STATUSES,
    TEAM_QUESTION_STATUSES,
    TICKET_STATUSES,
)
from tests.conftest import DEMO

CHICAGO = ZoneInfo("America/Chicago")
CONVERSATION = Path(helpline.conversation.__file__).parent


def test_every_event_type_has_wording() -> None:
    kinds = {c for _, c in inspect.getmembers(events, inspect.isclass)
             if c.__module__ == events.__name__ and c is not events.TurnResult}
    assert kinds and kinds <= set(EVENT_WORDING), sorted(k.__name__ for k in kinds - set(EVENT_WORDING))


def test_events_read_as_sentences() -> None:
    failed = event(events.OperationCalled("service_status", {"postcode": "05301"}, False, False, None,
                                          "ConnectError: [Errno 111] (UnsupportedProtocol)"))
    assert failed.text == "Couldn't reach the service-status system"
    assert "UnsupportedProtocol" in failed.detail  # kept for admins
    gap = event(events.KnowledgeGap("do you ship to Canada?", 0.21))
    assert gap.text == "No article answered: “do you ship to Canada?”"
    ended = event(events.ProcedureFinished("return_item", "handed_over", ""))
    assert "passed to another request" in ended.text


def _engine_steps() -> list[str]:
    """Every step text the engine writes with a literal or f-string, its placeholders filled in."""
    def sample(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(str(part.value) if isinstance(part, ast.Constant) else placeholder(part)
                           for part in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = sample(node.left), sample(node.right)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.IfExp):
            return sample(node.body)
        return None

    def placeholder(part: ast.expr) -> str:
        # {'for' if honoured else 'by'} is one of its words; anything else a value
        if isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.IfExp):
            return sample(part.value) or "7"
        return "7"

    found = []
    for path in sorted(CONVERSATION.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            target = node.func
            if target.attr == "append" and isinstance(target.value, ast.Attribute) \
                    and target.value.attr == "steps_taken" and node.args:
                text = sample(node.args[0])
            elif target.attr == "_stop_verifying" and len(node.args) == 3:
                text = sample(node.args[2])
            else:
                continue
            if text is not None:
                found.append(text)
    return found


def test_every_step_the_engine_writes_has_plain_wording() -> None:
    steps = _engine_steps()
    assert len(steps) >= 30  # the scan found the engine's steps (today 40-odd)
    words = ConsoleWording({})
    unworded = [s for s in steps if not words.step(s).detail]
    assert not unworded, unworded


def test_a_failed_policy_check_says_the_rule_and_the_policy() -> None:
    pack = load_pack(DEMO)
    words = ConsoleWording(pack.procedures)
    steps = words.steps(["Started 'Return an item'", "Verified identity by email",
                         "Policy check failed: (order.delivered_at | days_since) <= 30"])
    assert steps[2].text == ("Refused: the order was delivered more than 30 days ago "
                             "(policy of “Return an item”: the order was delivered within the last 30 days)")
    assert steps[2].detail == "Policy check failed: (order.delivered_at | days_since) <= 30"
    assert steps[1].text == "Identity checked (email)"
    # the same check in the exchange is named after the exchange
    exchange = words.steps(["Started 'Exchange an item for another colour or size'",
                            "Policy check failed: (order.delivered_at | days_since) <= 30"])
    assert "Exchange an item" in exchange[1].text


@pytest.mark.parametrize(("expression", "broken"), [
    ("order.status in ['pending', 'processing']", "the order's status is not “pending” or “processing”"),
    ("slots.beans_opened not in ['yes', true]", "the answer to “beans opened” is “yes”"),
    ("choices | length > 0", "there were no choices"),
    ("slots.day > now.strftime('%Y-%m-%d')", "the answer to “day” is today or earlier"),
    ("item", "no item was found"),
    ("not (slots.day | date).startswith('Sunday')", "a condition of this request was not met"),
])
def test_policy_expressions_in_words(expression: str, broken: str) -> None:
    assert rule_words(expression).broken == broken


def test_system_failures_are_said_without_the_exception() -> None:
    assert operation_failure("get_order", "HTTP 404 Not Found") == "The order system found nothing matching"
    assert operation_failure("create_return", "ValueError: bad sku").startswith("The create-return system reported")
    words = ConsoleWording({})
    plain = words.step("service_status failed: ConnectError (UnsupportedProtocol)")
    assert plain.text == "Couldn't reach the service-status system"


def test_every_status_has_a_label_and_flags_read_as_sentences() -> None:
    for value in (*TICKET_STATUSES, *CALLBACK_STATUSES, *CONVERSATION_STATUSES, *OUTBOUND_STATUSES,
                  *TEAM_QUESTION_STATUSES):
        assert value in STATUSES and "_" not in status(value)
    assert status("awaiting_callback") == "Waiting for a callback"
    assert flag("name_mismatch: said 'Sam Rogers', record 'Samuel Rogers'") == (
        "Name differs from the record: the customer said “Sam Rogers”, the record says “Samuel Rogers”")


def test_times_in_the_business_zone() -> None:
    now = datetime(2026, 11, 30, 20, 5, tzinfo=UTC)
    assert local_time(now, CHICAGO, now) == "Mon 30 Nov, 14:05"  # CST, UTC-6
    assert local_time(datetime(2026, 7, 1, 20, 5), CHICAGO, now) == "Wed 1 Jul, 15:05"  # naive is UTC; CDT
    assert local_time(datetime(2025, 7, 1, 20, 5, tzinfo=UTC), CHICAGO, now) == "Tue 1 Jul 2025, 15:05"
    assert time_ago(now - timedelta(minutes=3, seconds=10), now) == "3 min ago"
    assert time_ago(now - timedelta(hours=2, minutes=5), now) == "2 h 5 min ago"
    assert time_ago(now + timedelta(minutes=30), now) == "in 30 min"


def _row(**kw: object) -> LiveRow:
    start = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    fields: dict[str, object] = dict(id="x", channel="chat", started_at=start, last_activity_at=start, sentiment=0.1,
                                     procedure="", escalated=False, handled_by=None, ticket_number=None,
                                     last_customer_text="", last_customer_at=start)
    fields.update(kw)
    return LiveRow(**fields)  # type: ignore[arg-type]


def test_trouble_flags_in_words() -> None:
    now = datetime(2026, 11, 30, 20, 12, tzinfo=UTC)
    policy = EnginePolicy()
    waiting = trouble_of(_row(escalated=True, waiting_since=now - timedelta(minutes=7), sentiment=0.8), now, policy)
    assert [t.text for t in waiting] == ["Waiting for a person for 7 min", "Angry"]
    assert [t.kind for t in trouble_of(_row(), now, policy)] == ["silent"]  # 12 min without a word on a chat
    assert trouble_of(_row(channel="email"), now, policy) == []  # email answers are slow by nature
    calm = trouble_of(_row(last_customer_at=now - timedelta(minutes=1)), now, policy)
    assert calm == []


def test_a_hand_offs_issue_in_words() -> None:
    from helpline.console.wording import issue

    assert issue("customer said: my mug leaks; Return an item (handed_over)") == (
        "customer said: my mug leaks; Return an item (passed to another request)")
    assert issue("system error during 'Check for an outage': ConnectError (UnsupportedProtocol)") == (
        "a system problem stopped “Check for an outage”")
