"""Answers about the customer's own records: resolved, read and computed only from the records.

The records copy the shapes of the two packs' operation results (values invented): the tau-retail
store's get_order_details (items with options, fulfillments with tracking ids, payment history;
no dates) and the demo's list_customer_orders rows with get_order_items attached as `items`.
The declarations are the packs' own (examples/demo/records.yaml, examples/tau-retail/records.yaml).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpline.conversation.ports import OperationResult
from helpline.conversation.records import (
    COUNT,
    ITEM_PRICE,
    MISSING_CHRONOLOGY,
    MISSING_RECORD,
    MISSING_RETURN_ITEMS,
    MISSING_WHICH,
    REFUND,
    SUM,
    Aggregate,
    RecordQuery,
    Reference,
    answer_record_question,
    fetch_records,
    refund_total,
)
from helpline.pack.loader import PackInvalid, load_pack
from helpline.pack.records import RecordKind, RecordPath, RecordsDeclaration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

TAU_USER = "maya_lopez_4821"
DEMO_CUSTOMER = "C-2001"


def declared(pack: str) -> RecordKind:
    text = (EXAMPLES / pack / "records.yaml").read_text()
    return RecordsDeclaration.model_validate(yaml.safe_load(text)).kinds["orders"]


def tau_kind() -> RecordKind:
    return declared("tau-retail")


def demo_kind() -> RecordKind:
    return declared("demo")


def tau_orders() -> list[dict[str, Any]]:
    """Two orders of one user, as get_order_details returns them."""
    address = {"address1": "12 Birch Lane", "address2": "Apt 4", "city": "Denver", "country": "USA",
               "state": "CO", "zip": "80205"}
    return [
        {
            "order_id": "#W4100001", "user_id": TAU_USER, "address": address, "status": "delivered",
            "items": [
                {"name": "Tablet", "product_id": "8024098596", "item_id": "6065192424", "price": 989.7,
                 "options": {"screen size": "10-inch", "storage": "128GB", "color": "gold"}},
                {"name": "Jigsaw Puzzle", "product_id": "1808611083", "item_id": "9779102705", "price": 54.11,
                 "options": {"pieces": "1000", "theme": "animals", "difficulty level": "expert"}},
            ],
            "fulfillments": [{"tracking_id": ["682308736931"], "item_ids": ["6065192424", "9779102705"]}],
            "payment_history": [
                {"transaction_type": "payment", "amount": 1043.81, "payment_method_id": "credit_card_7434610"},
                {"transaction_type": "refund", "amount": 54.11, "payment_method_id": "credit_card_7434610"},
            ],
        },
        {
            "order_id": "#W4100002", "user_id": TAU_USER, "address": address, "status": "pending",
            "items": [
                {"name": "T-Shirt", "product_id": "9523456873", "item_id": "3799046073", "price": 53.27,
                 "options": {"color": "black", "size": "XXL", "material": "cotton", "style": "crew neck"}},
                {"name": "T-Shirt", "product_id": "9523456873", "item_id": "2060066974", "price": 51.05,
                 "options": {"color": "purple", "size": "S", "material": "polyester", "style": "v-neck"}},
                {"name": "Water Bottle", "product_id": "8310926033", "item_id": "7843064651", "price": 50.14,
                 "options": {"capacity": "750ml", "material": "stainless steel", "color": "blue"}},
            ],
            "fulfillments": [],
            "payment_history": [
                {"transaction_type": "payment", "amount": 154.46, "payment_method_id": "paypal_3650980"},
            ],
        },
    ]


def foreign_tau_order() -> dict[str, Any]:
    """Another customer's order that also has a tablet: never to be read for TAU_USER."""
    return {"order_id": "#W4199999", "user_id": "omar_khan_2363", "address": {}, "status": "delivered",
            "items": [{"name": "Tablet", "item_id": "4913411651", "price": 941.03, "options": {"color": "black"}}],
            "fulfillments": [{"tracking_id": ["999999999999"], "item_ids": ["4913411651"]}],
            "payment_history": [{"transaction_type": "payment", "amount": 941.03, "payment_method_id": "x"}]}


def demo_orders() -> list[dict[str, Any]]:
    """list_customer_orders rows (newest first) with get_order_items attached under `items`."""

    def line(order: str, n: int, sku: str, product: str, options: str, quantity: int, price: str) -> dict[str, Any]:
        return {"id": f"{order}-{n}", "order_id": order, "line": n, "sku": sku, "product": product,
                "option_summary": options, "quantity": quantity, "unit_price": price, "status": "ordered",
                "customer_id": DEMO_CUSTOMER}

    def order(oid: str, placed: str, status: str, tracking: str, shipping: str, total: str,
              items: list[dict[str, Any]], delivered: str = "") -> dict[str, Any]:
        return {"id": oid, "customer_id": DEMO_CUSTOMER, "placed_at": placed, "status": status,
                "delivered_at": delivered, "shipping_method": "standard", "carrier": "FedEx",
                "tracking_number": tracking, "ship_to": "88 Lamar Blvd, Austin, TX 78704",
                "payment_method": "visa ending 4242", "shipping": shipping, "total": total, "items": items}

    return [
        order("BB-20003", "2026-11-13T20:15:00Z", "shipped", "358112880199", "12.99", "127.99",
              [line("BB-20003", 1, "TAMP", "Tamper", "", 1, "25.00"),
               line("BB-20003", 2, "HOUSE-1KG", "House Blend beans", "size: 1kg", 2, "45.00")]),
        order("BB-20002", "2026-09-25T10:12:00Z", "delivered", "397187072811", "4.99", "29.99",
              [line("BB-20002", 1, "MUG-12OZ-BLU", "Travel Mug", "size: 12oz, colour: blue", 1, "25.00")],
              delivered="2026-09-28T14:12:00Z"),
        order("BB-20001", "2026-09-05T14:56:00Z", "delivered", "", "12.99", "68.99",
              [line("BB-20001", 1, "SINGLE-250G", "Single Origin beans", "size: 250g", 2, "18.00"),
               line("BB-20001", 2, "FILT-3", "Water Filter 3-pack", "", 1, "20.00")],
              delivered="2026-09-07T17:56:00Z"),
    ]


def facts(answer: Any) -> dict[str, str]:
    return dict(answer.text_facts)


# --- references -------------------------------------------------------------------------------


def test_tracking_number_of_the_order_containing_a_product() -> None:
    query = RecordQuery("orders", attributes=("tracking number",), reference=Reference.CONTAINING,
                        products=("Tablet",))
    answer = answer_record_question(query, tau_orders(), tau_kind(), None, owner=TAU_USER)
    assert answer.found and answer.missing is None
    assert answer.text_facts == [("order", "#W4100001"), ("tracking number", "682308736931")]
    assert answer.record_ids == ["#W4100001"]
    assert answer.focus_id == "#W4100001"  # "that order" next means this one


def test_most_recent_order_total_paid_from_its_date() -> None:
    query = RecordQuery("orders", attributes=("total",), reference=Reference.MOST_RECENT)
    # the records in any order: the placed_at dates decide, not the position
    answer = answer_record_question(query, list(reversed(demo_orders())), demo_kind(), None, owner=DEMO_CUSTOMER)
    assert answer.found
    assert answer.text_facts == [("order", "BB-20003"), ("total", "$127.99")]
    oldest = answer_record_question(RecordQuery("orders", attributes=("total",), reference=Reference.OLDEST),
                                    demo_orders(), demo_kind())
    assert oldest.text_facts == [("order", "BB-20001"), ("total", "$68.99")]


def test_most_recent_without_dates_says_the_data_does_not_tell() -> None:
    # the tau store keeps no order dates: no guess, the orders to choose from instead
    query = RecordQuery("orders", attributes=("paid",), reference=Reference.MOST_RECENT)
    answer = answer_record_question(query, tau_orders(), tau_kind(), None, owner=TAU_USER)
    assert not answer.found and answer.missing == MISSING_CHRONOLOGY
    assert answer.candidates == ["#W4100001", "#W4100002"]
    assert answer.text_facts == []


def test_amount_paid_is_the_sum_of_payments_not_refunds() -> None:
    query = RecordQuery("orders", attributes=("paid", "refunded"), reference=Reference.ID, record_id="w4100001")
    answer = answer_record_question(query, tau_orders(), tau_kind(), None, owner=TAU_USER)
    assert facts(answer)["paid"] == "$1,043.81"
    assert facts(answer)["refunded"] == "$54.11"


def test_the_other_order_items_and_their_material() -> None:
    query = RecordQuery("orders", items=True, item_attributes=("material",), reference=Reference.OTHER,
                        products=("T-Shirt",))
    answer = answer_record_question(query, tau_orders(), tau_kind(), "#W4100001", owner=TAU_USER)
    assert answer.found, answer
    assert answer.record_ids == ["#W4100002"]
    items = [value for label, value in answer.text_facts if label == "item"]
    assert len(items) == 2  # the two t-shirts, not the water bottle
    assert items[0].startswith("T-Shirt (material: cotton;") and "color: black" in items[0]
    assert items[1].startswith("T-Shirt (material: polyester;") and "$51.05" in items[1]
    assert answer.focus_id == "#W4100002"


def test_the_other_one_is_ambiguous_among_several() -> None:
    query = RecordQuery("orders", attributes=("status",), reference=Reference.OTHER)
    answer = answer_record_question(query, demo_orders(), demo_kind(), "BB-20003")
    assert answer.missing == MISSING_WHICH and answer.candidates == ["BB-20002", "BB-20001"]
    assert answer.focus_id == "BB-20003"  # unchanged until the customer picks


def test_focus_is_that_order_and_a_named_product_wins_over_it() -> None:
    kind = tau_kind()
    that = answer_record_question(RecordQuery("orders", attributes=("status",)), tau_orders(), kind, "#W4100002")
    assert that.text_facts == [("order", "#W4100002"), ("status", "pending")]
    tablet = answer_record_question(RecordQuery("orders", attributes=("status",), products=("Tablet",)),
                                    tau_orders(), kind, "#W4100002")
    assert tablet.text_facts == [("order", "#W4100001"), ("status", "delivered")]


def test_a_product_in_two_orders_asks_which() -> None:
    orders = demo_orders()
    orders[0]["items"].append({**orders[1]["items"][0], "order_id": "BB-20003"})  # a mug in both
    query = RecordQuery("orders", attributes=("tracking number",), reference=Reference.CONTAINING,
                        products=("Travel Mug",))
    answer = answer_record_question(query, orders, demo_kind())
    assert not answer.found
    assert answer.missing == MISSING_WHICH and answer.candidates == ["BB-20003", "BB-20002"]
    # the most recent of the two is one
    latest_query = RecordQuery("orders", attributes=("tracking number",), reference=Reference.MOST_RECENT,
                               products=("Travel Mug",))
    latest = answer_record_question(latest_query, orders, demo_kind())
    assert latest.found and latest.record_ids == ["BB-20003"]


# --- computations -----------------------------------------------------------------------------


def test_refund_total_for_given_item_ids_and_names() -> None:
    order = tau_orders()[1]
    kind = tau_kind()
    by_ids = refund_total(order, kind, ["3799046073", "2060066974"])
    assert by_ids.amount == Decimal("104.32") and by_ids.unmatched == []
    by_name = refund_total(order, kind, ["the purple t-shirt"])
    assert by_name.amount == Decimal("51.05") and [i.id for i in by_name.items] == ["2060066974"]
    both = refund_total(order, kind, ["t-shirts", "water bottle"])
    assert both.amount == Decimal("154.46")
    unknown = refund_total(order, kind, ["3799046073", "the desk lamp"])
    assert unknown.unmatched == ["the desk lamp"]
    # the same line is never counted twice
    assert refund_total(order, kind, ["3799046073", "3799046073"]).amount == Decimal("53.27")


def test_refund_total_answer_uses_the_items_being_returned() -> None:
    query = RecordQuery("orders", aggregate=Aggregate.REFUND_TOTAL)
    kind = tau_kind()
    answer = answer_record_question(query, tau_orders(), kind, "#W4100002", owner=TAU_USER,
                                    returning=["3799046073", "7843064651"])
    assert answer.found
    assert facts(answer)[REFUND] == "$103.41"
    assert [label for label, _ in answer.text_facts] == ["order", "item", "item", REFUND]
    # without knowing what goes back, it says so rather than refunding the whole order
    unknown = answer_record_question(query, tau_orders(), kind, "#W4100002", owner=TAU_USER)
    assert not unknown.found and unknown.missing == MISSING_RETURN_ITEMS


def test_refund_counts_quantities() -> None:
    query = RecordQuery("orders", aggregate=Aggregate.REFUND_TOTAL, all_items=True, reference=Reference.ID,
                        record_id="BB-20003")
    answer = answer_record_question(query, demo_orders(), demo_kind())
    assert facts(answer)[REFUND] == "$115.00"  # a tamper and two 1kg bags


def test_count_of_orders_and_of_items() -> None:
    orders = answer_record_question(RecordQuery("orders", reference=Reference.ALL, aggregate=Aggregate.COUNT),
                                    tau_orders(), tau_kind(), None, owner=TAU_USER)
    assert facts(orders)[COUNT] == "2" and orders.record_ids == ["#W4100001", "#W4100002"]
    shirts = answer_record_question(
        RecordQuery("orders", items=True, reference=Reference.ALL, products=("T-Shirt",), aggregate=Aggregate.COUNT),
        tau_orders(), tau_kind(), None, owner=TAU_USER)
    assert facts(shirts)[COUNT] == "2"
    beans = answer_record_question(
        RecordQuery("orders", items=True, reference=Reference.ALL, aggregate=Aggregate.COUNT), demo_orders(),
        demo_kind())
    assert facts(beans)[COUNT] == "7"  # quantities (1 + 2, 1, 2 + 1), not the 5 lines


def test_sum_over_all_orders_names_each() -> None:
    query = RecordQuery("orders", attributes=("total",), reference=Reference.ALL, aggregate=Aggregate.SUM)
    answer = answer_record_question(query, demo_orders(), demo_kind())
    assert answer.text_facts == [("order", "BB-20003: $127.99"), ("order", "BB-20002: $29.99"),
                                 ("order", "BB-20001: $68.99"), (SUM, "$226.97")]


def test_item_price() -> None:
    query = RecordQuery("orders", items=True, item_attributes=(ITEM_PRICE,), products=("Tablet",),
                        reference=Reference.CONTAINING)
    answer = answer_record_question(query, tau_orders(), tau_kind())
    assert answer.found and answer.text_facts[1] == ("item", "Tablet (screen size: 10-inch, storage: 128GB, "
                                                              "color: gold) $989.70")


def test_list_of_orders_says_what_is_in_each() -> None:
    answer = answer_record_question(RecordQuery("orders", reference=Reference.ALL, aggregate=Aggregate.LIST),
                                    demo_orders(), demo_kind())
    assert answer.text_facts[0] == ("order", "BB-20003 (Tamper, House Blend beans; Friday 13 November 2026; "
                                             "shipped; $127.99)")
    assert len(answer.text_facts) == 3


# --- what the data does not say ---------------------------------------------------------------


def test_an_attribute_the_record_lacks_is_reported_missing() -> None:
    # a pending tau order has no fulfilment yet, so no tracking number
    query = RecordQuery("orders", attributes=("tracking number", "status"), reference=Reference.CONTAINING,
                        products=("Water Bottle",))
    answer = answer_record_question(query, tau_orders(), tau_kind(), None, owner=TAU_USER)
    assert not answer.found and answer.missing == "tracking number"
    assert answer.text_facts == [("order", "#W4100002"), ("status", "pending")]  # what it does say
    # the demo's oldest order has an empty tracking number column
    empty = answer_record_question(RecordQuery("orders", attributes=("tracking number",), reference=Reference.OLDEST),
                                   demo_orders(), demo_kind())
    assert empty.missing == "tracking number" and empty.record_ids == ["BB-20001"]


def test_an_attribute_nobody_declared_is_reported_missing() -> None:
    query = RecordQuery("orders", unknown="warranty")
    answer = answer_record_question(query, tau_orders(), tau_kind(), "#W4100001")
    assert not answer.found and answer.missing == "warranty"
    assert answer.text_facts == [("order", "#W4100001")]


def test_an_item_option_the_items_lack() -> None:
    query = RecordQuery("orders", items=True, item_attributes=("color",), reference=Reference.ID,
                        record_id="BB-20001")
    answer = answer_record_question(query, demo_orders(), demo_kind())
    assert not answer.found and answer.missing == "color"


def test_demo_colour_is_color() -> None:
    query = RecordQuery("orders", items=True, item_attributes=("color",), products=("Travel Mug",))
    answer = answer_record_question(query, demo_orders(), demo_kind())
    assert answer.found and facts(answer)["item"].startswith("Travel Mug (colour: blue; size: 12oz)")


# --- ownership --------------------------------------------------------------------------------


def test_never_a_record_owned_by_someone_else() -> None:
    records = [foreign_tau_order(), *tau_orders()]
    kind = tau_kind()
    # the foreign order also has a tablet: with the owner given, it is not even a candidate
    query = RecordQuery("orders", attributes=("tracking number",), reference=Reference.CONTAINING, products=("Tablet",))
    answer = answer_record_question(query, records, kind, None, owner=TAU_USER)
    assert answer.record_ids == ["#W4100001"] and "999999999999" not in str(answer.text_facts)
    by_id = answer_record_question(RecordQuery("orders", attributes=("status",), reference=Reference.ID,
                                               record_id="#W4199999"), records, kind, None, owner=TAU_USER)
    assert not by_id.found and by_id.missing == MISSING_RECORD and by_id.text_facts == []
    counted = answer_record_question(RecordQuery("orders", reference=Reference.ALL, aggregate=Aggregate.COUNT),
                                     records, kind, None, owner=TAU_USER)
    assert facts(counted)[COUNT] == "2"


class FakeGateway:
    def __init__(self, results: Mapping[tuple[str, str], OperationResult]):
        self.results = results
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, name: str, args: Mapping[str, Any]) -> OperationResult:
        self.calls.append((name, dict(args)))
        key = (name, str(next(iter(args.values()), "")))
        return self.results.get(key, OperationResult(False, error="not found"))


def test_fetch_tau_records_lists_then_gets_only_the_customers() -> None:
    mine, theirs = tau_orders(), foreign_tau_order()
    profile = {"name": {"first_name": "Maya", "last_name": "Lopez"}, "email": "maya@example.com",
               "orders": ["#W4100001", "#W4199999", "#W4100002", "#W4100003"]}
    gateway = FakeGateway({
        ("get_user_details", TAU_USER): OperationResult(True, profile),
        ("get_order_details", "#W4100001"): OperationResult(True, mine[0]),
        ("get_order_details", "#W4100002"): OperationResult(True, mine[1]),
        ("get_order_details", "#W4199999"): OperationResult(True, theirs),  # a store mix-up
    })
    fetched = fetch_records(gateway, tau_kind(), TAU_USER)
    assert [r["order_id"] for r in fetched.records] == ["#W4100001", "#W4100002"]
    assert fetched.dropped == 1
    assert fetched.failed == ["#W4100003"]
    assert gateway.calls[0] == ("get_user_details", {"id": TAU_USER})
    assert ("get_order_details", {"order_id": "#W4100002"}) in gateway.calls


def test_fetch_demo_records_attaches_items_and_drops_foreign_rows() -> None:
    rows = [{k: v for k, v in order.items() if k != "items"} for order in demo_orders()]
    rows.insert(1, {**rows[0], "id": "BB-29999", "customer_id": "C-2999"})  # not theirs: never fetched
    lines = {order["id"]: order["items"] for order in demo_orders()}
    stray = {**lines["BB-20002"][0], "customer_id": "C-2999", "product": "Espresso Pro"}
    gateway = FakeGateway({
        ("list_customer_orders", DEMO_CUSTOMER): OperationResult(True, rows),
        ("get_order_items", "BB-20003"): OperationResult(True, lines["BB-20003"]),
        ("get_order_items", "BB-20002"): OperationResult(True, [*lines["BB-20002"], stray]),
        ("get_order_items", "BB-20001"): OperationResult(True, lines["BB-20001"]),
    })
    fetched = fetch_records(gateway, demo_kind(), DEMO_CUSTOMER)
    assert [r["id"] for r in fetched.records] == ["BB-20003", "BB-20002", "BB-20001"]
    assert fetched.dropped == 1
    assert all(call[1] != {"order_id": "BB-29999"} for call in gateway.calls)
    assert [line["product"] for line in fetched.records[1]["items"]] == ["Travel Mug"]


def test_fetch_reports_a_failed_list() -> None:
    fetched = fetch_records(FakeGateway({}), demo_kind(), DEMO_CUSTOMER)
    assert fetched.records == [] and fetched.error == "not found"


# --- the declaration ----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "expected"), [
    ("fulfillments[].tracking_id[]", ["682308736931"]),
    ("payment_history[transaction_type=payment].amount | sum", Decimal("1043.81")),
    ("payment_history[transaction_type=refund].amount | count", 1),
    ("items[].options.color", ["gold"]),
    ("items[].price | sum", Decimal("1043.81")),
    ("address.city", "Denver"),
    ("warranty", None),
    ("items[].name | first", "Tablet"),
])
def test_record_paths(path: str, expected: Any) -> None:
    assert RecordPath.parse(path).read(tau_orders()[0]) == expected


def test_declaration_errors() -> None:
    with pytest.raises(ValueError, match="summary"):
        RecordsDeclaration.model_validate({"orders": {"label": "order", "list": "x", "owner_field": "u",
                                                      "fields": {"status": "status"}, "summary": ["total"]}})
    with pytest.raises(ValueError, match="unknown"):
        RecordsDeclaration.model_validate({"orders": {"label": "order", "list": "x", "owner_field": "u",
                                                      "fields": {"total": "items[].price | avg"}}})
    with pytest.raises(ValueError, match="owner_field"):
        RecordsDeclaration.model_validate({"orders": {"label": "order", "list": "x"}})
    declared = RecordsDeclaration.model_validate({"orders": {"label": "order", "list": "list_x", "get": "get_x",
                                                             "owner_field": "u"}})
    assert [message for _, message in declared.check_operations(["list_x"])] == [
        "orders.get: operation 'get_x' is not defined in operations.yaml"]


def test_loader_reports_records_errors_with_file_and_line(tmp_path: Path) -> None:
    pack = tmp_path / "demo"
    shutil.copytree(EXAMPLES / "demo", pack, ignore=shutil.ignore_patterns("*.db", "__pycache__", ".env"))
    assert load_pack(pack).records is not None
    text = (pack / "records.yaml").read_text()
    (pack / "records.yaml").write_text(text.replace("get_order_items", "get_order_lines"))
    with pytest.raises(PackInvalid) as invalid:
        load_pack(pack)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "items: get_order_items" in row)
    assert [str(e) for e in invalid.value.errors] == [
        f"records.yaml:{line}: orders.attach.items: operation 'get_order_lines' is not defined in operations.yaml"]
    (pack / "records.yaml").unlink()
    assert load_pack(pack).records is None  # optional
