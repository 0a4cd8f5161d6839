from datetime import UTC, datetime

import pytest

from helpline.pack.expressions import ExpressionError, evaluate, render, render_value, spell


def test_expression_reads_names_and_filters() -> None:
    names = {"order": {"status": "pending", "total": 12.5}, "now": datetime(2026, 11, 20, tzinfo=UTC)}
    assert evaluate("order.status == 'pending'", names) is True
    assert render("Total {{ order.total | money }}", names) == "Total $12.50"


def test_days_since_uses_the_conversation_clock() -> None:
    names = {"order": {"delivered_at": "2026-11-01T10:00:00"}, "now": datetime(2026, 11, 21, 10, tzinfo=UTC)}
    assert evaluate("(order.delivered_at | days_since) <= 30", names) is True
    names["now"] = datetime(2027, 1, 21, tzinfo=UTC)
    assert evaluate("(order.delivered_at | days_since) <= 30", names) is False


def test_missing_name_is_none_not_a_crash() -> None:
    assert evaluate("order.status", {}) is None


def test_sandbox_refuses_python_internals() -> None:
    with pytest.raises(ExpressionError):
        render("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})


def test_render_value_keeps_types_of_single_expressions() -> None:
    value = render_value({"id": "{{ order.id }}", "n": "{{ 2 + 3 }}", "s": "order {{ order.id }}"},
                         {"order": {"id": 7}})
    assert value == {"id": 7, "n": 5, "s": "order 7"}


def test_spell_reads_ids_character_by_character() -> None:
    assert spell("BB-10001") == "B B dash 1 0 0 0 1"


def test_data_fields_win_over_dict_methods() -> None:
    order = {"items": [{"id": 1}], "values": 3}
    assert evaluate("order.items | length", {"order": order}) == 1
    assert evaluate("order.values", {"order": order}) == 3
    assert render("{{ o.values() | join(',') }}", {"o": {"a": "x"}}) == "x"


def test_an_expression_result_becomes_json_data_for_the_state_events_and_audit() -> None:
    """`{{ now }}` passed to an operation keeps its type for the operation, and is stored as ISO text (a datetime
    in an operation's arguments crashed the turn when the audit log and the state were written)."""
    import json
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from helpline.pack.expressions import json_data, render_value

    now = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    args = render_value({"when": "{{ now }}", "items": ["{{ total }}"], "day": "{{ day }}"},
                        {"now": now, "total": Decimal("12.50"), "day": date(2026, 12, 1)})
    assert args["when"] == now  # the operation gets the datetime
    stored = json_data(args)
    assert stored == {"when": "2026-11-30T09:15:00+00:00", "items": [12.5], "day": "2026-12-01"}
    assert json.loads(json.dumps(stored)) == stored
