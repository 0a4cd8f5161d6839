"""Questions about the customer's own records, read into RecordQuery against the pack's declared
fields and the products in the customer's own (invented) records; then answered end to end."""

from __future__ import annotations

import pytest

from helpline.conversation.ports import Entity
from helpline.conversation.records import (
    COUNT,
    ITEM_PRICE,
    MISSING_CHRONOLOGY,
    MISSING_RECORD,
    REFUND,
    SUM,
    Aggregate,
    Reference,
    answer_record_question,
)
from helpline.pack.records import RecordsDeclaration
from helpline.understanding.record_questions import choose_kind, parse_record_question, words
from tests.conversation.test_records import (
    DEMO_CUSTOMER,
    TAU_USER,
    demo_kind,
    demo_orders,
    foreign_tau_order,
    tau_kind,
    tau_orders,
)


def tau(text: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return parse_record_question(text, tau_kind(), tau_orders(), **kwargs)  # type: ignore[arg-type]


def demo(text: str):  # type: ignore[no-untyped-def]
    return parse_record_question(text, demo_kind(), demo_orders())


# --- the field report ---------------------------------------------------------------------------


def test_tracking_number_for_my_tablet_order() -> None:
    query = tau("what's the tracking number for my tablet order?")
    assert query.attributes == ("tracking number",)
    assert query.reference is Reference.CONTAINING and query.products == ("Tablet",)
    assert query.aggregate is Aggregate.NONE


def test_how_much_did_i_pay_for_my_most_recent_order() -> None:
    query = tau("how much did I pay for my most recent order?")
    assert query.attributes == ("paid",) and query.reference is Reference.MOST_RECENT
    assert demo("How much did I pay for my latest order").attributes == ("total",)


def test_which_items_asked_not_a_purchase_told() -> None:
    assert demo("what did I order last time?").items
    assert demo("remind me of the things I bought in my last order").items
    # a story that starts with the purchase asks nothing about the order's items
    assert not demo("I bought some beans from you and I haven't got a grinder, can you grind them for me?").items
    assert not demo("I'm eighty one, I bought the kettle from you and the lid won't shut").items


def test_how_much_will_i_get_back_in_total() -> None:
    query = tau("how much will I get back in total?")
    assert query.aggregate is Aggregate.REFUND_TOTAL
    assert query.attributes == ()  # "in total" is not the field "total"
    assert query.reference is Reference.FOCUS  # the order being returned from


def test_which_two_t_shirts_in_my_other_order_and_what_are_they_made_of() -> None:
    query = tau("which two t-shirts did I order in my other order, and what are they made of?")
    assert query.reference is Reference.OTHER
    assert query.items and query.products == ("T-Shirt",)
    assert query.item_attributes == ("material",)


# --- references -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "reference"), [
    ("what's the status of my last order", Reference.MOST_RECENT),
    ("the newest one - has it shipped?", Reference.MOST_RECENT),
    ("what was the total of my first order", Reference.OLDEST),
    ("and the other one?", Reference.OTHER),
    ("what's the status of all my orders", Reference.ALL),
    ("what's the status of that order", Reference.FOCUS),
    ("has it shipped", Reference.FOCUS),
])
def test_references(text: str, reference: Reference) -> None:
    assert demo(text).reference is reference


def test_last_and_first_beside_other_words_are_not_references() -> None:
    assert demo("what are the last four digits of the card I paid with").reference is not Reference.MOST_RECENT
    assert demo("what's the first name on the order").reference is not Reference.OLDEST


def test_an_id_written_out_or_recognised() -> None:
    query = tau("what's the status of w4100002")
    assert query.reference is Reference.ID and query.record_id == "#W4100002"
    spaced = demo("status of bb 20002 please")
    assert spaced.reference is Reference.ID and spaced.record_id == "BB-20002"
    entity = Entity("order_id", "#W4100001", "#W4100001")
    assert tau("where is order #W4100001", entities=[entity]).record_id == "#W4100001"


def test_an_id_that_is_not_theirs_is_still_an_id() -> None:
    # shaped like their order numbers: asked about, so never replaced by the order in focus
    query = demo("what's the status of BB-10001")
    assert query.reference is Reference.ID and query.record_id == "BB10001"
    answer = answer_record_question(query, demo_orders(), demo_kind(), "BB-20002", owner=DEMO_CUSTOMER)
    assert not answer.found and answer.missing == MISSING_RECORD and answer.text_facts == []


# --- products, options, attributes --------------------------------------------------------------


def test_products_from_the_customers_own_records() -> None:
    assert demo("the tracking for the mugs").products == ("Travel Mug",)
    assert demo("when did the beans arrive").products == ("House Blend beans", "Single Origin beans")
    assert demo("when did the house blend arrive").products == ("House Blend beans",)
    assert tau("how much was the water botle").products == ("Water Bottle",)  # a typo
    # a product they never bought is not recognised (nothing to answer from)
    assert tau("what's the tracking number for my laptop").products == ()


def test_plain_words_of_product_names_name_nothing() -> None:
    orders = demo_orders()
    orders[0]["items"].append({**orders[0]["items"][0], "product": "Espresso One", "sku": "ESP1-BLK"})
    query = parse_record_question("what's the total of the last one?", demo_kind(), orders)
    assert query.products == () and query.reference is Reference.MOST_RECENT


def test_options_narrow_the_items() -> None:
    query = tau("what size is the purple t-shirt")
    assert query.products == ("T-Shirt",) and query.options == ("purple",)
    assert query.item_attributes == ("size",)


def test_synonyms_from_the_pack_and_typos() -> None:
    assert demo("who's the courier for my last order").attributes == ("carrier",)
    assert demo("where was it sent to").attributes == ("shipping address",)
    assert tau("whats the trackng number").attributes == ("tracking number",)
    assert tau("what card did I pay with").attributes == ("payment method",)  # not "paid"


def test_how_much_was_an_item_versus_its_order() -> None:
    item = tau("how much was the tablet?")
    assert item.item_attributes == (ITEM_PRICE,) and item.attributes == ()
    order = tau("how much was the tablet order?")
    assert order.attributes == ("paid",) and order.item_attributes == ()


def test_what_the_declaration_does_not_know() -> None:
    query = tau("what's the warranty on that order?")
    assert query.unknown == "warranty" and query.attributes == ()
    assert tau("what's in my other order").unknown is None


# --- computations -----------------------------------------------------------------------------


def test_counts_sums_lists() -> None:
    orders = demo("how many orders have I placed?")
    assert orders.aggregate is Aggregate.COUNT and orders.reference is Reference.ALL and not orders.items
    mugs = demo("how many mugs did I buy?")
    assert mugs.aggregate is Aggregate.COUNT and mugs.products == ("Travel Mug",) and mugs.reference is Reference.ALL
    spent = demo("how much have I spent in total?")
    assert spent.aggregate is Aggregate.SUM and spent.reference is Reference.ALL and spent.attributes == ("total",)
    listed = demo("what orders do I have?")
    assert listed.aggregate is Aggregate.LIST and listed.reference is Reference.ALL


def test_refund_to_come_versus_refund_made() -> None:
    assert tau("if I return the tablet how much would I get back").aggregate is Aggregate.REFUND_TOTAL
    made = tau("how much did I get back for that order")
    assert made.aggregate is Aggregate.NONE and made.attributes == ("refunded",)


def test_words() -> None:
    assert words("What's in my T-shirts' order?") == ["what", "in", "my", "tshirt", "order"]


def test_choose_kind() -> None:
    both = RecordsDeclaration.model_validate({
        "orders": {"label": "order", "list": "list_orders", "owner_field": "customer_id",
                   "fields": {"tracking number": "tracking"}},
        "bookings": {"label": "booking", "list": "list_bookings", "owner_field": "customer_id",
                     "fields": {"table size": "covers"}},
    })
    assert choose_kind("what's the tracking number", both) is both.kinds["orders"]
    assert choose_kind("how big is my booking", both) is both.kinds["bookings"]
    assert choose_kind("hello", RecordsDeclaration.model_validate({})) is None


# --- end to end: parse, then answer from the records ----------------------------------------------


def test_field_report_conversation_on_tau_records() -> None:
    kind, records = tau_kind(), [foreign_tau_order(), *tau_orders()]
    focus = None
    transcript = []
    for text in ("what's the tracking number for my tablet order?",
                 "how much did I pay for it?",
                 "which two t-shirts did I order in my other order, and what are they made of?",
                 "how much did I pay for my most recent order?",
                 "how many orders do I have?"):
        query = parse_record_question(text, kind, records)
        answer = answer_record_question(query, records, kind, focus, owner=TAU_USER)
        focus = answer.focus_id
        transcript.append(answer)
    tracking, paid, shirts, recent, count = transcript
    assert tracking.text_facts == [("order", "#W4100001"), ("tracking number", "682308736931")]
    assert paid.text_facts == [("order", "#W4100001"), ("paid", "$1,043.81")]
    assert shirts.record_ids == ["#W4100002"] and [v.split(";")[0] for k, v in shirts.text_facts if k == "item"] == [
        "T-Shirt (material: cotton", "T-Shirt (material: polyester"]
    assert recent.missing == MISSING_CHRONOLOGY and recent.candidates == ["#W4100001", "#W4100002"]
    assert dict(count.text_facts)[COUNT] == "2"


def test_field_report_conversation_on_demo_records() -> None:
    kind, records = demo_kind(), demo_orders()
    recent = answer_record_question(demo("how much did I pay for my most recent order?"), records, kind,
                                    owner=DEMO_CUSTOMER)
    assert recent.text_facts == [("order", "BB-20003"), ("total", "$127.99")]
    back = answer_record_question(demo("how much would I get back if I return the house blend?"), records, kind,
                                  recent.focus_id, owner=DEMO_CUSTOMER)
    assert dict(back.text_facts)[REFUND] == "$90.00"
    total = answer_record_question(demo("how much have I spent altogether?"), records, kind, owner=DEMO_CUSTOMER)
    assert dict(total.text_facts)[SUM] == "$226.97"
    tracking = answer_record_question(demo("and the tracking number of my first order?"), records, kind,
                                      owner=DEMO_CUSTOMER)
    assert not tracking.found and tracking.missing == "tracking number" and tracking.record_ids == ["BB-20001"]
