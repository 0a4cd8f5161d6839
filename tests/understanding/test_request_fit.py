"""Whether what a message says rules out the procedure the classifier picked (request_fit.py), on the demo pack's
procedures. Wordings written for these tests, not copied from the pack's triggers or any benchmark set."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpline.conversation.ports import Entity, Understanding
from helpline.pack.loader import load_pack
from helpline.pack.models import Procedure
from helpline.understanding.request_fit import (
    DAMAGED_ON_ARRIVAL,
    WRONG_ITEM,
    content_words,
    delivery_problem,
    for_other_products,
    meaning_words,
    names_only_its_product,
    never_says_no_power,
    reports_it_done,
    shows_life,
    without_its_code,
)

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
CATALOGUE = frozenset(meaning_words(content_words(
    "Espresso One Espresso Pro Burr Grinder Smart Kettle Milk Frother Cold Brew Maker Travel Mug Tamper "
    "Descaling Kit Water Filter 3-pack House Blend beans Single Origin beans Beans Subscription")))


@pytest.fixture(scope="module")
def procedures() -> dict[str, Procedure]:
    return dict(load_pack(DEMO).procedures)


def _names_only(procedure: Procedure, text: str, *entities: Entity) -> bool:
    words = content_words(" ".join([procedure.title, *procedure.triggers]))
    return names_only_its_product(Understanding(text, (), entities), procedure, words, CATALOGUE)


def test_a_report_about_a_product_asks_no_price(procedures: dict[str, Procedure]) -> None:
    price = procedures["product_price"]
    grinder = Entity("product", "Burr Grinder", "grinder")
    assert _names_only(price, "the grinder has started making a horrible screeching noise", grinder)
    assert _names_only(price, "would the single origin work in a cafetiere or is it too fine")


def test_a_price_an_option_or_a_purchase_is_what_the_price_procedure_answers(procedures: dict[str, Procedure]) -> None:
    price = procedures["product_price"]
    grinder = Entity("product", "Burr Grinder", "grinder")
    assert not _names_only(price, "what would the grinder set me back, how much is it", grinder)
    assert not _names_only(price, "is the grinder sold in white", grinder, Entity("product_option", "white", "white"))
    assert not _names_only(price, "looking for a grinder for my dad's birthday, any good?", grinder)
    # ...and a message naming no product is not ruled out by it
    assert not _names_only(price, "it makes a horrible screeching noise")


def test_only_a_procedure_about_a_product_is_ruled_out_by_naming_one(procedures: dict[str, Procedure]) -> None:
    # the exchange's first slot is the order: the product named is no reason to rule it out
    assert not _names_only(procedures["exchange_item"], "the travel mug is a bit disappointing",
                           Entity("product", "Travel Mug", "travel mug"))


def test_a_procedure_for_some_products_is_not_for_another(procedures: dict[str, Procedure]) -> None:
    codes = procedures["app_error_code"]  # the demo's app pairs with the espresso machines only
    assert codes.products
    kettle = Entity("product", "Smart Kettle", "kettle")
    pro = Entity("product", "Espresso Pro", "espresso pro")
    assert for_other_products(Understanding("the app keeps saying the kettle is offline", (), (kettle,)), codes)
    assert not for_other_products(Understanding("my espresso pro says E201", (), (pro,)), codes)
    assert not for_other_products(Understanding("the pro and the kettle both say offline", (), (pro, kettle)), codes)
    assert not for_other_products(Understanding("the app says E201", (), ()), codes)  # no product named
    # a procedure for any product is ruled out by none
    assert not for_other_products(Understanding("my kettle won't switch on", (), (kettle,)),
                                  procedures["machine_wont_power_on"])


def test_an_item_already_sent_back_is_no_new_return(procedures: dict[str, Procedure]) -> None:
    returns = procedures["return_item"]
    assert reports_it_done("we posted the tamper back on monday, has the money gone through yet", returns)
    assert reports_it_done("I've already returned the mug, when will I see the refund", returns)
    assert not reports_it_done("how do I go about sending the mug back", returns)
    assert not reports_it_done("I'd like to send the tamper back please", returns)
    # a procedure that never returns anything is not concerned
    assert not reports_it_done("we posted the tamper back on monday", procedures["order_status"])


def test_a_machine_that_lights_up_does_power_on(procedures: dict[str, Procedure]) -> None:
    power = procedures["machine_wont_power_on"]
    assert shows_life("the display comes on fine but the pump makes no sound", power)
    assert shows_life("it turns on but the grinder just hums", power)
    assert not shows_life("not a single light comes on when I press it", power)
    assert not shows_life("the power light doesn't come on any more", power)
    assert not shows_life("the display comes on fine but the pump makes no sound", procedures["app_error_code"])


def test_a_machine_that_wont_power_on_must_be_said(procedures: dict[str, Procedure]) -> None:
    power = procedures["machine_wont_power_on"]
    assert never_says_no_power("my kettle won't connect to the wifi, the little light just keeps blinking", power)
    assert not never_says_no_power("my kettle won't switch on at all", power)
    assert not never_says_no_power("the grinder is completely dead", power)
    # a procedure of another kind is never ruled out by it
    assert not never_says_no_power("the app keeps saying offline", procedures["app_error_code"])


def test_a_wrong_item_received(procedures: dict[str, Procedure]) -> None:
    for text in ("the box had the wrong colour frother in it", "we asked for the steel one but received a black one",
                 "I got a 250g bag but I'd ordered the 1kg", "you've delivered a kettle instead of a grinder"):
        assert delivery_problem(text) == WRONG_ITEM, text
    for text in ("I picked the wrong size by mistake, can I change it", "I bought a kettle and got charged twice"):
        assert delivery_problem(text) is None, text


def test_an_item_damaged_on_arrival() -> None:
    for text in ("the parcel turned up and the kettle lid was snapped clean off",
                 "opened the box today and the glass jug is shattered", "the grinder was dented in transit"):
        assert delivery_problem(text) == DAMAGED_ON_ARRIVAL, text
    # broken after weeks of use is a fault, not damage in the post
    for text in ("the frother came in the spring and has now broken", "the kettle arrived fine, thanks"):
        assert delivery_problem(text) is None, text


def test_a_code_procedure_without_a_code(procedures: dict[str, Procedure]) -> None:
    app = procedures["app_error_code"]
    assert without_its_code("the espresso pro keeps dropping off my home network", app)
    assert not without_its_code("the app keeps throwing E202 at me", app)
    assert not without_its_code("there's an error in the app when I pair it", app)
    # a charge's triggers speak of the charge, not of its statement name: no code is expected of the caller
    assert not without_its_code("why have you taken forty dollars off me", procedures["explain_charge"])
