"""Compare the store's final state with the ground truth's, and name the cause by operation."""

from __future__ import annotations

from typing import Any


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> set[tuple[str, str]]:
    """(table, key) of every user/order/product record that differs."""
    keys: set[tuple[str, str]] = set()
    for table in ("users", "orders", "products"):
        a, b = before.get(table, {}), after.get(table, {})
        for key in set(a) | set(b):
            if a.get(key) != b.get(key):
                keys.add((table, key))
    return keys


def failure_causes(task: dict[str, Any], initial: dict[str, Any], expected: dict[str, Any],
                   actual: dict[str, Any]) -> list[str]:
    """Causes like 'cancel_pending_order: missing', 'exchange_delivered_order_items: wrong'."""
    causes: list[str] = []
    wrong_records = changed_keys(expected, actual)
    if not wrong_records:
        return causes
    explained: set[tuple[str, str]] = set()
    for action in task["actions"]:
        kwargs = action["kwargs"]
        touched: set[tuple[str, str]] = set()
        if "order_id" in kwargs:
            touched.add(("orders", str(kwargs["order_id"])))
        if "user_id" in kwargs:
            touched.add(("users", str(kwargs["user_id"])))
        bad = touched & wrong_records
        if not bad:
            continue
        explained |= bad
        untouched = all(initial.get(t, {}).get(k) == actual.get(t, {}).get(k) for t, k in bad)
        causes.append(f"{action['name']}: {'missing' if untouched else 'wrong'}")
    # a user's record also changes with an order's payment (gift card balances): count it with its order
    for table, key in sorted(wrong_records - explained):
        if table == "users" and any(c.endswith("wrong") or c.endswith("missing") for c in causes):
            continue
        causes.append(f"unexpected change: {table} {key}")
    return causes
