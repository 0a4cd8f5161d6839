# ruff: noqa: E501
# (the procedures below are YAML text; their Jinja one-liners are clearer unbroken)
"""Write a business pack for the tau-retail store (policy.md + the store's HTTP order system).

The generated pack only *refers* to the dataset: the knowledge base is derived from policy.md's
sections, and every customer, order and product is read at run time through the store backend's
HTTP operations (``POST {backend}/operations/<name>`` → ``{"result": "<JSON string or 'Error: ...'>"}``).
Nothing here is specific to Helpline's core: the pack is plain YAML that any pack could contain.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

# The six operations that alter the store; the engine runs them only right after an explicit yes.
CHANGING_OPERATIONS = (
    "cancel_pending_order",
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "return_delivered_order_items",
    "exchange_delivered_order_items",
    "modify_user_address",
)

# Customers say "W1234567", "#w1234567" or "order 1234567 W"; the store only knows "#W1234567".
ORDER_ID = "#W{{ order_id | string | upper | replace('#', '') | replace('W', '') | trim }}"

# Every store answer is {"result": "<JSON or a plain string>"}; a refusal starts with "Error".
RESPONSE = "body.result | fromjson"
ERROR_WHEN = "body.result is string and body.result.startswith('Error')"

# The store's operations as the pack calls them: params (name → slot/entity type) and the body
# template. The verification lookups take the entity types the engine collects (email, person_name,
# postcode) and the profile lookup takes `id`, as docs/business-pack.md prescribes.
OPERATIONS: dict[str, dict[str, Any]] = {
    "find_user_id_by_email": {
        "description": "Verification: the user id for an email address.",
        "params": {"email": "email"},
        "body": {"email": "{{ email | trim | lower }}"},
    },
    "find_user_id_by_name_zip": {
        "description": "Verification: the user id for a first name, last name and ZIP code.",
        "params": {"person_name": "person_name", "postcode": "postcode"},
        "body": {
            "first_name": "{{ person_name.split(' ')[0] | trim }}",
            "last_name": "{{ person_name.split(' ')[-1] | trim }}",
            "zip": "{{ postcode | trim }}",
        },
    },
    "get_user_details": {
        "description": "The user's profile: name, email, default address, payment methods, orders.",
        "params": {"id": "text"},
        "body": {"user_id": "{{ id }}"},
        "owner_field": None,
    },
    "get_order_details": {
        "description": "One order: status, items (with item and product ids), fulfilments, payments.",
        "params": {"order_id": "order_id"},
        "body": {"order_id": ORDER_ID},
        "owner_field": "user_id",
    },
    "get_product_details": {
        "description": "One product type with every variant (item id, options, availability, price).",
        "params": {"product_id": "text"},
        "body": {"product_id": "{{ product_id }}"},
    },
    "list_all_product_types": {
        "description": "Every product type: name → product id.",
        "params": {},
        "body": {},
    },
    "calculate": {
        "description": "Evaluate an arithmetic expression.",
        "params": {"expression": "text"},
        "body": {"expression": "{{ expression }}"},
    },
    "think": {
        "description": "A no-op note (kept so the pack mirrors every store operation).",
        "params": {"thought": "text"},
        "body": {"thought": "{{ thought }}"},
    },
    "transfer_to_human_agents": {
        "description": "Record a transfer to a human agent with a summary (the store only acknowledges it).",
        "params": {"summary": "text"},
        "body": {"summary": "{{ summary }}"},
    },
    "cancel_pending_order": {
        "description": "Cancel a pending order; reason is 'no longer needed' or 'ordered by mistake'.",
        "params": {"order_id": "order_id", "reason": "text"},
        "body": {"order_id": ORDER_ID, "reason": "{{ reason }}"},
    },
    "modify_pending_order_address": {
        "description": "Change the shipping address of a pending order.",
        "params": {"order_id": "order_id", "address1": "text", "address2": "text", "city": "text",
                   "state": "text", "country": "text", "zip": "text"},
        "optional": ["address2"],
        "body": {"order_id": ORDER_ID, "address1": "{{ address1 }}", "address2": "{{ address2 or '' }}",
                 "city": "{{ city }}", "state": "{{ state }}", "country": "{{ country }}", "zip": "{{ zip }}"},
    },
    "modify_pending_order_items": {
        "description": "Swap items of a pending order for other options of the same products (once).",
        "params": {"order_id": "order_id", "item_ids": "list", "new_item_ids": "list",
                   "payment_method_id": "text"},
        "body": {"order_id": ORDER_ID, "item_ids": "{{ item_ids }}", "new_item_ids": "{{ new_item_ids }}",
                 "payment_method_id": "{{ payment_method_id }}"},
    },
    "modify_pending_order_payment": {
        "description": "Pay a pending order with another of the user's payment methods.",
        "params": {"order_id": "order_id", "payment_method_id": "text"},
        "body": {"order_id": ORDER_ID, "payment_method_id": "{{ payment_method_id }}"},
    },
    "return_delivered_order_items": {
        "description": "Return items of a delivered order; refund to the original method or a gift card.",
        "params": {"order_id": "order_id", "item_ids": "list", "payment_method_id": "text"},
        "body": {"order_id": ORDER_ID, "item_ids": "{{ item_ids }}",
                 "payment_method_id": "{{ payment_method_id }}"},
    },
    "exchange_delivered_order_items": {
        "description": "Exchange items of a delivered order for other options of the same products (once).",
        "params": {"order_id": "order_id", "item_ids": "list", "new_item_ids": "list",
                   "payment_method_id": "text"},
        "body": {"order_id": ORDER_ID, "item_ids": "{{ item_ids }}", "new_item_ids": "{{ new_item_ids }}",
                 "payment_method_id": "{{ payment_method_id }}"},
    },
    "modify_user_address": {
        "description": "Change the user's default address.",
        "params": {"user_id": "text", "address1": "text", "address2": "text", "city": "text",
                   "state": "text", "country": "text", "zip": "text"},
        "optional": ["address2"],
        "body": {"user_id": "{{ user_id }}", "address1": "{{ address1 }}", "address2": "{{ address2 or '' }}",
                 "city": "{{ city }}", "state": "{{ state }}", "country": "{{ country }}", "zip": "{{ zip }}"},
    },
}


def operations_yaml(backend_url: str) -> dict[str, Any]:
    base = backend_url.rstrip("/")
    operations: dict[str, Any] = {}
    for name, op in OPERATIONS.items():
        spec: dict[str, Any] = {"description": op["description"]}
        if op["params"]:
            spec["params"] = op["params"]
        if op.get("optional"):
            spec["optional"] = op["optional"]
        if name in CHANGING_OPERATIONS:
            spec["changes_data"] = True
        if op.get("owner_field"):
            spec["owner_field"] = op["owner_field"]
        spec["http"] = {
            "method": "POST",
            "url": f"{base}/operations/{name}",
            "headers": {"Accept": "application/json"},
            "body": op["body"],
            "timeout": 10,
            # a changing call is never retried: a timeout after the store applied it must not apply it twice
            "retries": 0 if name in CHANGING_OPERATIONS else 1,
            "response": RESPONSE,
            "error_when": ERROR_WHEN,
        }
        operations[name] = spec
    return {"operations": operations}


BUSINESS: dict[str, Any] = {
    "name": "Tau Retail",
    # policy.md: "All times in the database are EST"
    "timezone": "America/New_York",
    "languages": ["en"],
    # the policy names no opening hours: the agent and the human team are treated as always on
    "opening_hours": {day: "00:00-23:59" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "holidays": [],
    "persona": {
        "name": "Robin",
        "tone": "concise",
        "greeting": "Hi, you're through to {{ business.name }} customer support. I'm {{ persona.name }}. How can I help?",
    },
    "escalation": {
        "tiers": [{"name": "human", "description": "a human support agent"}],
        "default_tier": "human",
    },
    "callback_sla": "4h",
    "verification": {
        "methods": [
            {"fields": ["email"], "operation": "find_user_id_by_email"},
            {"fields": ["person_name", "postcode"], "operation": "find_user_id_by_name_zip"},
        ],
        "profile_operation": "get_user_details",
        "max_attempts": 3,
    },
    "id_formats": {
        # the '#' is often left out; the operations normalise to '#W1234567'
        "order_id": "(?i)#?\\bW\\d{7}\\b",
        "user_id": "\\b[a-z]+_[a-z]+_\\d{4}\\b",
    },
    "catalogue": {"operation": "list_all_product_types"},
}


REPLIES: dict[str, Any] = {
    "greeting": [
        "Hi, you're through to {{ business.name }} customer support. I'm {{ persona.name }}. How can I help?",
        "Hello, this is {{ persona.name }} at {{ business.name }}. What can I do for you today?",
    ],
    "verify_intro": [
        "Before I can help, I need to verify your identity. What's the email address on your account? "
        "Or give me your first and last name and your ZIP code.",
        "First I need to confirm who you are: please tell me your account email, or your full name and ZIP code.",
    ],
    "verify_failed": [
        "I couldn't find an account with those details. Could you check them? An email address, or your "
        "first and last name with your ZIP code, both work.",
    ],
    "verified": ["Thanks, {{ customer.name.first_name if customer.name is mapping else customer.name }} - you're verified."],
    "other_customer_refused": [
        "I'm sorry, that belongs to another account. I can only help with the account verified in this "
        "conversation.",
    ],
    "anything_else": ["Is there anything else I can help you with?", "Can I help with anything else?"],
    "goodbye": ["Thanks for contacting {{ business.name }}. Goodbye!", "Have a good day - goodbye!"],
    "confirm_needed": ["I need an explicit yes before I make that change. Shall I go ahead - yes or no?"],
    "out_of_scope": [
        "I'm sorry, that's outside what I can help with here. I can help with orders (status, cancelling, "
        "changing, returning or exchanging items), your profile and default address, and product information.",
    ],
}


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "policy"


def knowledge_articles(policy: str) -> dict[str, str]:
    """One article per '## ' section of policy.md (the opening rules become 'How we can help')."""
    sections: list[tuple[str, list[str]]] = [("How we can help", [])]
    for line in policy.splitlines():
        if line.startswith("# "):
            continue
        if line.startswith("## "):
            sections.append((line[3:].strip(), []))
            continue
        sections[-1][1].append(line[1:] if line.startswith("###") else line)
    articles: dict[str, str] = {}
    for title, lines in sections:
        body = "\n".join(lines).strip()
        if not body:
            continue
        words = sorted({w for w in re.findall(r"[a-z]+", title.lower()) if len(w) > 3})
        front = yaml.safe_dump({"title": title, "tags": ["policy", *words], "audience": "customer"},
                               sort_keys=False).strip()
        # a lead paragraph that names the topic helps retrieval match plain questions to the section
        articles[f"{_slug(title)}.md"] = f"---\n{front}\n---\nOur policy on {title.lower()}.\n\n{body}\n"
    return articles


def generate(dataset_dir: Path, out_dir: Path, backend_url: str) -> Path:
    """Write the pack into out_dir (created if needed) and return it."""
    policy_path = dataset_dir / "policy.md"
    if not policy_path.is_file():
        raise FileNotFoundError(f"{policy_path} not found: is {dataset_dir} the tau-retail dataset?")
    operations_path = dataset_dir / "operations.json"
    store_ops = {op.get("function", op)["name"] for op in json.loads(operations_path.read_text())}
    missing = store_ops - set(OPERATIONS)
    if missing:
        # a newer store with operations this generator does not know: say so rather than skip them
        raise ValueError(f"the store has operations this generator does not map: {sorted(missing)}")

    out_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("knowledge", "procedures", "templates"):
        (out_dir / sub).mkdir(exist_ok=True)
        for old in (out_dir / sub).glob("*"):
            if old.is_file():
                old.unlink()  # regenerate cleanly: no stale procedure from an earlier version

    header = (f"# Generated by `helpline pack from-tau-retail` from {dataset_dir.resolve()}\n"
              f"# (store backend {backend_url}). Regenerate rather than edit.\n")
    _dump(out_dir / "business.yaml", BUSINESS, header)
    _dump(out_dir / "operations.yaml", operations_yaml(backend_url), header)
    _dump(out_dir / "templates" / "replies.yaml", REPLIES, header)
    _dump(out_dir / "records.yaml", _records_section(), header)
    for name, text in knowledge_articles(policy_path.read_text()).items():
        (out_dir / "knowledge" / name).write_text(text)
    for name, text in PROCEDURES.items():
        (out_dir / "procedures" / f"{name}.yaml").write_text(header + text.lstrip())
    (out_dir / "README.md").write_text(
        f"# Tau Retail (generated)\n\nA Helpline pack for the tau-retail store, generated from "
        f"`{dataset_dir.resolve()}` for the store backend at {backend_url}.\n"
        f"Serve it with `helpline serve --pack {out_dir}` while the backend runs.\n")
    return out_dir


def _dump(path: Path, data: dict[str, Any], header: str) -> None:
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110))


# --- procedures ----------------------------------------------------------------------------------
# Shared pieces (YAML text, indented for a `steps:` list). Jinja note: `order['items']`, because
# `order.items` would be the dict's items() method.

_ITEM_LABEL = "{{ name }} {{ options.values() | join(' ') }}"
_ITEMS_LIST = ("{% for i in order['items'] %}the {{ i.name }} ({{ i.options.values() | join(', ') }}, "
               "{{ i.price | money }}){% if not loop.last %}; {% endif %}{% endfor %}")
_PM_LABEL = ("{{ source | replace('_', ' ') }}{% if brand is defined %} {{ brand }} ending {{ last_four }}"
             "{% endif %}")
_PM_LIST = ("{% for pm in pm_options %}{{ pm.source | replace('_', ' ') }}{% if pm.brand is defined %} "
            "{{ pm.brand }} ending {{ pm.last_four }}{% endif %}{% if pm.balance is defined %} (balance "
            "{{ pm.balance | money }}){% endif %}{% if not loop.last %}, {% endif %}{% endfor %}")
_ORIGINAL_PM = "order.payment_history[0].payment_method_id"

_ORDER_SLOT = """\
  order_id:
    type: order_id
    prompt: "What's the order number? It starts with #W followed by seven digits."
"""

_LOOKUP_ORDER = """\
  - ask: order_id
  - call: get_order_details
    args: {order_id: "{{ slots.order_id }}"}
    save_as: order
    on_failure: not_found
"""

_NOT_FOUND = """\
  - label: not_found
    say: "I couldn't find order {{ slots.order_id }}. Please check the number - it starts with #W and has seven digits."
  - end: unresolved
    resolution: "Order {{ slots.order_id }} not found"
  - label: declined
    say: "No problem - I haven't changed anything."
  - end: resolved
    resolution: "Customer decided not to go ahead"
  - label: failed
    say: "The store refused the change: {{ error }}. Nothing was changed."
  - end: unresolved
    resolution: "Store refused: {{ error }}"
"""

# Collect every item first (one `many` slot), then one new option per item in a loop, then one call.
_ITEM_SWAP_LOOP = """\
  - ask: items
  - set:
      idx: "0"
      old_ids: "[]"
      new_ids: "[]"
      diff: "0"
      changes: "[]"
  - label: next_item
    branch:
      - {when: "idx >= (slots['items'] | length)", goto: items_done}
  - set:
      cur: "slots['items'][idx]"
  - call: get_product_details
    args: {product_id: "{{ cur.product_id }}"}
    save_as: product
    on_failure: failed
  - set:
      # the current option stays listed: the store's ground truth sometimes keeps one item unchanged in a swap
      choices: "product.variants.values() | selectattr('available') | list"
  - check: "choices | length > 0"
    else_say: "Sorry, no other option of the {{ cur.name }} is available right now, so I'll leave that one as it is."
    else_goto: skip_item
  - ask: new_item
  - set:
      new: "product.variants[slots.new_item]"
  - set:
      old_ids: "old_ids + [cur.item_id]"
      new_ids: "new_ids + [slots.new_item]"
      diff: "((diff + new.price - cur.price) * 100) | round / 100"
      changes: "changes + ['the ' ~ cur.name ~ ' (' ~ (cur.options.values() | join(', ')) ~ ') for ' ~ (new.options.values() | join(', ')) ~ ' at ' ~ (new.price | money)]"
  - label: skip_item
    clear: [new_item]
  - set:
      idx: "idx + 1"
  - goto: next_item
  - label: items_done
    check: "old_ids | length > 0"
    else_say: "Then there's nothing to change."
    else_goto: nothing_to_do
  - set:
      pm_options: "customer.payment_methods.values() | list"
  - label: ask_payment
    ask: payment_method
  - set:
      pm: "customer.payment_methods[slots.payment_method]"
  - check: "pm.source != 'gift_card' or diff <= 0 or pm.balance >= diff"
    else_say: "That gift card has {{ pm.balance | money }} left, which doesn't cover the price difference of {{ diff | money }}."
    else_goto: repick_payment
"""

_NEW_ITEM_SLOT = f"""\
  new_item:
    type: choice
    options_from: "choices"
    option_label: "{{{{ options.values() | join(' ') }}}}"
    option_value: "item_id"
    prompt: "Which option would you like instead of the {{{{ cur.name }}}} ({{{{ cur.options.values() | join(', ') }}}})? Available: {{% for v in choices %}}{{{{ v.options.values() | join(', ') }}}} at {{{{ v.price | money }}}}{{% if not loop.last %}}; {{% endif %}}{{% endfor %}}."
  payment_method:
    type: choice
    options_from: "pm_options"
    option_label: "{_PM_LABEL}"
    option_value: "id"
    prompt: "{{% if diff > 0 %}}There's a price difference of {{{{ diff | money }}}} to pay.{{% elif diff < 0 %}}You'll get {{{{ (0 - diff) | money }}}} back.{{% else %}}There's no price difference.{{% endif %}} Which payment method should be used for the difference: {_PM_LIST}?"
"""


def _items_slot(verb: str, reminder: str) -> str:
    return f"""\
  items:
    type: choice
    many: true
    options_from: "order['items']"
    option_label: "{_ITEM_LABEL}"
    prompt: "Which items would you like to {verb}? {reminder} Order {{{{ order.order_id }}}} has {_ITEMS_LIST}."
    more_prompt: "Anything else to {verb} on this order? {reminder}"
"""


PROCEDURES: dict[str, str] = {}

PROCEDURES["cancel_order"] = f"""
id: cancel_order
title: Cancel a pending order
category: orders
requires_verification: true
triggers:
  - I want to cancel my order
  - please cancel order #W1234567
  - cancel W7654321, I don't need it anymore
  - I ordered something by mistake and want to cancel it
  - I no longer need the order I placed, can you cancel it
  - stop my order from shipping and refund me
  - I won't be home to receive my order, cancel it and give me a refund
  - can you cancel one of my pending orders
slots:
{_ORDER_SLOT}  reason:
    type: choice
    options: [no longer needed, ordered by mistake]
    prompt: "Why would you like to cancel it - is it no longer needed, or was it ordered by mistake?"
steps:
{_LOOKUP_ORDER}  - check: "order.status == 'pending'"
    else_say: "Order {{{{ order.order_id }}}} is {{{{ order.status }}}}, so it can't be cancelled - only pending orders can."
    else_goto: refused
  - ask: reason
  - confirm: "To confirm: cancel order {{{{ order.order_id }}}} ({_ITEMS_LIST}), reason: {{{{ slots.reason }}}}. The refund goes to the original payment method{{% if order.payment_history[0].payment_method_id.startswith('gift_card') %}} immediately{{% else %}} in 5 to 7 business days{{% endif %}}. Shall I go ahead?"
    on_no: declined
  - call: cancel_pending_order
    args: {{order_id: "{{{{ order.order_id }}}}", reason: "{{{{ slots.reason }}}}"}}
    on_failure: failed
  - say: "Done - order {{{{ order.order_id }}}} is cancelled."
  - end: resolved
    resolution: "Cancelled order {{{{ order.order_id }}}} ({{{{ slots.reason }}}})"
  - label: refused
    end: unresolved
    resolution: "Order {{{{ order.order_id }}}} is {{{{ order.status }}}}: not cancellable"
{_NOT_FOUND}ticket:
  tags: [cancellation]
"""

PROCEDURES["modify_order_items"] = f"""
id: modify_order_items
title: Change items of a pending order
category: orders
requires_verification: true
triggers:
  - I want to change an item in my pending order
  - can I modify the items in order #W1234567
  - I ordered the wrong size, can you change it before it ships
  - change the color of the lamp in my order that hasn't shipped yet
  - I'd like a different option of the product I ordered
  - swap the item in my pending order for another variant
  - modify my order to a different size
  - update the items on my order before it ships
slots:
{_ORDER_SLOT}{_items_slot("change", "Items can only be changed once per order, so please tell me all of them.")}{_NEW_ITEM_SLOT}steps:
{_LOOKUP_ORDER}  - check: "order.status == 'pending'"
    else_say: "Order {{{{ order.order_id }}}} is {{{{ order.status }}}}; only pending orders can be changed{{% if order.status == 'delivered' %}} - a delivered order can be returned or exchanged instead{{% endif %}}."
    else_goto: refused
  - say: "Please note that an order's items can only be changed once, so let's collect every item you want to change first."
{_ITEM_SWAP_LOOP}  - confirm: "To confirm, on pending order {{{{ order.order_id }}}} I'll change {{{{ changes | join('; ') }}}}. {{% if diff > 0 %}}The difference of {{{{ diff | money }}}} is charged to{{% elif diff < 0 %}}The difference of {{{{ (0 - diff) | money }}}} is refunded to{{% else %}}There's no price difference; payment method on file:{{% endif %}} your {_PM_LABEL.replace('source', 'pm.source').replace('brand is', 'pm.brand is').replace('{{ brand', '{{ pm.brand').replace('last_four', 'pm.last_four')}. Items can only be changed once and the order can't be changed or cancelled afterwards. Is that everything, and shall I go ahead?"
    on_no: declined
  - call: modify_pending_order_items
    args: {{order_id: "{{{{ order.order_id }}}}", item_ids: "{{{{ old_ids }}}}", new_item_ids: "{{{{ new_ids }}}}", payment_method_id: "{{{{ slots.payment_method }}}}"}}
    on_failure: failed
  - say: "Done - the items on order {{{{ order.order_id }}}} have been changed."
  - end: resolved
    resolution: "Modified items on {{{{ order.order_id }}}}: {{{{ changes | join('; ') }}}}"
  - label: repick_payment
    clear: [payment_method]
  - goto: ask_payment
  - label: nothing_to_do
    end: resolved
    resolution: "Nothing to change"
  - label: refused
    end: unresolved
    resolution: "Order {{{{ order.order_id }}}} is {{{{ order.status }}}}: items not modifiable"
{_NOT_FOUND}ticket:
  tags: [modification]
"""

PROCEDURES["exchange_items"] = f"""
id: exchange_items
title: Exchange items of a delivered order
category: exchanges
requires_verification: true
triggers:
  - I want to exchange an item I received
  - can I exchange the shoes from order #W1234567 for another size
  - the lamp I got is the wrong color, I'd like to swap it for a different one
  - exchange my delivered item for a different option
  - I received my order but want a different variant of the product
  - swap the keyboard I received for one with different switches
  - I'd like to exchange a couple of things from my delivered order
  - exchange the t-shirt for a bigger size
slots:
{_ORDER_SLOT}{_items_slot("exchange", "An order can only be exchanged once, so please tell me all of them.")}{_NEW_ITEM_SLOT}steps:
{_LOOKUP_ORDER}  - check: "order.status == 'delivered'"
    else_say: "Order {{{{ order.order_id }}}} is {{{{ order.status }}}}; only delivered orders can be exchanged{{% if order.status == 'pending' %}} - a pending order's items can be changed instead{{% endif %}}."
    else_goto: refused
  - say: "Please note that an order can only be exchanged once, so let's collect every item you want to exchange first."
{_ITEM_SWAP_LOOP}  - confirm: "To confirm, on delivered order {{{{ order.order_id }}}} I'll exchange {{{{ changes | join('; ') }}}}. {{% if diff > 0 %}}The difference of {{{{ diff | money }}}} is charged to{{% elif diff < 0 %}}The difference of {{{{ (0 - diff) | money }}}} is refunded to{{% else %}}There's no price difference; payment method on file:{{% endif %}} your {_PM_LABEL.replace('source', 'pm.source').replace('brand is', 'pm.brand is').replace('{{ brand', '{{ pm.brand').replace('last_four', 'pm.last_four')}. You'll get an email about returning the items, and an order can only be exchanged once. Is that everything, and shall I go ahead?"
    on_no: declined
  - call: exchange_delivered_order_items
    args: {{order_id: "{{{{ order.order_id }}}}", item_ids: "{{{{ old_ids }}}}", new_item_ids: "{{{{ new_ids }}}}", payment_method_id: "{{{{ slots.payment_method }}}}"}}
    on_failure: failed
  - say: "Done - the exchange for order {{{{ order.order_id }}}} is requested. You'll receive an email about how to return the items."
  - end: resolved
    resolution: "Exchange requested on {{{{ order.order_id }}}}: {{{{ changes | join('; ') }}}}"
  - label: repick_payment
    clear: [payment_method]
  - goto: ask_payment
  - label: nothing_to_do
    end: resolved
    resolution: "Nothing to exchange"
  - label: refused
    end: unresolved
    resolution: "Order {{{{ order.order_id }}}} is {{{{ order.status }}}}: not exchangeable"
{_NOT_FOUND}ticket:
  tags: [exchange]
"""

PROCEDURES["return_items"] = f"""
id: return_items
title: Return items of a delivered order
category: returns
requires_verification: true
triggers:
  - I want to return an item
  - I'd like to return some things from order #W1234567
  - return the headphones I received and refund me
  - how do I send back items from my delivered order
  - I want a refund for an item I received
  - I want to return everything in my order
  - give me my money back for the watch I got
  - return my delivered order please
slots:
{_ORDER_SLOT}{_items_slot("return", "")}  payment_method:
    type: choice
    options_from: "pm_options"
    option_label: "{_PM_LABEL}"
    option_value: "id"
    prompt: "The refund of {{{{ refund | money }}}} can go to the original payment method or to a gift card on your account: {_PM_LIST}. Which would you like?"
steps:
{_LOOKUP_ORDER}  - check: "order.status == 'delivered'"
    else_say: "Order {{{{ order.order_id }}}} is {{{{ order.status }}}}; only delivered orders can be returned{{% if order.status == 'pending' %}} - a pending order can be cancelled instead{{% endif %}}."
    else_goto: refused
  - ask: items
  - set:
      refund: "((slots['items'] | sum(attribute='price')) * 100) | round / 100"
      item_ids: "slots['items'] | map(attribute='item_id') | list"
      pm_options: "((customer.payment_methods.values() | selectattr('source', 'equalto', 'gift_card') | list) + (customer.payment_methods.values() | selectattr('id', 'equalto', {_ORIGINAL_PM}) | list)) | unique(attribute='id') | list"
  - ask: payment_method
  - set:
      pm: "customer.payment_methods[slots.payment_method]"
  - confirm: "To confirm: return {{% for i in slots['items'] %}}the {{{{ i.name }}}} ({{{{ i.options.values() | join(', ') }}}}){{% if not loop.last %}}, {{% endif %}}{{% endfor %}} from order {{{{ order.order_id }}}}, with the refund of {{{{ refund | money }}}} to your {_PM_LABEL.replace('source', 'pm.source').replace('brand is', 'pm.brand is').replace('{{ brand', '{{ pm.brand').replace('last_four', 'pm.last_four')}. Shall I go ahead?"
    on_no: declined
  - call: return_delivered_order_items
    args: {{order_id: "{{{{ order.order_id }}}}", item_ids: "{{{{ item_ids }}}}", payment_method_id: "{{{{ slots.payment_method }}}}"}}
    on_failure: failed
  - say: "Done - the return is requested. You'll receive an email with instructions on how to send the items back."
  - end: resolved
    resolution: "Return requested on {{{{ order.order_id }}}} for {{{{ item_ids | join(', ') }}}}"
  - label: refused
    end: unresolved
    resolution: "Order {{{{ order.order_id }}}} is {{{{ order.status }}}}: not returnable"
{_NOT_FOUND}ticket:
  tags: [return, refund]
"""

PROCEDURES["modify_order_payment"] = f"""
id: modify_order_payment
title: Change the payment method of a pending order
category: orders
requires_verification: true
triggers:
  - I want to pay for my order with a different payment method
  - change the payment method on order #W1234567
  - can I use my gift card for my pending order instead
  - switch my order's payment to paypal
  - I'd like to pay with another credit card
  - update the payment for my order
slots:
{_ORDER_SLOT}  payment_method:
    type: choice
    options_from: "pm_options"
    option_label: "{_PM_LABEL}"
    option_value: "id"
    prompt: "Which payment method would you like to use instead: {_PM_LIST}?"
steps:
{_LOOKUP_ORDER}  - check: "order.status == 'pending'"
    else_say: "Order {{{{ order.order_id }}}} is {{{{ order.status }}}}; only a pending order's payment method can be changed."
    else_goto: refused
  - set:
      total: "((order.payment_history | selectattr('transaction_type', 'equalto', 'payment') | sum(attribute='amount')) * 100) | round / 100"
      pm_options: "customer.payment_methods.values() | rejectattr('id', 'equalto', {_ORIGINAL_PM}) | list"
  - check: "pm_options | length > 0"
    else_say: "You don't have another payment method on file, so I can't change it."
    else_goto: refused
  - label: ask_payment
    ask: payment_method
  - set:
      pm: "customer.payment_methods[slots.payment_method]"
  - check: "pm.source != 'gift_card' or pm.balance >= total"
    else_say: "That gift card has {{{{ pm.balance | money }}}} left, which doesn't cover the order total of {{{{ total | money }}}}."
    else_goto: repick_payment
  - confirm: "To confirm: order {{{{ order.order_id }}}} ({{{{ total | money }}}}) will be paid with your {_PM_LABEL.replace('source', 'pm.source').replace('brand is', 'pm.brand is').replace('{{ brand', '{{ pm.brand').replace('last_four', 'pm.last_four')} instead, and the original payment is refunded{{% if {_ORIGINAL_PM}.startswith('gift_card') %}} immediately{{% else %}} in 5 to 7 business days{{% endif %}}. Shall I go ahead?"
    on_no: declined
  - call: modify_pending_order_payment
    args: {{order_id: "{{{{ order.order_id }}}}", payment_method_id: "{{{{ slots.payment_method }}}}"}}
    on_failure: failed
  - say: "Done - order {{{{ order.order_id }}}} is now paid with your new payment method."
  - end: resolved
    resolution: "Payment of {{{{ order.order_id }}}} changed to {{{{ slots.payment_method }}}}"
  - label: repick_payment
    clear: [payment_method]
  - goto: ask_payment
  - label: refused
    end: unresolved
    resolution: "Payment of {{{{ order.order_id }}}} not changed"
{_NOT_FOUND}ticket:
  tags: [payment]
"""

_ADDRESS_SLOTS = """\
  address1:
    type: text
    prompt: "What's the new street address (first line)?"
  address2:
    type: text
    prompt: "And the second line - apartment or suite? Say 'none' if there isn't one."
  city:
    type: text
    prompt: "Which city?"
  state:
    type: text
    prompt: "Which state? The two-letter code, please."
  zip:
    type: text
    prompt: "And the ZIP code?"
"""

_ADDRESS_STEPS = """\
  - ask: address1
  - ask: address2
  - ask: city
  - ask: state
  - ask: zip
  - set:
      a2: "'' if (slots.address2 | lower | trim | replace('.', '')) in ['none', 'no', 'n/a', 'na', 'nothing', '-', 'no second line'] else (slots.address2 | trim)"
      st: "slots.state | trim | upper | replace('.', '')"
      zipcode: "slots.zip | trim | replace('.', '')"
      country: "customer.address.country if customer.address is defined and customer.address else 'USA'"
"""

PROCEDURES["modify_order_address"] = f"""
id: modify_order_address
title: Change the shipping address of a pending order
category: orders
requires_verification: true
triggers:
  - I need to change the shipping address on my order
  - ship order #W1234567 to a different address
  - I moved, can you update the address on my pending order
  - the delivery address on my order is wrong
  - change where my order is being delivered
  - update the address for my order before it ships
slots:
{_ORDER_SLOT}{_ADDRESS_SLOTS}steps:
{_LOOKUP_ORDER}  - check: "order.status == 'pending'"
    else_say: "Order {{{{ order.order_id }}}} is {{{{ order.status }}}}; only a pending order's address can be changed."
    else_goto: refused
{_ADDRESS_STEPS}  - confirm: "To confirm: ship order {{{{ order.order_id }}}} to {{{{ slots.address1 | trim }}}}{{% if a2 %}}, {{{{ a2 }}}}{{% endif %}}, {{{{ slots.city | trim }}}}, {{{{ st }}}} {{{{ zipcode }}}}, {{{{ country }}}}. Shall I go ahead?"
    on_no: declined
  - call: modify_pending_order_address
    args: {{order_id: "{{{{ order.order_id }}}}", address1: "{{{{ slots.address1 | trim }}}}", address2: "{{{{ a2 }}}}", city: "{{{{ slots.city | trim }}}}", state: "{{{{ st }}}}", country: "{{{{ country }}}}", zip: "{{{{ zipcode }}}}"}}
    on_failure: failed
  - say: "Done - order {{{{ order.order_id }}}} will ship to the new address."
  - end: resolved
    resolution: "Shipping address of {{{{ order.order_id }}}} changed"
  - label: refused
    end: unresolved
    resolution: "Address of {{{{ order.order_id }}}} not changed"
{_NOT_FOUND}ticket:
  tags: [address]
"""

PROCEDURES["change_default_address"] = f"""
id: change_default_address
title: Change the default address
category: account
requires_verification: true
triggers:
  - I want to change my default address
  - update the address on my account
  - I moved, please change my profile address
  - change my default shipping address
  - my home address has changed
  - set a new default address for my account
slots:
{_ADDRESS_SLOTS}steps:
{_ADDRESS_STEPS}  - confirm: "To confirm: your default address becomes {{{{ slots.address1 | trim }}}}{{% if a2 %}}, {{{{ a2 }}}}{{% endif %}}, {{{{ slots.city | trim }}}}, {{{{ st }}}} {{{{ zipcode }}}}, {{{{ country }}}}. Shall I go ahead?"
    on_no: declined
  - call: modify_user_address
    args: {{user_id: "{{{{ customer.id }}}}", address1: "{{{{ slots.address1 | trim }}}}", address2: "{{{{ a2 }}}}", city: "{{{{ slots.city | trim }}}}", state: "{{{{ st }}}}", country: "{{{{ country }}}}", zip: "{{{{ zipcode }}}}"}}
    on_failure: failed
  - say: "Done - your default address is updated."
  - end: resolved
    resolution: "Default address changed"
  - label: declined
    say: "No problem - I haven't changed anything."
  - end: resolved
    resolution: "Customer kept the default address"
  - label: failed
    say: "The store refused the change: {{{{ error }}}}. Nothing was changed."
  - end: unresolved
    resolution: "Store refused: {{{{ error }}}}"
ticket:
  tags: [address, account]
"""

PROCEDURES["order_status"] = f"""
id: order_status
title: Order details and tracking
category: orders
requires_verification: true
triggers:
  - where is my order
  - what's the status of order #W1234567
  - what items are in my order
  - has my order shipped yet
  - give me the tracking number for my order
  - what did I order in W7654321
  - how much did I pay for my order
slots:
{_ORDER_SLOT}steps:
{_LOOKUP_ORDER}  - say: "Order {{{{ order.order_id }}}} is {{{{ order.status }}}}. It has {_ITEMS_LIST}.{{% for f in order.fulfillments %}} Tracking {{{{ f.tracking_id | join(', ') }}}}.{{% endfor %}}"
  - end: resolved
    resolution: "Order {{{{ order.order_id }}}} details given"
  - label: not_found
    say: "I couldn't find order {{{{ slots.order_id }}}}. Please check the number - it starts with #W and has seven digits."
  - end: unresolved
ticket:
  tags: [order-status]
"""

PROCEDURES["profile_info"] = """
id: profile_info
title: Profile and orders on the account
category: account
requires_verification: true
triggers:
  - what orders do I have
  - list my orders
  - I don't remember my order number
  - what payment methods do I have on file
  - what's my gift card balance
  - what address do you have for me
  - show me my account details
steps:
  - call: get_user_details
    args: {id: "{{ customer.id }}"}
    save_as: profile
  - say: "Your account ({{ profile.email }}): default address {{ profile.address.address1 }}{% if profile.address.address2 %}, {{ profile.address.address2 }}{% endif %}, {{ profile.address.city }}, {{ profile.address.state }} {{ profile.address.zip }}. Payment methods: {% for pm in profile.payment_methods.values() %}{{ pm.source | replace('_', ' ') }}{% if pm.brand is defined %} {{ pm.brand }} ending {{ pm.last_four }}{% endif %}{% if pm.balance is defined %} (balance {{ pm.balance | money }}){% endif %}{% if not loop.last %}, {% endif %}{% endfor %}. Orders: {{ profile.orders | join(', ') }}."
  - end: resolved
    resolution: "Profile details given"
ticket:
  tags: [account]
"""

PROCEDURES["product_info"] = """
id: product_info
title: Product availability and prices
category: products
requires_verification: true
triggers:
  - is this product available in another color
  - what options does the desk lamp come in
  - how much does the water bottle cost
  - do you have the t-shirt in size L
  - what variants of the office chair are in stock
  - tell me about the hiking boots options
slots:
  product_name:
    type: text
    prompt: "Which product would you like to know about? Just the product's name, like 'Desk Lamp'."
steps:
  - call: list_all_product_types
    save_as: types
  - ask: product_name
  - set:
      wanted: "slots.product_name | lower | replace('the ', '') | replace('.', '') | replace('?', '') | trim"
      names: "types.keys() | list"
      lowered: "types.keys() | map('lower') | list"
  - set:
      hit: "names[lowered.index(wanted)] if wanted in lowered else (names[lowered.index(wanted[:-1])] if wanted[:-1] in lowered else '')"
  - check: "hit"
    else_say: "I couldn't find a product called {{ slots.product_name }}. The product types are: {{ names | join(', ') }}."
  - call: get_product_details
    args: {product_id: "{{ types[hit] }}"}
    save_as: product
  - say: "The {{ product.name }} comes in: {% for v in product.variants.values() %}{{ v.options.values() | join(', ') }} - {{ v.price | money }}{% if not v.available %} (out of stock){% endif %}{% if not loop.last %}; {% endif %}{% endfor %}."
  - end: resolved
    resolution: "Product details given for {{ product.name }}"
ticket:
  tags: [product]
"""

PROCEDURES["out_of_scope_transfer"] = """
id: out_of_scope_transfer
title: Request outside what the agent can do
category: general
requires_verification: false
triggers:
  - I want to place a new order
  - can you give me a discount coupon
  - I want to change the email address on my account
  - I need to add a new credit card to my account
  - please delete my account
  - I want to complain about a delivery driver
steps:
  - say: "That's something I can't do myself, so I'll transfer you to a human agent."
  - escalate: "Out of scope for the agent: customer request needs a human"
    tier: human
ticket:
  tags: [transfer]
"""


# --- records: the customer's own orders, for questions without an order number -----------------
# (kept in this one function so the rest of the generator can change freely around it)


def _records_section() -> dict[str, object]:
    """records.yaml: the verified user's orders (profile -> order ids -> each order), read to answer
    "what's the tracking number for my tablet order?" or "how much did I pay for that one?".

    The store keeps no order dates, and the profile's list is in no particular order (statuses are
    spread evenly over its positions), so no chronology is declared: "my most recent order" gets
    the honest answer that the data does not say, with the orders to choose from."""
    return {
        "orders": {
            "label": "order",
            "list": "get_user_details",
            "customer_arg": "id",
            "list_path": "orders",
            "get": "get_order_details",
            "id_arg": "order_id",
            "id_field": "order_id",
            "owner_field": "user_id",
            "items": {"path": "items", "name": "name", "options": "options", "price": "price", "id": "item_id",
                      "label": "item", "synonyms": ["products", "things"]},
            "fields": {
                "status": {"path": "status", "synonyms": ["state", "where is it", "has it shipped"]},
                "tracking number": {"path": "fulfillments[].tracking_id[]",
                                    "synonyms": ["tracking", "tracking id", "tracking code", "track"]},
                "paid": {"path": "payment_history[transaction_type=payment].amount | sum",
                         "synonyms": ["how much did i pay", "pay", "total", "cost", "charged", "amount",
                                      "spent", "spend"]},
                "refunded": {"path": "payment_history[transaction_type=refund].amount | sum",
                             "synonyms": ["refunds", "refund received", "was refunded", "got back", "did i get back"]},
                "payment method": {"path": "payment_history[transaction_type=payment].payment_method_id | first",
                                   "synonyms": ["paid with", "pay with", "card", "payment"]},
                "shipping address": {"path": "address",
                                     "synonyms": ["address", "delivery address", "ship to", "shipped to", "sent to",
                                                  "delivered to"]},
            },
            "amount_fields": ["paid", "refunded"],
            "summary": ["status", "paid"],
        },
    }
