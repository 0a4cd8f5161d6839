"""The expression and template language of packs: sandboxed Jinja with a few business filters.

Packs are data written by a business, not trusted code, so everything runs in Jinja's sandbox:
no attribute access to Python internals, no imports, no file access.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, Undefined, UndefinedError, nodes, pass_context
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment


class ExpressionError(Exception):
    """A pack expression or template failed to evaluate."""


class ExpressionSyntaxError(ExpressionError):
    """An expression or template that cannot be read; `line` is the line inside the source (1 = its first)."""

    def __init__(self, message: str, line: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def money(value: Any, currency: str = "$") -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{currency}{amount:,.2f}"


def days_since(value: Any, now: datetime | None = None) -> float:
    """Whole days between a date/datetime (or ISO string) and now; a very large number if unknown."""
    moment = _as_datetime(value)
    if moment is None:
        return float("inf")
    reference = now or datetime.now(UTC)
    return float((reference - moment).days)


def human_date(value: Any) -> str:
    moment = _as_datetime(value)
    if moment is None:
        return str(value)
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def spell(value: Any) -> str:
    """Read an id character by character: 'BB-10001' -> 'B B dash 1 0 0 0 1'."""
    names = {"-": "dash", "@": "at", ".": "dot", "_": "underscore", " ": ""}
    return " ".join(names.get(ch, ch) for ch in str(value) if names.get(ch, ch))


MASK = "\u2022\u2022\u2022"  # •••


def mask(value: Any, kind: str = "auto") -> str:
    """Enough of an email, phone or address to recognise, too little to learn it (read out before the
    customer has proved who they are): 'j•••@example.com', '•••• 1234', '217 C… Rd, Round Rock'."""
    if value is None or isinstance(value, Undefined):
        return ""
    text = str(value).strip()
    if not text:
        return ""
    digits = re.sub(r"\D", "", text)
    if kind == "email" or (kind == "auto" and "@" in text):
        local, _, domain = text.rpartition("@")
        return f"{local[:1]}{MASK}@{domain}" if local else f"{MASK}@{domain}"
    if kind == "phone" or (kind == "auto" and len(digits) >= 7 and re.fullmatch(r"[\d\s+().\-]+", text)):
        return f"\u2022\u2022\u2022\u2022 {digits[-4:]}" if len(digits) >= 4 else MASK
    # an address: the house number and street type stay, the street name shrinks to its initial; of a
    # full "street, city, state ZIP" only the street and the city are kept
    parts = [p.strip() for p in text.split(",") if p.strip()]
    words = parts[0].split()
    shown: list[str] = []
    for index, word in enumerate(words):
        keep = (index == 0 and any(ch.isdigit() for ch in word)) or (index == len(words) - 1 and index > 0)
        shown.append(word if keep else f"{word[:1]}\u2026")
    street = " ".join(shown)
    return ", ".join([street, *parts[1:2]])


def fromjson(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


@pass_context
def _days_since_in_context(context: Context, value: Any) -> float:
    # the conversation's clock (``now``) rather than the wall clock, so tests and replays agree
    now = context.get("now")
    return days_since(value, now if isinstance(now, datetime) else None)


class _Environment(ImmutableSandboxedEnvironment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        # Pack data is JSON: `order.items` means the order's "items" field, not dict.items().
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


@lru_cache(maxsize=1)
def environment() -> _Environment:
    # A missing field reads as empty (falsy), so `customer.first_name or customer.name` works on any record.
    env = _Environment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters.update(
        money=money,
        days_since=_days_since_in_context,
        date=human_date,
        spell=spell,
        mask=mask,
        fromjson=fromjson,
        tojson=lambda v: json.dumps(v, default=str),
        lower=lambda v: str(v).lower(),
    )
    env.globals.update(money=money)
    return env


@lru_cache(maxsize=2048)
def _compiled_expression(source: str) -> Any:
    try:
        return environment().compile_expression(source, undefined_to_none=False)
    except Exception as exc:
        raise ExpressionError(f"bad expression '{source}': {exc}") from exc


@lru_cache(maxsize=2048)
def _compiled_template(source: str) -> Any:
    try:
        return environment().from_string(source)
    except Exception as exc:
        raise ExpressionError(f"bad template '{source}': {exc}") from exc


def evaluate(source: str, names: Mapping[str, Any]) -> Any:
    """Evaluate an expression; a name that is not set evaluates to None rather than failing."""
    try:
        result = _compiled_expression(source)(**names)
    except UndefinedError:
        return None
    except Exception as exc:
        raise ExpressionError(f"cannot evaluate '{source}': {exc}") from exc
    return None if isinstance(result, Undefined) else result


def _syntax_error(exc: TemplateSyntaxError, what: str) -> ExpressionSyntaxError:
    # Jinja says "unexpected 'end of template'" for `slots.topic ==`: a business owner reads "incomplete"
    detail = exc.message or str(exc)
    if "end of template" in detail:
        return ExpressionSyntaxError(f"{what} is incomplete", exc.lineno or 1)
    return ExpressionSyntaxError(f"{what} is not valid: {detail.strip()}", exc.lineno or 1)


@lru_cache(maxsize=4096)
def parse_expression(source: str) -> nodes.Expr:
    """The syntax tree of an expression (for the validator); ExpressionSyntaxError when it cannot be read."""
    if not source.strip():
        raise ExpressionSyntaxError("expression is empty")
    parser = Parser(environment(), source, state="variable")
    try:
        tree = parser.parse_expression()
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc, "expression") from exc
    if not parser.stream.eos:
        token = parser.stream.current
        raise ExpressionSyntaxError(f"expression is not valid: unexpected '{token.value}' (one expression, "
                                    "joined with and / or)", token.lineno)
    return tree


@lru_cache(maxsize=4096)
def parse_template(source: str) -> nodes.Template:
    """The syntax tree of a text template (for the validator); ExpressionSyntaxError when it cannot be read."""
    try:
        return environment().parse(source)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc, "template") from exc


def render(source: str, names: Mapping[str, Any]) -> str:
    if "{{" not in source and "{%" not in source:
        return source
    try:
        return str(_compiled_template(source).render(**names)).strip()
    except Exception as exc:
        raise ExpressionError(f"cannot render '{source}': {exc}") from exc


def json_data(value: Any) -> Any:
    """A value as JSON data (it goes into the conversation's JSON state, events and the audit log): a decimal as a
    number, a date or time as ISO text, anything else unknown as its text; lists and mappings all the way down."""
    if isinstance(value, Mapping):
        return {str(k): json_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_data(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def render_value(value: Any, names: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON-like value; a string that is one expression keeps its type."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
            return evaluate(stripped[2:-2].strip(), names)
        return render(value, names)
    if isinstance(value, Mapping):
        return {k: render_value(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, names) for v in value]
    return value
