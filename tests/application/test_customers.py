"""A customer's records for the staff: their own only, the latest few, and a system that can't be reached said so."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpline.application.customers import customer_records
from helpline.conversation.ports import OperationResult
from helpline.pack.records import RecordsDeclaration

DECLARATION = RecordsDeclaration.model_validate({
    "orders": {"label": "order", "list": "list_orders", "customer_arg": "customer_id", "id_field": "id",
               "id_arg": "order_id", "owner_field": "customer_id", "listed": "newest_first",
               "fields": {"status": {"path": "status"}, "total": {"path": "total"}},
               "amount_fields": ["total"], "summary": ["status", "total"]},
    "bills": {"label": "bill", "list": "list_bills", "customer_arg": "customer_id", "id_field": "id",
              "id_arg": "bill_id", "owner_field": "customer_id", "fields": {"amount": {"path": "amount"}}},
})


class Gateway:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def call(self, name: str, args: Mapping[str, Any]) -> OperationResult:
        self.calls.append(name)
        if name == "list_bills":
            return OperationResult(ok=False, error="ConnectError", retryable=True)
        rows = [{"id": f"W{n}", "customer_id": "C-1", "status": "delivered", "total": 10.0 * n} for n in range(9)]
        rows.insert(1, {"id": "X1", "customer_id": "C-2", "status": "pending", "total": 5.0})  # a wrong join
        return OperationResult(ok=True, data=rows)


def test_latest_own_records_and_an_unreachable_system() -> None:
    found = customer_records(DECLARATION, Gateway(), "C-1", shown=3)
    assert [r.id for r in found.records] == ["W0", "W1"]  # 3 rows read, the other customer's dropped
    assert all(r.kind == "order" for r in found.records) and "delivered" in found.records[0].summary
    assert found.unavailable == ["bill"]


def test_nothing_declared_or_no_customer_reads_nothing() -> None:
    gateway = Gateway()
    assert customer_records(None, gateway, "C-1").records == []
    assert customer_records(DECLARATION, gateway, "").records == [] and gateway.calls == []
