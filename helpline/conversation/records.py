"""Answering questions about the customer's own records ("how much did I pay for my last order?").

The pack declares its records in ``records.yaml`` (``helpline/pack/records.py``); understanding turns
the customer's words into a :class:`RecordQuery` (``helpline/understanding/record_questions.py``);
this module does the rest, with no I/O except :func:`fetch_records`:

- :func:`fetch_records` lists and fetches the *verified* customer's records through the declared
  operations, dropping anything owned by someone else;
- :func:`answer_record_question` resolves the reference ("most recent", "the one with the tablet",
  "the other one", "that order"), reads the declared attributes and computes counts, sums and refund
  totals — only from the records, never inventing: what the data does not say is reported as
  ``missing``, and an ambiguous reference returns the ``candidates`` rather than a guess;
- :func:`refund_total` is the sum of the prices of the items being returned.

The answer is data (labelled facts and the ids looked at), not a sentence: wording is the engine's.
Fact labels are the pack's own words (the record label, field names, item label), except the three
computed results, labelled :data:`COUNT`, :data:`SUM` and :data:`REFUND` for the wording to phrase.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rapidfuzz import fuzz

from helpline.conversation.ports import OperationGateway
from helpline.pack.expressions import human_date, money
from helpline.pack.records import ItemsSpec, RecordKind, RecordPath, to_decimal

# computed facts
COUNT = "count"
SUM = "sum"
REFUND = "refund_total"

# what `RecordAnswer.missing` holds besides an attribute name (a declared field or an item option)
MISSING_RECORD = "record"  # no record of the customer's fits the reference
MISSING_WHICH = "which"  # several fit: `candidates` lists them, the customer should pick
MISSING_CHRONOLOGY = "chronology"  # "most recent" asked, but the records carry no date or order
MISSING_RETURN_ITEMS = "return_items"  # a refund total without knowing which items go back
MISSING_PRICE = "price"

ITEM_PRICE = "price"  # the item attribute meaning the line's price (not an option)


class Reference(StrEnum):
    FOCUS = "focus"  # unspecified ("what's the status?"): the record in focus, else the only one
    ID = "id"  # named by its id
    MOST_RECENT = "most_recent"
    OLDEST = "oldest"
    CONTAINING = "containing"  # the one whose items match `products` / `options`
    OTHER = "other"  # not the one in focus
    ALL = "all"


class Aggregate(StrEnum):
    NONE = "none"
    SUM = "sum"  # of an amount field over the records, or of item prices
    COUNT = "count"  # of records, or of items
    REFUND_TOTAL = "refund_total"  # what returning items gives back
    LIST = "list"  # the records themselves


@dataclass(frozen=True)
class RecordQuery:
    """A question about the customer's records, as typed data (see record_questions.py)."""

    kind: str  # the record kind in records.yaml ("orders")
    attributes: tuple[str, ...] = ()  # declared field names asked ("tracking number")
    items: bool = False  # the line items themselves are asked ("which t-shirts did I order")
    item_attributes: tuple[str, ...] = ()  # item options asked ("material": see option_keys), or ITEM_PRICE
    reference: Reference = Reference.FOCUS
    record_id: str | None = None  # with Reference.ID
    products: tuple[str, ...] = ()  # item names as the records spell them ("T-Shirt")
    options: tuple[str, ...] = ()  # option values named ("blue", "glass")
    all_items: bool = False  # "everything in it"
    aggregate: Aggregate = Aggregate.NONE
    unknown: str | None = None  # asked for something the declaration does not know ("warranty")

    @property
    def asks_something(self) -> bool:
        """Whether anything beyond "which record" was asked."""
        return bool(self.attributes or self.items or self.item_attributes or self.unknown
                    or self.aggregate is not Aggregate.NONE)


@dataclass(frozen=True)
class Item:
    """One line item, read through the pack's ItemsSpec."""

    name: str
    options: dict[str, str]
    price: Decimal | None  # unit price
    quantity: int
    id: str | None

    @property
    def line_total(self) -> Decimal | None:
        return None if self.price is None else self.price * self.quantity

    def describe(self, first: Sequence[str] = (), currency: str = "$") -> str:
        """'T-Shirt (material: cotton; color: blue, size: M) 2 x $25.00' - asked options first."""
        keys = [k for attribute in first for k in option_keys(self, attribute)]
        asked = [f"{k}: {self.options[k]}" for k in dict.fromkeys(keys)]
        rest = [f"{k}: {v}" for k, v in self.options.items() if k not in keys]
        parts = "; ".join(p for p in (", ".join(asked), ", ".join(rest)) if p)
        text = f"{self.name} ({parts})" if parts else self.name
        if self.price is not None:
            text += f" {self.quantity} x {money(self.price, currency)}" if self.quantity != 1 else \
                f" {money(self.price, currency)}"
        return text


@dataclass
class RecordAnswer:
    text_facts: list[tuple[str, str]] = field(default_factory=list)  # (label, value), in speaking order
    record_ids: list[str] = field(default_factory=list)  # the records read
    found: bool = False  # every asked thing was answered from the data
    missing: str | None = None  # an attribute name, or one of the MISSING_* values
    focus_id: str | None = None  # the record now in focus (for "that order" next time)
    candidates: list[str] = field(default_factory=list)  # with MISSING_WHICH / MISSING_CHRONOLOGY
    chosen_by: Reference = Reference.FOCUS


@dataclass
class Refund:
    amount: Decimal | None  # None when an item has no price in the data
    items: list[Item]
    unmatched: list[str]  # wanted ids/names no (remaining) item of the record matched


@dataclass
class FetchedRecords:
    records: list[dict[str, Any]] = field(default_factory=list)  # in the list operation's order
    dropped: int = 0  # records refused: another owner, or no owner to check
    failed: list[str] = field(default_factory=list)  # ids (or "id:attach key") whose fetch failed
    error: str | None = None  # the list operation itself failed


# --- reading records ---------------------------------------------------------------------------


def record_id(record: Mapping[str, Any], kind: RecordKind) -> str:
    value = record.get(kind.id_field)
    return "" if value is None else str(value)


def normalise_id(value: str) -> str:
    """'#w7678072', 'W-7678072' and 'W7678072' are the same id to a customer."""
    return re.sub(r"[^0-9A-Z]", "", value.upper())


def _options(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items() if v not in (None, "")}
    if isinstance(value, str) and value.strip():
        # "size: 12oz, colour: black"; a part without a colon is an unnamed option
        found: dict[str, str] = {}
        for index, part in enumerate(p.strip() for p in value.split(",")):
            key, colon, val = part.partition(":")
            if colon:
                found[key.strip()] = val.strip()
            elif part:
                found[f"option {index + 1}"] = part
        return found
    return {}


def record_items(record: Mapping[str, Any], spec: ItemsSpec | None) -> list[Item]:
    """The record's line items, in the record's order."""
    if spec is None:
        return []
    rows = RecordPath.parse(spec.path).read(record)
    items = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, Mapping):
            continue
        name = RecordPath.parse(spec.name).read(row)
        price = to_decimal(RecordPath.parse(spec.price).read(row)) if spec.price else None
        quantity = to_decimal(RecordPath.parse(spec.quantity).read(row)) if spec.quantity else None
        item_id = RecordPath.parse(spec.id).read(row) if spec.id else None
        items.append(Item(
            name="" if name is None else str(name),
            options=_options(RecordPath.parse(spec.options).read(row)) if spec.options else {},
            price=price,
            quantity=int(quantity) if quantity is not None and quantity > 0 else 1,
            id=None if item_id is None else str(item_id),
        ))
    return items


def format_value(value: Any, kind: RecordKind, field_name: str | None = None) -> str | None:
    """A field's value as it can be said; None when the data holds nothing there."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, list):
        parts = [format_value(v, kind, field_name) for v in value]
        said = [p for p in parts if p]
        return ", ".join(said) if said else None
    if isinstance(value, Mapping):
        parts = [format_value(v, kind) for v in value.values()]
        said = [p for p in parts if p]
        return ", ".join(said) if said else None
    if field_name in kind.amount_fields and to_decimal(value) is not None:
        return money(value, kind.currency)
    if field_name in kind.date_fields:
        return human_date(value)
    return str(value)


def _chronological(records: Sequence[Mapping[str, Any]], kind: RecordKind) -> list[Mapping[str, Any]] | None:
    """Oldest first, or None when the data cannot tell (no dates and no declared list order)."""
    if kind.date_field:
        dated = [(_moment(r.get(kind.date_field)), i, r) for i, r in enumerate(records)]
        if all(moment is not None for moment, _, _ in dated):
            return [r for _, _, r in sorted(dated, key=lambda t: (t[0], t[1]))]
    if kind.listed == "oldest_first":
        return list(records)
    if kind.listed == "newest_first":
        return list(reversed(records))
    return None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    # naive and aware dates cannot be compared: a naive one is read as UTC, like the pack's `date` filter
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- matching items ----------------------------------------------------------------------------


def _item_score(item: Item, products: Sequence[str], options: Sequence[str]) -> int:
    """0: not it; higher: named and with more of the named options."""
    if products and item.name.casefold() not in {p.casefold() for p in products}:
        return 0
    values = {v.casefold() for v in item.options.values()}
    hits = sum(1 for o in options if o.casefold() in values)
    if not products and not hits:
        return 0
    return 1 + hits


_SPELLING = {"colour": "color", "grey": "gray"}


def _key_words(text: str) -> list[str]:
    return [_SPELLING.get(w, w) for w in re.findall(r"[a-z0-9]+", text.casefold())]


def option_keys(item: Item, attribute: str) -> list[str]:
    """The item's option keys an asked attribute names: the key itself, or keys it is a word of
    ("material" names "material" on a t-shirt and "strap material" on a watch; "colour" names "color")."""
    wanted = _key_words(attribute)
    exact = [k for k in item.options if _key_words(k) == wanted]
    if exact or len(wanted) != 1:
        return exact
    return [k for k in item.options if wanted[0] in _key_words(k)]


def matching_items(items: Sequence[Item], products: Sequence[str], options: Sequence[str]) -> list[Item]:
    """The items the customer's product and option words pick out (all of them when none were named);
    among items of the named product, those with the most named options."""
    if not products and not options:
        return list(items)
    scores = [_item_score(item, products, options) for item in items]
    best = max(scores, default=0)
    return [item for item, score in zip(items, scores, strict=True) if best and score == best]


# --- refunds -----------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.casefold().replace("-", "")) if w not in {"the", "a", "an", "my", "and"}]


def _name_score(wanted: str, item: Item) -> float:
    """The share of the wanted words found in the item's name and options (typos allowed)."""
    want = _words(wanted)
    have = _words(" ".join([item.name, *item.options.values()]))
    if not want:
        return 0.0

    def hit(w: str) -> bool:
        return any(w == h or w.rstrip("s") == h.rstrip("s") or (len(w) > 4 and fuzz.ratio(w, h) >= 88) for h in have)

    return sum(1 for w in want if hit(w)) / len(want)


def refund_total(record: Mapping[str, Any], kind: RecordKind, wanted: Sequence[str]) -> Refund:
    """The sum of the prices of the items being returned: `wanted` holds item ids (as the return
    operation takes them; an id given twice is two lines) or names ("the blue t-shirt": every item
    that fits it best). Each line counts once, and a wanted entry nothing fits is reported, never
    guessed."""
    items = record_items(record, kind.items)
    taken: list[int] = []
    unmatched: list[str] = []
    for entry in wanted:
        text = str(entry).strip()
        by_id = [i for i, item in enumerate(items) if item.id is not None and item.id == text and i not in taken]
        if by_id:
            taken.append(by_id[0])
            continue
        scores = [(_name_score(text, item), i) for i, item in enumerate(items) if i not in taken]
        best = max((s for s, _ in scores), default=0.0)
        if best < 0.5:
            unmatched.append(text)
            continue
        taken.extend(i for s, i in scores if s == best)
    chosen = [items[i] for i in sorted(taken)]
    totals = [item.line_total for item in chosen]
    amount = None if any(t is None for t in totals) else sum((t for t in totals if t is not None), Decimal(0))
    return Refund(amount, chosen, unmatched)


# --- choosing the records ----------------------------------------------------------------------


@dataclass
class _Choice:
    chosen: list[Mapping[str, Any]]
    candidates: list[Mapping[str, Any]] = field(default_factory=list)
    missing: str | None = None


def _single(pool: list[Mapping[str, Any]]) -> _Choice:
    if not pool:
        return _Choice([], missing=MISSING_RECORD)
    if len(pool) == 1:
        return _Choice(pool)
    return _Choice([], candidates=pool, missing=MISSING_WHICH)


def _select(query: RecordQuery, records: list[Mapping[str, Any]], kind: RecordKind, focus_id: str | None) -> _Choice:
    by_id = {normalise_id(record_id(r, kind)): r for r in records}
    focus = by_id.get(normalise_id(focus_id)) if focus_id else None
    named = bool(query.products or query.options)

    def containing(pool: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        if not named:
            return pool
        scores = [max((_item_score(i, query.products, query.options) for i in record_items(r, kind.items)), default=0)
                  for r in pool]
        best = max(scores, default=0)
        return [r for r, s in zip(pool, scores, strict=True) if best and s == best]

    ref = query.reference
    if ref is Reference.ID:
        found = by_id.get(normalise_id(query.record_id or ""))
        # an id that is not among the customer's records is "not found", whoever it belongs to
        return _Choice([found]) if found is not None else _Choice([], missing=MISSING_RECORD)
    if ref is Reference.ALL:
        pool = containing(records)
        return _Choice(pool) if pool or not named else _Choice([], missing=MISSING_RECORD)
    if ref is Reference.OTHER:
        return _single(containing([r for r in records if r is not focus]))
    if ref in (Reference.MOST_RECENT, Reference.OLDEST):
        pool = containing(records)
        if len(pool) <= 1:
            return _single(pool)
        ordered = _chronological(pool, kind)
        if ordered is None:
            return _Choice([], candidates=pool, missing=MISSING_CHRONOLOGY)
        return _Choice([ordered[-1] if ref is Reference.MOST_RECENT else ordered[0]])
    # FOCUS or CONTAINING: the product named wins over the focus when they disagree
    if named:
        pool = containing(records)
        return _Choice([focus]) if focus is not None and any(r is focus for r in pool) else _single(pool)
    return _Choice([focus]) if focus is not None else _single(records)


# --- answering ---------------------------------------------------------------------------------


def _owned(records: Sequence[Mapping[str, Any]], kind: RecordKind, owner: str | None) -> list[Mapping[str, Any]]:
    if owner is None:
        return [r for r in records if isinstance(r, Mapping)]
    return [r for r in records if isinstance(r, Mapping) and str(r.get(kind.owner_field)) == str(owner)]


def describe_record(record: Mapping[str, Any], kind: RecordKind) -> str:
    """'#W1 (Tablet, T-Shirt; delivered, $514.48)': what is in it tells records apart best."""
    names = list(dict.fromkeys(i.name for i in record_items(record, kind.items) if i.name))
    said = [format_value(kind.fields[name].parsed.read(record), kind, name) for name in kind.summary]
    parts = [p for p in (", ".join(names), *said) if p]
    rid = record_id(record, kind)
    return f"{rid} ({'; '.join(parts)})" if parts else rid


def answer_record_question(
    query: RecordQuery,
    records: Sequence[Mapping[str, Any]],
    declaration: RecordKind,
    focus_id: str | None = None,
    *,
    owner: str | None = None,
    returning: Sequence[str] | None = None,
) -> RecordAnswer:
    """Answer `query` from `records` (as fetch_records gives them, in the list operation's order).

    `owner`: the verified customer id; when given, records of anyone else are ignored (a second
    guard behind fetch_records). `returning`: item ids or names being returned, for a refund total
    asked during a return (otherwise the items the question names, or all with `all_items`).
    """
    kind = declaration
    pool = _owned(records, kind, owner)
    choice = _select(query, pool, kind, focus_id)
    answer = RecordAnswer(focus_id=focus_id, chosen_by=query.reference)
    if choice.missing is not None:
        answer.missing = choice.missing
        answer.candidates = [record_id(r, kind) for r in choice.candidates]
        return answer
    chosen = choice.chosen
    answer.record_ids = [record_id(r, kind) for r in chosen]
    if len(chosen) == 1:
        answer.focus_id = answer.record_ids[0]
    facts = answer.text_facts
    missing: list[str] = []

    if query.aggregate is Aggregate.COUNT:
        if query.items or query.products or query.options:
            counted = [i for r in chosen for i in matching_items(record_items(r, kind.items), query.products,
                                                                   query.options)]
            facts.extend((kind.items.label if kind.items else "item", i.describe(currency=kind.currency))
                         for i in counted)
            facts.append((COUNT, str(sum(i.quantity for i in counted))))
        else:
            facts.extend((kind.label, describe_record(r, kind)) for r in chosen)
            facts.append((COUNT, str(len(chosen))))
    elif query.aggregate is Aggregate.SUM:
        _sum(query, chosen, kind, facts, missing)
    elif query.aggregate is Aggregate.REFUND_TOTAL:
        _refund(query, chosen, kind, returning, facts, missing, answer)
    elif query.aggregate is Aggregate.LIST or not query.asks_something:
        if not chosen:
            missing.append(MISSING_RECORD)
        facts.extend((kind.label, describe_record(r, kind)) for r in chosen)
    else:
        if not chosen:
            missing.append(MISSING_RECORD)
        if query.unknown:
            # nothing in the records is declared under that name: say which record was looked at, and
            # that it does not show this (rather than reciting what it does show)
            missing.append(query.unknown)
        for record in chosen:
            _read(query, record, kind, facts, missing)

    answer.missing = missing[0] if missing else None
    answer.found = not missing
    return answer


def _read(query: RecordQuery, record: Mapping[str, Any], kind: RecordKind, facts: list[tuple[str, str]],
          missing: list[str]) -> None:
    facts.append((kind.label, record_id(record, kind)))
    for name in query.attributes:
        spec = kind.fields.get(name)
        said = format_value(spec.parsed.read(record), kind, name) if spec else None
        if said is None:
            missing.append(name)
        else:
            facts.append((name, said))
    if not (query.items or query.item_attributes):
        return
    items = record_items(record, kind.items)
    shown = items if query.all_items else matching_items(items, query.products, query.options)
    if not shown:
        missing.append(kind.items.plural_label if kind.items else "items")
    for item in shown:
        facts.append((kind.items.label if kind.items else "item", item.describe(query.item_attributes, kind.currency)))
        for attribute in query.item_attributes:
            lacking = item.price is None if attribute == ITEM_PRICE else not option_keys(item, attribute)
            if lacking and attribute not in missing:
                missing.append(attribute)


def _sum(query: RecordQuery, chosen: list[Mapping[str, Any]], kind: RecordKind, facts: list[tuple[str, str]],
         missing: list[str]) -> None:
    if query.items or query.products or query.options or ITEM_PRICE in query.item_attributes:
        items = [i for r in chosen for i in matching_items(record_items(r, kind.items), query.products, query.options)]
        facts.extend((kind.items.label if kind.items else "item", i.describe(currency=kind.currency)) for i in items)
        totals = [i.line_total for i in items]
        if not items or any(t is None for t in totals):
            missing.append(MISSING_PRICE)
            return
        facts.append((SUM, money(sum((t for t in totals if t is not None), Decimal(0)), kind.currency)))
        return
    name = next((a for a in query.attributes if a in kind.amount_fields), kind.amount_fields[0] if kind.amount_fields
                else None)
    if name is None:
        missing.append(MISSING_PRICE)
        return
    total = Decimal(0)
    for record in chosen:
        amount = to_decimal(kind.fields[name].parsed.read(record))
        if amount is None:
            # one record without the amount makes the sum unknown: say so rather than under-count
            missing.append(name)
            return
        facts.append((kind.label, f"{record_id(record, kind)}: {money(amount, kind.currency)}"))
        total += amount
    facts.append((SUM, money(total, kind.currency)))


def _refund(query: RecordQuery, chosen: list[Mapping[str, Any]], kind: RecordKind, returning: Sequence[str] | None,
            facts: list[tuple[str, str]], missing: list[str], answer: RecordAnswer) -> None:
    if len(chosen) != 1:
        # a refund is computed on one record: several fit, so ask which
        missing.append(MISSING_WHICH if chosen else MISSING_RECORD)
        answer.candidates = [record_id(r, kind) for r in chosen]
        return
    record = chosen[0]
    facts.append((kind.label, record_id(record, kind)))
    items = record_items(record, kind.items)
    if returning:
        wanted = list(returning)
    elif query.products or query.options:
        wanted = [i.id if i.id is not None else i.name
                  for i in matching_items(items, query.products, query.options)]
    elif query.all_items:
        wanted = [i.id if i.id is not None else i.name for i in items]
    else:
        missing.append(MISSING_RETURN_ITEMS)
        return
    refund = refund_total(record, kind, wanted)
    facts.extend((kind.items.label if kind.items else "item", i.describe(currency=kind.currency))
                 for i in refund.items)
    if refund.unmatched:
        missing.append(refund.unmatched[0])
    elif refund.amount is None or not refund.items:
        missing.append(MISSING_PRICE)
    else:
        facts.append((REFUND, money(refund.amount, kind.currency)))


# --- fetching ----------------------------------------------------------------------------------


def _owner_matches(row: Mapping[str, Any], kind: RecordKind, customer_id: str) -> bool:
    # a record without its owner field is refused too: if we cannot tell whose it is, it is not shown
    owner = row.get(kind.owner_field)
    return owner is not None and str(owner) == str(customer_id)


def fetch_records(gateway: OperationGateway, kind: RecordKind, customer_id: str) -> FetchedRecords:
    """List the verified customer's records, fetch each in full (`get`, `attach`), keep only theirs.

    Called only with the *verified* customer id (the engine's state.customer_id): the list
    operation is asked for that customer's records, and every record whose owner field differs is
    dropped whatever the operation returned, so a wrong join or a shared id never leaks a record.
    """
    fetched = FetchedRecords()
    listed = gateway.call(kind.list_operation, {kind.customer_arg: customer_id})
    if not listed.ok:
        fetched.error = listed.error or f"{kind.list_operation} failed"
        return fetched
    data = listed.data
    if kind.list_path is not None:
        data = RecordPath.parse(kind.list_path).read(data)
    rows = data if isinstance(data, list) else [data] if isinstance(data, Mapping) else []
    # keep the newest when there are more than max_records
    rows = rows[-kind.max_records:] if kind.listed == "oldest_first" else rows[:kind.max_records]

    seen: set[str] = set()
    for row in rows:
        if isinstance(row, Mapping):
            rid = record_id(row, kind)
            if not _owner_matches(row, kind, customer_id):
                fetched.dropped += 1
                continue
            record: dict[str, Any] | None = dict(row)
        elif isinstance(row, str | int):
            rid, record = str(row), None  # a bare id: only `get` can tell what it is
        else:
            continue
        if not rid or rid in seen:
            continue
        seen.add(rid)
        if kind.get:
            got = gateway.call(kind.get, {kind.id_argument: rid})
            if not got.ok or not isinstance(got.data, Mapping):
                fetched.failed.append(rid)
                continue
            record = {**(record or {}), **got.data}
        if record is None or not _owner_matches(record, kind, customer_id):
            fetched.dropped += 1
            continue
        for key, operation in kind.attach.items():
            extra = gateway.call(operation, {kind.id_argument: rid})
            if not extra.ok:
                fetched.failed.append(f"{rid}:{key}")
                continue
            value = extra.data
            if isinstance(value, list):
                # rows that name an owner must name this one (rows without one belong to the record)
                value = [v for v in value if not (isinstance(v, Mapping) and kind.owner_field in v
                                                  and str(v[kind.owner_field]) != str(customer_id))]
            elif isinstance(value, Mapping) and kind.owner_field in value \
                    and str(value[kind.owner_field]) != str(customer_id):
                fetched.failed.append(f"{rid}:{key}")
                continue
            record[key] = value
        fetched.records.append(record)
    return fetched
