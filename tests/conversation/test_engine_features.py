"""Generic engine features on a tiny pack of its own: a lookup that returns only an id expanded by a
profile operation, a multi-valued choice slot built from data, and a loop with `clear`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpline.connectors.gateway import PackOperations
from helpline.conversation.engine import Engine, TurnContext
from helpline.conversation.state import ConversationState
from tests.conversation.small_packs import engine_over_pack

BUSINESS = """\
name: Tiny Shop
escalation: {tiers: [{name: human}], default_tier: human}
verification:
  methods:
    - {fields: [email], operation: user_id_by_email}
  profile_operation: user_profile
id_formats: {order_id: "\\\\bT\\\\d{3}\\\\b"}
"""
OPERATIONS = """\
tables:
  users: {file: data/users.csv, key: id}
  items: {file: data/items.csv, key: item_id}
operations:
  user_id_by_email:
    sql: "SELECT id FROM users WHERE email = :email"
    params: {email: email}
  user_profile:
    sql: "SELECT id, name, email FROM users WHERE id = :id"
    params: {id: text}
  order_items:
    sql: "SELECT * FROM items WHERE order_id = :order_id"
    params: {order_id: order_id}
    returns: many
    owner_field: user_id
  mark_returned:
    sql: "UPDATE items SET status = 'returned' WHERE instr(',' || :item_ids || ',', ',' || item_id || ',') > 0"
    params: {item_ids: text}
    changes_data: true
    returns: none
"""
PROCEDURE = """\
id: return_items
title: Return items
requires_verification: true
triggers:
  - I want to return some items
  - return these things please
  - send items back for a refund
  - return the lamp from my order
  - I'd like to return an item
  - can I return this
slots:
  order_id: {type: order_id, prompt: "Which order?"}
  items:
    type: choice
    options_from: "order_items"
    option_label: "{{ name }} {{ colour }}"
    option_value: "item_id"
    many: true
    prompt: Which items?
  reason:
    type: text
    prompt: >-
      Why are you returning the
      {{ (order_items | selectattr('item_id', 'equalto', slots['items'][i]) | first).name }}?
steps:
  - ask: order_id
  - call: order_items
    args: {order_id: "{{ slots.order_id }}"}
    save_as: order_items
  - ask: items
  - set: {i: "0", reasons: "[]"}
  - label: loop
    branch: [{when: "i >= slots['items'] | length", goto: confirm}]
  - ask: reason
  - set: {reasons: "reasons + [slots.reason]", i: "i + 1"}
  - clear: [reason]
  - goto: loop
  - label: confirm
    confirm: "Return {{ slots['items'] | length }} item(s) ({{ reasons | join('; ') }})?"
  - call: mark_returned
    args: {item_ids: "{{ slots['items'] | join(',') }}"}
  - end: resolved
    resolution: "Returned {{ slots['items'] | join(', ') }}"
"""


@pytest.fixture()
def engine(tmp_path: Path) -> Engine:
    (tmp_path / "procedures").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "users.csv").write_text("id,name,email\nu1,Ada Lovelace,ada@example.com\n"
                                                 "u2,Bob Stone,bob@example.com\n")
    (tmp_path / "data" / "items.csv").write_text(
        "item_id,order_id,user_id,name,colour,status\n"
        "i1,T100,u1,Desk Lamp,white,delivered\ni2,T100,u1,Gaming Mouse,black,delivered\n"
        "i3,T100,u1,Gaming Mouse,red,delivered\ni4,T200,u2,Kettle,steel,delivered\n")
    (tmp_path / "business.yaml").write_text(BUSINESS)
    (tmp_path / "operations.yaml").write_text(OPERATIONS)
    (tmp_path / "procedures" / "return_items.yaml").write_text(PROCEDURE)
    return engine_over_pack(tmp_path)


def say(engine: Engine, state: ConversationState, text: str) -> str:
    context = TurnContext(now=datetime(2026, 11, 20, 12, tzinfo=UTC))
    return " ".join(engine.handle(state, text, context).replies)


def test_lookup_by_id_then_profile_and_a_list_collected_before_one_change(engine: Engine) -> None:
    state = ConversationState()
    say(engine, state, "I want to return some items from order T100, I'm ada@example.com")
    assert state.customer == {"id": "u1", "name": "Ada Lovelace", "email": "ada@example.com"}
    reply = say(engine, state, "the white desk lamp and the red gaming mouse")
    assert state.active is not None and state.active.slots["items"] == ["i1", "i3"]
    assert "anything else" in reply.lower() or "all" in reply.lower()
    reply = say(engine, state, "that's all")
    assert "why are you returning the desk lamp" in reply.lower()
    reply = say(engine, state, "too bright")
    assert "gaming mouse" in reply.lower()
    reply = say(engine, state, "wrong colour")
    assert state.active.awaiting == "confirm" and "2 item(s) (too bright; wrong colour)" in reply
    say(engine, state, "yes")
    assert state.active is None
    assert state.requests[-1].outcome == "resolved" and state.requests[-1].resolution == "Returned i1, i3"
    ops = engine.operations
    assert isinstance(ops, PackOperations) and ops.sql is not None
    from sqlalchemy import text

    with ops.sql.engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT item_id, status FROM items")).all())
    assert statuses == {"i1": "returned", "i2": "delivered", "i3": "returned", "i4": "delivered"}


def test_ambiguous_item_is_asked_about_not_guessed(engine: Engine) -> None:
    state = ConversationState()
    say(engine, state, "return items from T100 please, ada@example.com")
    reply = say(engine, state, "the gaming mouse")
    assert "which one" in reply.lower() and "black" in reply and "red" in reply
    assert state.active is not None and "items" not in state.active.slots


def test_another_customers_order_is_refused(engine: Engine) -> None:
    state = ConversationState()
    reply = say(engine, state, "return the kettle from order T200, I'm ada@example.com")
    assert "verified" in reply.lower()
    assert state.active is None and state.requests[-1].outcome == "unresolved"
