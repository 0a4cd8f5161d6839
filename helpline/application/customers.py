"""A customer's records (orders, bills, visits: whatever the pack's records.yaml declares) for the staff who serve
them, read through the same operations and ownership checks the agent uses (conversation/records.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from helpline.conversation.ports import OperationGateway
from helpline.conversation.records import describe_record, fetch_records, record_id
from helpline.pack.records import RecordsDeclaration

# Each record may cost a `get` and its `attach` calls on the business's system: a side panel shows the latest few.
RECORDS_SHOWN = 5


@dataclass(frozen=True)
class CustomerRecord:
    kind: str  # the pack's label: "order", "bill", ...
    id: str
    summary: str  # "BB-10166 (Travel Mug; 3 Nov 2026, delivered, $24.00)"


@dataclass
class CustomerRecords:
    records: list[CustomerRecord] = field(default_factory=list)
    # kinds whose system could not be read, said as such rather than shown as "no orders"
    unavailable: list[str] = field(default_factory=list)


def customer_records(declaration: RecordsDeclaration | None, operations: OperationGateway, customer_id: str,
                     shown: int = RECORDS_SHOWN) -> CustomerRecords:
    """The latest `shown` records of each declared kind for the business's customer id (their own only)."""
    found = CustomerRecords()
    if declaration is None or not customer_id:
        return found
    for kind in declaration.root.values():
        fetched = fetch_records(operations, kind.model_copy(update={"max_records": min(shown, kind.max_records)}),
                                customer_id)
        if fetched.error is not None:
            found.unavailable.append(kind.label)
            continue
        found.records += [CustomerRecord(kind.label, record_id(r, kind), describe_record(r, kind))
                          for r in fetched.records]
    return found
