"""The independent tau-retail customer (bench/tau_retail/stranger.py) on synthetic instructions and a small
synthetic store: no ../shared data needed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bench.tau_retail import stranger
from bench.tau_retail.customer import Data
from bench.tau_retail.stranger import STYLES, Stranger, read_instruction

SEEDS = list(range(len(STYLES)))  # one seed per phrasing style


def _data() -> Data:
    shirt = {"blue-l": {"item_id": "blue-l", "options": {"color": "blue", "size": "L"}, "available": True,
                        "price": 20.0},
             "red-l": {"item_id": "red-l", "options": {"color": "red", "size": "L"}, "available": True,
                       "price": 21.0},
             "blue-m": {"item_id": "blue-m", "options": {"color": "blue", "size": "M"}, "available": True,
                        "price": 19.0}}
    lamp = {"lamp-w": {"item_id": "lamp-w", "options": {"color": "white"}, "available": True, "price": 30.0}}
    products = {"p-shirt": {"name": "T-Shirt", "product_id": "p-shirt", "variants": shirt},
                "p-lamp": {"name": "Desk Lamp", "product_id": "p-lamp", "variants": lamp}}

    def line(product: str, name: str, item: str, options: dict[str, str]) -> dict[str, Any]:
        return {"name": name, "product_id": product, "item_id": item, "price": 20.0, "options": options}

    address = {"address1": "1 Elm Street", "address2": "", "city": "Springfield", "country": "USA", "state": "IL",
               "zip": "62701"}
    orders = {
        "#W1111111": {"order_id": "#W1111111", "user_id": "ann_lee_1", "status": "pending", "address": address,
                      "items": [line("p-lamp", "Desk Lamp", "lamp-w", {"color": "white"})],
                      "payment_history": [{"transaction_type": "payment", "amount": 30.0,
                                           "payment_method_id": "paypal_1"}]},
        "#W2222222": {"order_id": "#W2222222", "user_id": "ann_lee_1", "status": "delivered", "address": address,
                      "items": [line("p-shirt", "T-Shirt", "blue-l", {"color": "blue", "size": "L"}),
                                line("p-lamp", "Desk Lamp", "lamp-w", {"color": "white"})],
                      "payment_history": [{"transaction_type": "payment", "amount": 50.0,
                                           "payment_method_id": "credit_card_1"}]},
    }
    users = {"ann_lee_1": {"name": {"first_name": "Ann", "last_name": "Lee"}, "address": address,
                           "email": "ann.lee77@example.org",
                           "payment_methods": {"paypal_1": {"source": "paypal", "id": "paypal_1"},
                                               "credit_card_1": {"source": "credit_card", "brand": "visa",
                                                                 "last_four": "4242", "id": "credit_card_1"}},
                           "orders": ["#W1111111", "#W2222222"]}}
    return Data(users=users, orders=orders, products=products)


CANCEL = {"user_id": "ann_lee_1",
          "instruction": "Your name is Ann Lee and your email is ann.lee77@example.org. You are calm, brief. "
                         "Cancel order #W1111111 because no longer needed. "}
EXCHANGE = {"user_id": "ann_lee_1",
            "instruction": "Your name is Ann Lee and your zip code is 62701. You are chatty. You got a blue t-shirt "
                           "in order #W2222222 but you'd like it in red instead. If asked, the refund or payment "
                           "goes to paypal."}


def _answer(customer: Stranger, *agent: str) -> str:
    reply = customer.reply(list(agent))
    assert reply is not None
    return reply.lower()


@pytest.mark.parametrize("seed", SEEDS)
def test_answers_an_email_question_with_the_users_email(seed: int) -> None:
    customer = Stranger(CANCEL, _data(), seed=seed)
    customer.first_message()
    reply = _answer(customer, "Before I can help, what's the email address on your account?")
    assert "ann.lee77@example.org" in reply


@pytest.mark.parametrize("seed", SEEDS)
def test_gives_name_and_zip_when_that_is_what_it_knows(seed: int) -> None:
    customer = Stranger(EXCHANGE, _data(), seed=seed)
    customer.first_message()
    reply = _answer(customer, "First, please tell me your full name and ZIP code so I can find your account.")
    assert "ann lee" in reply and "62701" in reply


@pytest.mark.parametrize("seed", SEEDS)
def test_says_thats_all_when_asked_for_anything_else_once_done(seed: int) -> None:
    customer = Stranger(CANCEL, _data(), seed=seed)
    customer.first_message()
    yes = _answer(customer, "To confirm: cancel order #W1111111 (the Desk Lamp), reason: no longer needed. "
                            "Shall I go ahead?")
    assert re.match(r"(yes|yep|correct)", yes)
    done = customer.reply(["Done - the order is cancelled.", "Is there anything else I can help you with?"])
    assert done is not None and re.search(r"\bno\b|nope|that's all|thats all|thats it|that's everything|"
                                          r"nothing else", done.lower())
    assert customer.finished


@pytest.mark.parametrize("seed", SEEDS)
def test_refuses_a_confirmation_that_does_not_match_its_goal(seed: int) -> None:
    customer = Stranger(CANCEL, _data(), seed=seed)
    customer.first_message()
    wrong_order = _answer(customer, "To confirm: cancel order #W2222222, reason: no longer needed. Shall I go ahead?")
    assert wrong_order.startswith("no")
    wrong_reason = _answer(customer, "To confirm: cancel order #W1111111, reason: ordered by mistake. "
                                     "Shall I go ahead?")
    assert wrong_reason.startswith("no")
    wrong_action = _answer(customer, "To confirm: return the Desk Lamp from order #W1111111. Shall I go ahead?")
    assert wrong_action.startswith("no")
    assert not customer.finished and customer.request is not None


@pytest.mark.parametrize("seed", SEEDS)
def test_free_text_exchange_names_the_item_and_the_new_option(seed: int) -> None:
    data = _data()
    (request,) = read_instruction(EXCHANGE, data)
    assert request.kind == "exchange" and request.order_id == "#W2222222"
    assert [w.line["name"] for w in request.wishes] == ["T-Shirt"]
    assert request.wishes[0].target == {"color": "red"}
    assert request.payment is not None and request.payment["source"] == "paypal"
    customer = Stranger(EXCHANGE, data, seed=seed)
    customer.first_message()
    customer.gave_identity = True
    items = _answer(customer, "Which items would you like to exchange? Order #W2222222 has the T-Shirt (blue, L) "
                              "and the Desk Lamp (white).")
    assert "t-shirt" in items and "lamp" not in items
    option = _answer(customer, "Which option would you like instead of the T-Shirt (blue, L)? Available: "
                               "red, L at $21.00; blue, M at $19.00.")
    assert "red" in option
    # a summary with the wrong colour is refused, the right one accepted
    assert _answer(customer, "To confirm: exchange the T-Shirt (blue, L) for blue, M from order #W2222222, "
                             "difference to your paypal. Shall I go ahead?").startswith("no")
    assert re.match(r"(yes|yep|correct)", _answer(
        customer, "To confirm: exchange the T-Shirt (blue, L) for red, L from order #W2222222, difference to your "
                  "paypal. Shall I go ahead?"))


def test_templated_instruction_reads_every_request() -> None:
    task = {"user_id": "ann_lee_1",
            "instruction": "Your name is Ann Lee and your zip code is 62701. You are direct. Cancel order #W1111111 "
                           "because ordered by mistake. Return #W2222222 via credit_card_1: T-Shirt; Desk Lamp; "}
    cancel, ret = read_instruction(task, _data())
    assert (cancel.kind, cancel.order_id, cancel.reason) == ("cancel", "#W1111111", "ordered by mistake")
    assert ret.kind == "return" and [w.line["name"] for w in ret.wishes] == ["T-Shirt", "Desk Lamp"]
    assert ret.payment is not None and ret.payment["id"] == "credit_card_1"


def test_the_customer_never_reads_the_ground_truth() -> None:
    # independence is the point of this customer: it must not look at the task's actions or outputs
    source = Path(stranger.__file__).read_text()
    assert not re.search(r"""\[["'](actions|outputs)["']\]|\.get\(["'](actions|outputs)""", source)


@pytest.mark.parametrize("seed", SEEDS)
def test_says_no_when_the_agent_checks_a_topic_it_did_not_ask_about(seed: int) -> None:
    customer = Stranger(CANCEL, _data(), seed=seed)
    customer.first_message()
    off_topic = _answer(customer, 'Just to check I\'ve got this right - do you need help with "Product availability"?')
    assert off_topic.startswith("no") and "cancel" in off_topic
    assert customer.request is not None and not customer.request.done
