"""Record declarations (``records.yaml``): which of the business's data is "the customer's own records".

A customer asks "what's the tracking number for my tablet order?" without an order number. To
answer, Helpline must know which operations list and fetch that customer's records, what each
attribute is called in customer words and where it sits in an operation's result. That mapping is
business data, so it lives in the pack, in its own file::

    orders:                               # the record kind
      label: order                        # what a customer calls one (plural: orders)
      list: list_customer_orders          # called with {customer_arg: <verified customer id>}
      customer_arg: customer_id
      list_path: orders                   # optional: where the list sits in that result
      get: get_order                      # optional: fetch each listed record by its id
      id_arg: order_id                    #   ... passing its id under this argument name
      id_field: id                        # the record's id in the results
      owner_field: customer_id            # records owned by anyone else are dropped
      date_field: placed_at               # chronology for "my most recent order" ...
      listed: newest_first                # ... or the order the list operation gives them in
      attach: {items: get_order_items}    # optional: more operations called with the id
      items: {path: items, name: product, options: option_summary, price: unit_price}
      fields:                             # customer words -> path into the record
        tracking number: {path: tracking_number, synonyms: [tracking, tracking code]}
        status: status
        total: total
      amount_fields: [total]              # money (the first one is "how much" for the record)
      date_fields: []                     # read out as dates
      summary: [status, total]            # said beside each record's id in a list

Why a separate file rather than a section of operations.yaml: operations.yaml says how to *reach*
the system of record, this file says what its data *means* to a customer (and in whose words); it
is optional, is validated (with file and line) on its own, and a generated pack can write it
without touching the operations it already writes.

Paths are a deliberately tiny language, not Jinja: a business writes ``fulfillments[].tracking_id``
and the same path is read the same way everywhere, with no code in it.

- ``a.b`` reads a field of a field; ``a[]`` takes every element of a list;
  ``a[type=payment]`` only the elements whose ``type`` is ``payment``;
- ``| sum``, ``| count``, ``| first``, ``| last``, ``| unique`` after the path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, RootModel, field_validator, model_validator

PIPES = ("sum", "count", "first", "last", "unique")
_SEGMENT = re.compile(r"^(?P<name>[^.\[\]|]+?)\s*(?:\[(?P<select>[^\]]*)\])?$")


class PathError(ValueError):
    """A record path that cannot be read (reported by the pack validator)."""


@dataclass(frozen=True)
class _Segment:
    name: str
    spread: bool  # `[]` or `[k=v]`: the field is a list and every (matching) element goes on
    where: tuple[str, str] | None  # `[k=v]`


@dataclass(frozen=True)
class RecordPath:
    """A parsed path such as ``payment_history[transaction_type=payment].amount | sum``."""

    text: str
    segments: tuple[_Segment, ...]
    pipes: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> RecordPath:
        body, *pipes = [part.strip() for part in text.split("|")]
        if not body:
            raise PathError(f"'{text}' has no path before its first '|'")
        unknown = [p for p in pipes if p not in PIPES]
        if unknown:
            raise PathError(f"'{text}': unknown '| {unknown[0]}' (use {', '.join(PIPES)})")
        segments = []
        # split on dots outside brackets, so `[status=in.transit]` keeps its dot
        for raw in re.split(r"\.(?![^\[]*\])", body):
            match = _SEGMENT.match(raw.strip())
            if not match:
                raise PathError(f"'{text}': cannot read '{raw}' (write a.b, a[] or a[key=value])")
            select = match.group("select")
            where = None
            if select:
                key, eq, value = select.partition("=")
                if not eq or not key.strip():
                    raise PathError(f"'{text}': '[{select}]' should be [] or [key=value]")
                where = (key.strip(), value.strip())
            segments.append(_Segment(match.group("name").strip(), select is not None, where))
        return cls(text, tuple(segments), tuple(pipes))

    @property
    def many(self) -> bool:
        """Whether the path reads a list of values rather than one."""
        return any(s.spread for s in self.segments)

    def read(self, record: Any) -> Any:
        """The value at this path, or None when the record does not have it (never invented)."""
        values: list[Any] = [record]
        for segment in self.segments:
            found: list[Any] = []
            for value in values:
                if not isinstance(value, Mapping) or segment.name not in value:
                    continue
                inner = value[segment.name]
                if not segment.spread:
                    found.append(inner)
                    continue
                elements = inner if isinstance(inner, list) else [inner] if inner is not None else []
                for element in elements:
                    if segment.where is None or (
                        isinstance(element, Mapping) and str(element.get(segment.where[0])) == segment.where[1]
                    ):
                        found.append(element)
            if not found and not segment.spread:
                return None  # the field itself is absent: unknown, not empty
            values = found
        result: Any = values if self.many else (values[0] if values else None)
        for pipe in self.pipes:
            result = _pipe(pipe, result)
        return result


def _pipe(name: str, value: Any) -> Any:
    items = value if isinstance(value, list) else [] if value is None else [value]
    if name == "count":
        return len(items)
    if name == "first":
        return items[0] if items else None
    if name == "last":
        return items[-1] if items else None
    if name == "unique":
        seen: list[Any] = []
        for item in items:
            if item not in seen:
                seen.append(item)
        return seen
    # sum: exact decimal arithmetic, so 0.1 + 0.2 says $0.30; non-numbers make it unknown
    total = Decimal(0)
    for item in items:
        amount = to_decimal(item)
        if amount is None:
            return None
        total += amount
    return total


def to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldSpec(_Strict):
    """One attribute: where it sits in the record, and other words customers use for it."""

    path: str
    synonyms: list[str] = Field(default_factory=list)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        RecordPath.parse(value)
        return value

    @property
    def parsed(self) -> RecordPath:
        return RecordPath.parse(self.path)


class ItemsSpec(_Strict):
    """Where a record's line items are, and which of their fields are the name, options and price."""

    path: str = "items"
    name: str = "name"
    options: str | None = "options"  # a mapping {colour: black}, or text "colour: black, size: M"
    price: str | None = "price"  # the line's unit price
    quantity: str | None = None  # absent: every line is one unit
    id: str | None = None  # the item id operations take (e.g. for a return)
    label: str = "item"
    plural: str | None = None
    synonyms: list[str] = Field(default_factory=list)

    @field_validator("path", "name", "options", "price", "quantity", "id")
    @classmethod
    def _paths(cls, value: str | None) -> str | None:
        if value is not None:
            RecordPath.parse(value)
        return value

    @property
    def plural_label(self) -> str:
        return self.plural or f"{self.label}s"


class RecordKind(_Strict):
    """One kind of customer record (orders, bookings, tickets ...)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    label: str
    plural: str | None = None
    # operation listing the customer's records (the YAML key is `list`; renamed so it does not shadow the type)
    list_operation: str = Field(alias="list")
    customer_arg: str = "customer_id"
    list_path: str | None = None  # where the list is in the list operation's result
    get: str | None = None  # operation fetching one record in full
    id_field: str = "id"
    id_arg: str | None = None  # argument name of `get` and `attach` operations (default: id_field)
    owner_field: str  # required: a record whose owner differs from the verified customer is dropped
    date_field: str | None = None
    listed: Literal["newest_first", "oldest_first"] | None = None
    attach: dict[str, str] = Field(default_factory=dict)
    items: ItemsSpec | None = None
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    amount_fields: list[str] = Field(default_factory=list)
    date_fields: list[str] = Field(default_factory=list)
    # personal data (an address, a phone, an email) read out only masked ("217 C… Rd") until the customer
    # has reached assurance 2 (docs/security.md, step-up verification)
    masked_fields: list[str] = Field(default_factory=list)
    summary: list[str] = Field(default_factory=list)
    currency: str = "$"
    # operations that return items, with the argument naming them ({create_return: sku}): "how much will
    # I get back?" adds up the items returned this way in the conversation
    returns: dict[str, str] = Field(default_factory=dict)
    max_records: int = Field(default=20, ge=1, le=200)  # bounds the operations one question may cost

    _name: str = PrivateAttr(default="")

    @field_validator("fields", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `status: status` is short for `status: {path: status}`
        if isinstance(value, Mapping):
            return {k: {"path": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _names_exist(self) -> RecordKind:
        for group in ("amount_fields", "date_fields", "masked_fields", "summary"):
            for name in getattr(self, group):
                if name not in self.fields:
                    raise ValueError(f"{group}: '{name}' is not one of the fields {sorted(self.fields)}")
        if self.list_path is not None:
            RecordPath.parse(self.list_path)
        return self

    @property
    def name(self) -> str:
        """The kind's key in records.yaml ("orders")."""
        return self._name

    @property
    def plural_label(self) -> str:
        return self.plural or f"{self.label}s"

    @property
    def id_argument(self) -> str:
        return self.id_arg or self.id_field

    def operations(self) -> list[str]:
        """Every operation this kind calls (for the validator's cross-check)."""
        return [self.list_operation, *([self.get] if self.get else []), *self.attach.values()]


class RecordsDeclaration(RootModel[dict[str, RecordKind]]):
    """The whole ``records.yaml``: record kind name -> declaration."""

    @model_validator(mode="after")
    def _name_kinds(self) -> RecordsDeclaration:
        for name, kind in self.root.items():
            kind._name = name
        return self

    @property
    def kinds(self) -> dict[str, RecordKind]:
        return self.root

    def check_operations(self, operations: Sequence[str]) -> list[tuple[list[str | int], str]]:
        """(location, message) for each declared operation that operations.yaml does not define."""
        known = set(operations)
        problems: list[tuple[list[str | int], str]] = []
        for name, kind in self.root.items():
            for key, op in (("list", kind.list_operation), ("get", kind.get)):
                if op is not None and op not in known:
                    problems.append(([name, key], f"{name}.{key}: operation '{op}' is not defined in operations.yaml"))
            for key, op in kind.attach.items():
                if op not in known:
                    problems.append(([name, "attach", key],
                                     f"{name}.attach.{key}: operation '{op}' is not defined in operations.yaml"))
        return problems
