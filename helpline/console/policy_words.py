"""A procedure's `check:` expression said in plain words, both as the rule ("the order was delivered within the
last 30 days") and as what went wrong when it failed ("the order was delivered more than 30 days ago").

The pack's expressions are Jinja expressions (pack/expressions.py); they are parsed with Jinja's own parser and
the common shapes (comparisons, `in` lists, `days_since`, `length`, `not`, `and`/`or`, a value that must exist)
are worded. Anything else falls back to a neutral sentence; the expression itself stays in the technical detail.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, TemplateSyntaxError, nodes

_PARSER = Environment()

# a comparison and its opposite, worded: (holds, fails)
_COMPARISONS = {
    "eq": ("is {b}", "is not {b}"),
    "ne": ("is not {b}", "is {b}"),
    "lt": ("is less than {b}", "is {b} or more"),
    "lteq": ("is at most {b}", "is more than {b}"),
    "gt": ("is more than {b}", "is {b} or less"),
    "gteq": ("is at least {b}", "is less than {b}"),
    "in": ("is {b}", "is not {b}"),
    "notin": ("is not {b}", "is {b}"),
}
# the same, against today's date
_DAYS = {
    "lt": ("is before today", "is today or later"),
    "lteq": ("is today or earlier", "is after today"),
    "gt": ("is after today", "is today or earlier"),
    "gteq": ("is today or later", "is before today"),
}
_TRANSPARENT_FILTERS = ("int", "float", "date", "lower", "upper", "trim", "string", "first")


@dataclass(frozen=True)
class RuleWords:
    rule: str  # what must hold, e.g. "the order was delivered within the last 30 days"
    broken: str  # what was found instead, e.g. "the order was delivered more than 30 days ago"
    worded: bool = True  # False: a shape this module does not word (the sentences are neutral)


class _Unworded(Exception):
    """A shape this module does not word; the caller falls back to a neutral sentence."""


def rule_words(expression: str) -> RuleWords:
    try:
        template = _PARSER.parse("{{ " + expression + " }}")
        output = template.body[0]
        if not isinstance(output, nodes.Output) or len(output.nodes) != 1:
            raise _Unworded
        node = output.nodes[0]
        return RuleWords(_say(node, holds=True), _say(node, holds=False))
    except (TemplateSyntaxError, _Unworded, IndexError):
        return RuleWords("a condition of this request must hold", "a condition of this request was not met", False)


def _say(node: nodes.Node, holds: bool) -> str:
    if isinstance(node, nodes.Not):
        return _say(node.node, not holds)
    if isinstance(node, nodes.And | nodes.Or):
        joiner = " and " if isinstance(node, nodes.And) == holds else " or "
        return _say(node.left, holds) + joiner + _say(node.right, holds)
    if isinstance(node, nodes.Compare) and len(node.ops) == 1:
        return _compare(node.expr, node.ops[0].op, node.ops[0].expr, holds)
    if isinstance(node, nodes.Getattr):
        owner, what = _owner(node.node), _words(node.attr)
        article = "an" if what[:1] in "aeiou" else "a"
        return f"{owner} has {article} {what}" if holds else f"{owner} has no {what}"
    if isinstance(node, nodes.Name | nodes.Getitem | nodes.Filter):
        thing = _value(node)
        return f"{thing} is known" if holds else f"no {_bare(thing)} was found"
    raise _Unworded


def _compare(left: nodes.Expr, op: str, right: nodes.Expr, holds: bool) -> str:
    number = _const(right)
    # (x.delivered_at | days_since) <= 30: "delivered within the last 30 days" / "more than 30 days ago"
    if isinstance(left, nodes.Filter) and left.node is not None and left.name == "days_since" \
            and isinstance(number, int | float):
        subject, verb = _event(left.node)
        if op in ("lteq", "lt"):
            return (f"{subject} was {verb} within the last {number:g} days" if holds
                    else f"{subject} was {verb} more than {number:g} days ago")
        if op in ("gteq", "gt"):
            return (f"{subject} was {verb} at least {number:g} days ago" if holds
                    else f"{subject} was {verb} less than {number:g} days ago")
    # (xs | length) > 0: "there is at least one x" / "there were no xs"
    if isinstance(left, nodes.Filter) and left.node is not None and left.name == "length" and number == 0 \
            and op in ("gt", "ne"):
        things = _bare(_value(left.node))
        return f"there is at least one of the {things}" if holds else f"there were no {things}"
    held, failed = _COMPARISONS.get(op, ("", ""))
    if not held:
        raise _Unworded
    other = _value(right)
    if other == "today" and op in _DAYS:
        held, failed = _DAYS[op]
    wording = held if holds else failed
    return f"{_value(left)} " + wording.format(b=other)


def _event(node: nodes.Expr) -> tuple[str, str]:
    """`order.delivered_at` -> ("the order", "delivered"); anything else -> (its words, "recorded")."""
    if isinstance(node, nodes.Getattr) and node.attr.endswith(("_at", "_on", "_date")):
        verb = node.attr.rsplit("_", 1)[0].replace("_", " ")
        return _owner(node.node), verb
    return _value(node), "recorded"


def _value(node: nodes.Node) -> str:
    if isinstance(node, nodes.Const):
        return _constant(node.value)
    if isinstance(node, nodes.List | nodes.Tuple):
        items = list(dict.fromkeys(_value(item) for item in node.items))  # ['yes', true] says "yes" once
        return " or ".join(items) if len(items) < 3 else ", ".join(items[:-1]) + " or " + items[-1]
    if isinstance(node, nodes.Name):
        return "now" if node.name == "now" else f"the {_words(node.name)}"
    if isinstance(node, nodes.Getattr):
        owner = node.node
        if isinstance(owner, nodes.Name) and owner.name == "slots":
            return f"the answer to “{_words(node.attr)}”"
        return f"{_possessive(_owner(owner))} {_words(node.attr)}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_possessive(_owner(node.node))} {_words(str(node.arg.value))}"
    if isinstance(node, nodes.Filter):
        inner = node.node
        if inner is None:
            raise _Unworded
        if node.name in _TRANSPARENT_FILTERS:
            return _value(inner)
        if node.name == "length":
            return f"the number of {_bare(_value(inner))}"
        if node.name == "days_since":
            return f"the days since {_value(inner)}"
        raise _Unworded
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        target = node.node.node
        if isinstance(target, nodes.Name) and target.name == "now" and node.node.attr == "strftime":
            return "today"
        raise _Unworded
    if isinstance(node, nodes.Mul):
        factor = _const(node.right)
        if isinstance(factor, float) and 0 < factor < 1:
            return f"{factor * 100:g}% of {_value(node.left)}"
        return f"{_value(node.left)} × {_value(node.right)}"
    if isinstance(node, nodes.Neg):
        return f"minus {_value(node.node)}"
    raise _Unworded


def _owner(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return "the customer" if node.name == "customer" else f"the {_words(node.name)}"
    return _value(node)


def _possessive(owner: str) -> str:
    return owner + ("'" if owner.endswith("s") else "'s")


def _bare(thing: str) -> str:
    return thing.removeprefix("the ")


def _words(name: str) -> str:
    return name.replace("_", " ").strip()


def _const(node: nodes.Node) -> object:
    return node.value if isinstance(node, nodes.Const) else None


def _constant(value: object) -> str:
    if value is True:
        return "“yes”"
    if value is False:
        return "“no”"
    if value is None:
        return "empty"
    if isinstance(value, float):
        return f"{value:g}"
    return f"“{_words(value)}”" if isinstance(value, str) else str(value)
