"""Every policy rule of the tau-retail store, in conversations through the real engine and models
against the real store backend on loopback (the pack's HTTP operations, not a fake)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpline.connectors.gateway import PackOperations
from helpline.connectors.sql import SqlOperations
from helpline.pack.loader import load_pack
from helpline.runtime import PackModels, Runtime, build_models, build_runtime
from tests.packs.conftest import TauStore

pytestmark = pytest.mark.shared

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # a Tuesday afternoon, New York time


@pytest.fixture(scope="module")
def tau_models(tau_pack: Path, tmp_path_factory: pytest.TempPathFactory) -> PackModels:
    pack = load_pack(tau_pack)
    records = tmp_path_factory.mktemp("records") / "records.db"
    operations = PackOperations(pack.operations, SqlOperations.open(f"sqlite:///{records}", pack.root,
                                                                    pack.operations.tables))
    return build_models(pack, operations)


@pytest.fixture()
def runtime(tau_pack: Path, tau_models: PackModels, tau_store: TauStore, tmp_path: Path) -> Iterator[Runtime]:
    tau_store.client.reset()
    made = build_runtime(tau_pack, db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                         records_url=f"sqlite:///{tmp_path / 'records.db'}", models=tau_models, clock=lambda: NOW)
    yield made
    made.db.engine.dispose()
    tau_store.client.reset()


class Chat:
    def __init__(self, runtime: Runtime):
        self.service = runtime.conversations
        self.id = self.service.start(channel="chat", actor="test").id

    def say(self, text: str) -> str:
        return " ".join(self.service.post(self.id, text, actor="test").replies)


def _user_with(tau: TauStore, *statuses: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    """A user with an order in each status (the first such user, so tests are repeatable)."""
    for uid, user in sorted(tau.users.items()):
        found: dict[str, str] = {}
        for oid in user["orders"]:
            status = tau.orders[oid]["status"]
            if status in statuses and status not in found:
                found[status] = oid
        if set(found) == set(statuses):
            return uid, user, found
    raise AssertionError(f"no user with orders in {statuses}")


def _verified(chat: Chat, user: dict[str, Any], request: str) -> str:
    reply = chat.say(request)
    assert "email" in reply.lower()  # verification comes before anything else
    return chat.say(f"my email is {user['email']}")


def _status(tau: TauStore, oid: str) -> str:
    return str(tau.client.state()["orders"][oid]["status"])


def test_a_user_id_alone_does_not_verify(runtime: Runtime, tau_store: TauStore) -> None:
    uid, _, orders = _user_with(tau_store, "pending")
    chat = Chat(runtime)
    reply = chat.say(f"Please cancel order {orders['pending']}. My user id is {uid}.")
    assert "email" in reply.lower() and "pending" not in reply.lower()
    reply = chat.say(f"I told you, my user id is {uid}")
    assert "pending" not in reply.lower() and orders["pending"] not in reply
    assert _status(tau_store, orders["pending"]) == "pending"


def test_cancel_a_pending_order_with_a_reason_after_an_explicit_yes(runtime: Runtime, tau_store: TauStore) -> None:
    _, user, orders = _user_with(tau_store, "pending")
    oid = orders["pending"]
    chat = Chat(runtime)
    reply = _verified(chat, user, f"I want to cancel order {oid.lstrip('#')}")
    assert "no longer needed" in reply.lower()
    reply = chat.say("I ordered it by mistake")
    assert oid in reply and "ordered by mistake" in reply and "go ahead" in reply.lower()
    assert _status(tau_store, oid) == "pending"  # listed, not done yet
    chat.say("yes")
    assert _status(tau_store, oid) == "cancelled"


def test_no_change_without_a_yes(runtime: Runtime, tau_store: TauStore) -> None:
    _, user, orders = _user_with(tau_store, "pending")
    oid = orders["pending"]
    chat = Chat(runtime)
    _verified(chat, user, f"please cancel order {oid}")
    chat.say("no longer needed")
    reply = chat.say("hmm, what would that mean for my refund")
    assert _status(tau_store, oid) == "pending"
    reply = chat.say("no")
    assert "haven't changed anything" in reply
    assert _status(tau_store, oid) == "pending"


def test_a_delivered_order_cannot_be_cancelled(runtime: Runtime, tau_store: TauStore) -> None:
    _, user, orders = _user_with(tau_store, "delivered")
    oid = orders["delivered"]
    chat = Chat(runtime)
    reply = _verified(chat, user, f"cancel my order {oid}")
    assert "delivered" in reply and "can't be cancelled" in reply
    assert _status(tau_store, oid) == "delivered"


def test_another_users_order_is_refused(runtime: Runtime, tau_store: TauStore) -> None:
    uid, user, _ = _user_with(tau_store, "pending")
    other = next(o for o in sorted(tau_store.orders) if tau_store.orders[o]["user_id"] != uid
                 and tau_store.orders[o]["status"] == "pending")
    chat = Chat(runtime)
    reply = _verified(chat, user, f"cancel order {other}")
    assert "another account" in reply
    assert "no longer needed" not in reply
    assert _status(tau_store, other) == "pending"


def _exchangeable(tau: TauStore, uid: str, oid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for line in tau.orders[oid]["items"]:
        variants = tau.products[line["product_id"]]["variants"].values()
        for variant in variants:
            if variant["available"] and variant["item_id"] != line["item_id"]:
                return line, variant
    raise AssertionError("no exchangeable item")


def test_exchange_then_a_second_exchange_on_the_same_order_is_refused(runtime: Runtime, tau_store: TauStore) -> None:
    uid, user, orders = _user_with(tau_store, "delivered")
    oid = orders["delivered"]
    line, variant = _exchangeable(tau_store, uid, oid)
    chat = Chat(runtime)
    reply = _verified(chat, user, f"I want to exchange an item from order {oid}")
    assert "only be exchanged once" in reply
    reply = chat.say(f"the {' '.join(map(str, line['options'].values()))} {line['name']}")
    assert "anything else" in reply.lower()
    reply = chat.say("no, that's all")
    assert "instead of the" in reply
    reply = chat.say(" ".join(map(str, variant["options"].values())))
    assert "payment method" in reply
    pm = next(iter(user["payment_methods"].values()))
    label = pm["source"].replace("_", " ") + (f" {pm['brand']} ending {pm['last_four']}" if "brand" in pm else "")
    reply = chat.say(label)
    if "doesn't cover" in reply:  # a gift card too small for the difference: the policy refuses it
        pytest.skip("first payment method can't cover the difference")
    assert oid in reply and "go ahead" in reply.lower()
    chat.say("yes")
    assert _status(tau_store, oid) == "exchange requested"
    reply = chat.say(f"I'd like to exchange another item from order {oid}")
    assert "only delivered orders can be exchanged" in reply
    assert _status(tau_store, oid) == "exchange requested"


def test_return_refunds_to_the_original_payment_method(runtime: Runtime, tau_store: TauStore) -> None:
    _, user, orders = _user_with(tau_store, "delivered")
    oid = orders["delivered"]
    order = tau_store.orders[oid]
    line = order["items"][0]
    original = user["payment_methods"][order["payment_history"][0]["payment_method_id"]]
    chat = Chat(runtime)
    _verified(chat, user, f"I want to return something from order {oid}")
    chat.say(f"the {' '.join(map(str, line['options'].values()))} {line['name']}")
    reply = chat.say("that's all")
    assert "refund" in reply.lower()
    label = original["source"].replace("_", " ") + (f" {original['brand']} ending {original['last_four']}"
                                                     if "brand" in original else "")
    reply = chat.say(label)
    assert line["name"] in reply and "go ahead" in reply.lower()
    chat.say("yes please")
    state = tau_store.client.state()["orders"][oid]
    assert state["status"] == "return requested"
    assert state["return_items"] == [line["item_id"]]
