"""What the JSON Schema cannot see: every expression and template of a pack parsed, and every name it uses
known — slots, saved results, operations and their parameters, filters, record fields, jump labels, tiers.

Each problem is an `Issue` located by its path in the file (the loader turns that into a line), so a pack
with ten mistakes gets ten messages, each with a suggestion when a known name is close
("unknown filter 'upcase' (did you mean 'upper'?)").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import nodes
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from helpline.pack.expressions import ExpressionSyntaxError, environment, parse_expression, parse_template
from helpline.pack.models import BUILTIN_SLOT_TYPES, BusinessConfig, OperationsFile, Procedure, Step
from helpline.pack.result_fields import ResultShape, bind_parameters, result_shape, table_columns

Loc = tuple[str | int, ...]

# Names every procedure expression and template may use (conversation/base.py `_names`), besides its slots
# and saved results.
ENGINE_NAMES = frozenset({"business", "persona", "customer", "now", "ticket_number", "incident", "slots",
                          "labels"})
# After a call fails: its message, under `error` and as the saved result's `error` field (steps.py `_call`).
CALL_ERROR = "error"
# An HTTP operation's url, headers and body see its arguments (also by name) and the environment; its
# `response` and `error_when` see the answer (connectors/http.py).
HTTP_REQUEST_NAMES = frozenset({"args", "env"})
HTTP_RESPONSE_NAMES = frozenset({"body", "status", "args"})
# Names Jinja defines inside a template (loop variables and the like), never undefined.
TEMPLATE_NAMES = frozenset({"loop", "super", "caller", "varargs", "kwargs", "self"})
# A catalogue operation's rows are products: one of these columns names each (runtime.catalogue_products).
CATALOGUE_NAME_COLUMNS = ("name", "product")
JUMP_FIELDS = ("else_goto", "on_no", "on_failure", "goto", "otherwise")
STEP_TEMPLATES = ("say", "prompt", "confirm", "else_say", "escalate", "callback", "resolution")
SUGGESTION_SCORE = 0.75  # Jaro-Winkler similarity: "upcase" -> "upper", "mony" -> "money"


@dataclass(frozen=True)
class Issue:
    file: str
    loc: Loc  # where in the file (keys and indexes), turned into a line by the loader
    message: str
    line: int = 1  # the line inside a multi-line template (1: the field's own line)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """" (did you mean 'x'?)" for the closest known name, or ""."""
    match = process.extractOne(name, list(known), scorer=JaroWinkler.normalized_similarity,
                               score_cutoff=SUGGESTION_SCORE)
    return f" (did you mean '{match[0]}'?)" if match else ""


@dataclass(frozen=True)
class Scope:
    """What an expression may name. `names` None: any (the engine's facts vary, e.g. reply templates);
    `slots` None: any slot; `fields`: the known fields of a name's record (absent: not checked)."""

    names: frozenset[str] | None
    slots: frozenset[str] | None = None
    fields: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class _Usage:
    """The names one source uses, each with its line inside the source."""

    names: list[tuple[str, int]] = field(default_factory=list)
    filters: list[tuple[str, int]] = field(default_factory=list)
    tests: list[tuple[str, int]] = field(default_factory=list)
    attributes: list[tuple[str, str, int]] = field(default_factory=list)  # (record, field, line), not method calls


def _usage(tree: nodes.Node) -> _Usage:
    usage = _Usage()
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")} | TEMPLATE_NAMES
    called = {id(call.node) for call in tree.find_all(nodes.Call)}
    seen: set[str] = set()
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in local and name.name not in seen:
            seen.add(name.name)
            usage.names.append((name.name, name.lineno))
    usage.filters = [(f.name, f.lineno) for f in tree.find_all(nodes.Filter)]
    usage.tests = [(t.name, t.lineno) for t in tree.find_all(nodes.Test)]
    for access in tree.find_all((nodes.Getattr, nodes.Getitem)):
        owner = getattr(access, "node", None)
        if not isinstance(owner, nodes.Name) or owner.name in local or id(access) in called:
            continue
        if isinstance(access, nodes.Getattr):
            usage.attributes.append((owner.name, access.attr, access.lineno))
        elif isinstance(access, nodes.Getitem) and isinstance(access.arg, nodes.Const) \
                and isinstance(access.arg.value, str):
            usage.attributes.append((owner.name, access.arg.value, access.lineno))
    return usage


class SourceChecker:
    """Parses expressions and templates of one file and checks the names they use."""

    def __init__(self, file: str, issues: list[Issue]):
        self.file = file
        self.issues = issues
        env = environment()
        self.filters = frozenset(env.filters)
        self.tests = frozenset(env.tests)
        self.functions = frozenset(env.globals)

    def add(self, loc: Loc, message: str, line: int = 1) -> None:
        self.issues.append(Issue(self.file, loc, message.removeprefix(": "), line))

    def expression(self, loc: Loc, label: str, source: Any, scope: Scope) -> None:
        if not isinstance(source, str):
            return
        try:
            tree: nodes.Node = parse_expression(source)
        except ExpressionSyntaxError as exc:
            self.add(loc, f"{label}: {exc.message}", exc.line)
            return
        self._names(loc, label, tree, scope)

    def template(self, loc: Loc, label: str, source: Any, scope: Scope) -> None:
        if not isinstance(source, str) or ("{{" not in source and "{%" not in source and "{#" not in source):
            return  # plain text (or a replies key) has nothing to parse
        try:
            tree: nodes.Node = parse_template(source)
        except ExpressionSyntaxError as exc:
            self.add(loc, f"{label}: {exc.message}", exc.line)
            return
        self._names(loc, label, tree, scope)

    def value(self, loc: Loc, label: str, value: Any, scope: Scope) -> None:
        """A JSON-like value whose strings are templates (operation args, an HTTP body)."""
        if isinstance(value, Mapping):
            for key, inner in value.items():
                self.value((*loc, key), f"{label}.{key}", inner, scope)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                self.value((*loc, index), f"{label}[{index}]", inner, scope)
        else:
            self.template(loc, label, value, scope)

    def _names(self, loc: Loc, label: str, tree: nodes.Node, scope: Scope) -> None:
        usage = _usage(tree)
        for name, line in usage.filters:
            if name not in self.filters:
                self.add(loc, f"{label}: unknown filter '{name}'{did_you_mean(name, self.filters)}", line)
        for name, line in usage.tests:
            if name not in self.tests:
                self.add(loc, f"{label}: unknown test 'is {name}'{did_you_mean(name, self.tests)}", line)
        if scope.names is not None:
            known = scope.names | self.functions
            for name, line in usage.names:
                if name not in known:
                    self.add(loc, f"{label}: unknown name '{name}'{did_you_mean(name, known)}", line)
        for owner, attribute, line in usage.attributes:
            if owner in ("slots", "labels") and scope.slots is not None:
                if attribute not in scope.slots:
                    self.add(loc, f"{label}: unknown slot '{attribute}'{did_you_mean(attribute, scope.slots)}",
                             line)
            elif owner in scope.fields and attribute not in scope.fields[owner]:
                self.add(loc, f"{label}: '{owner}' has no field '{attribute}'"
                              f"{did_you_mean(attribute, scope.fields[owner])}", line)


@dataclass
class PackParts:
    """What loaded of a pack (a part that did not validate is None or left out: the rest is still checked)."""

    root: Path
    business: BusinessConfig | None
    operations: OperationsFile | None
    procedures: list[tuple[str, Procedure]]  # (file, procedure)
    replies: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # file -> key -> variants
    email_templates: dict[str, str] = field(default_factory=dict)  # file -> source


def check_pack(parts: PackParts) -> list[Issue]:
    issues: list[Issue] = []
    shapes = _shapes(parts)
    customer_fields = _customer_fields(parts, shapes)
    for file, procedure in parts.procedures:
        ProcedureChecks(parts, procedure, SourceChecker(file, issues), shapes, customer_fields).run()
    if parts.operations is not None:
        _check_operations(parts, SourceChecker("operations.yaml", issues))
    if parts.business is not None:
        _check_business(parts, SourceChecker("business.yaml", issues), shapes)
    for file, replies in parts.replies.items():
        checker = SourceChecker(file, issues)
        for key, variants in replies.items():
            for index, variant in enumerate(variants):
                checker.template((key, index), key, variant, Scope(names=None))
    for file, source in parts.email_templates.items():
        SourceChecker(file, issues).template((), "", source, Scope(names=None))
    return issues


def _shapes(parts: PackParts) -> dict[str, ResultShape]:
    if parts.operations is None:
        return {}
    columns = {name: table_columns(parts.root, table) for name, table in parts.operations.tables.items()}
    return {name: result_shape(op, columns) for name, op in parts.operations.operations.items()}


def _customer_fields(parts: PackParts, shapes: Mapping[str, ResultShape]) -> frozenset[str] | None:
    """The verified customer's fields, when every lookup (and the profile operation) says what it returns."""
    if parts.business is None or not shapes:
        return None
    verification = parts.business.verification
    names = {verification.operation_for(m) for m in verification.methods}
    names |= {verification.profile_operation} if verification.profile_operation else set()
    fields: set[str] = {"id"}
    for name in names:
        shape = shapes.get(name)
        if shape is None or shape.fields is None or shape.returns != "one":
            return None
        fields |= shape.fields
    return frozenset(fields)


class ProcedureChecks:
    """Everything one procedure names: slots, labels, operations and their parameters, tiers, and the
    names and filters of each expression and template."""

    def __init__(self, parts: PackParts, procedure: Procedure, checker: SourceChecker,
                 shapes: Mapping[str, ResultShape], customer_fields: frozenset[str] | None):
        self.parts = parts
        self.proc = procedure
        self.checker = checker
        self.ops = parts.operations.operations if parts.operations is not None else None
        self.labels = [step.label for step in procedure.steps if step.label]
        self.slots = frozenset(procedure.slots)
        results = {step.save_as for step in procedure.steps if step.save_as}
        results |= {CALL_ERROR} if any(step.call for step in procedure.steps) else set()
        computed = {key for step in procedure.steps for key in (step.set or {})}
        fields: dict[str, frozenset[str]] = {}
        if customer_fields is not None:
            fields["customer"] = customer_fields
        for name in results - computed - ENGINE_NAMES:
            saved = [shapes.get(s.call or "") for s in procedure.steps if s.save_as == name]
            if saved and all(s is not None and s.fields is not None and s.returns == "one" for s in saved):
                fields[name] = frozenset({CALL_ERROR}).union(*(s.fields or frozenset() for s in saved if s))
        self.scope = Scope(names=ENGINE_NAMES | results | computed, slots=self.slots, fields=fields)
        # option labels and values also see each option's own fields, which nothing declares
        self.option_scope = Scope(names=None, slots=self.slots)

    def run(self) -> None:
        self._slots()
        duplicates = sorted({label for label in self.labels if self.labels.count(label) > 1})
        for label in duplicates:
            self.checker.add(("steps",), f"label '{label}' is used by more than one step")
        previous_confirm = False
        for index, step in enumerate(self.proc.steps):
            self._step(index, step, previous_confirm)
            previous_confirm = step.confirm is not None

    def _slots(self) -> None:
        types = set(BUILTIN_SLOT_TYPES) | set(self.parts.business.id_formats if self.parts.business else ())
        check = self.checker
        for name, slot in self.proc.slots.items():
            loc: Loc = ("slots", name)
            if self.parts.business is not None and slot.type not in types:
                check.add((*loc, "type"), f"slot '{name}' has unknown type '{slot.type}'"
                                          f"{did_you_mean(slot.type, types)}")
            check.template((*loc, "prompt"), f"slots.{name}.prompt", slot.prompt, self.scope)
            check.template((*loc, "more_prompt"), f"slots.{name}.more_prompt", slot.more_prompt, self.scope)
            check.expression((*loc, "options_from"), f"slots.{name}.options_from", slot.options_from, self.scope)
            check.template((*loc, "option_label"), f"slots.{name}.option_label", slot.option_label, self.option_scope)
            check.expression((*loc, "option_value"), f"slots.{name}.option_value", slot.option_value,
                             self.option_scope)

    def _step(self, index: int, step: Step, previous_confirm: bool) -> None:
        check = self.checker
        loc: Loc = ("steps", index)
        for key in JUMP_FIELDS:
            target = getattr(step, key)
            if target is not None and target not in self.labels:
                check.add((*loc, key), f"{key}: no step is labelled '{target}'{did_you_mean(target, self.labels)}")
        for case_index, case in enumerate(step.branch or []):
            if case.goto not in self.labels:
                check.add((*loc, "branch", case_index, "goto"),
                          f"goto: no step is labelled '{case.goto}'{did_you_mean(case.goto, self.labels)}")
            check.expression((*loc, "branch", case_index, "when"), "when", case.when, self.scope)
        if step.ask is not None and step.ask not in self.slots:
            check.add((*loc, "ask"), f"ask: '{step.ask}' is not one of the procedure's slots"
                                     f"{did_you_mean(step.ask, self.slots)}")
        for slot in step.clear or []:
            if slot not in self.slots:
                check.add((*loc, "clear"), f"clear: '{slot}' is not one of the procedure's slots"
                                           f"{did_you_mean(slot, self.slots)}")
        for key in STEP_TEMPLATES:
            check.template((*loc, key), key, getattr(step, key), self.scope)
        check.expression((*loc, "check"), "check", step.check, self.scope)
        for key, expression in (step.set or {}).items():
            check.expression((*loc, "set", key), f"set.{key}", expression, self.scope)
        check.value((*loc, "args"), "args", step.args, self.scope)
        if step.tier is not None and self.parts.business is not None:
            tiers = [t.name for t in self.parts.business.escalation.tiers]
            if step.tier not in tiers:
                check.add((*loc, "tier"), f"tier: unknown escalation tier '{step.tier}'"
                                          f"{did_you_mean(step.tier, tiers)}")
        if step.call is not None:
            self._call(loc, step, previous_confirm)
        if step.handover is not None:
            self._handover(loc, step)

    def _handover(self, loc: Loc, step: Step) -> None:
        assert step.handover is not None
        procedures = {proc.id: proc for _, proc in self.parts.procedures}
        target = procedures.get(step.handover)
        if step.handover == self.proc.id:
            self.checker.add((*loc, "handover"), f"handover: '{step.handover}' is this procedure itself")
        elif target is None:
            self.checker.add((*loc, "handover"), f"handover: unknown procedure '{step.handover}'"
                                                 f"{did_you_mean(step.handover, procedures)}")
        for name, value in step.with_.items():
            if target is not None and name not in target.slots:
                self.checker.add((*loc, "with", name), f"with: '{name}' is not a slot of '{target.id}'"
                                                       f"{did_you_mean(name, target.slots)}")
            self.checker.value((*loc, "with", name), f"with.{name}", value, self.scope)

    def _call(self, loc: Loc, step: Step, previous_confirm: bool) -> None:
        assert step.call is not None
        if self.ops is None:
            return
        spec = self.ops.get(step.call)
        if spec is None:
            self.checker.add((*loc, "call"), f"call: unknown operation '{step.call}'"
                                             f"{did_you_mean(step.call, self.ops)}")
            return
        if spec.changes_data and not previous_confirm:
            self.checker.add(loc, f"'{step.call}' changes data: a confirm step must come right before it")
        declared = set(spec.params) | set(spec.optional)
        if declared:
            for name in step.args:
                if name not in declared:
                    self.checker.add((*loc, "args", name), f"args: operation '{step.call}' has no parameter "
                                                           f"'{name}'{did_you_mean(name, declared)}")
        missing = [p for p in spec.params if p not in spec.optional and p not in step.args]
        if missing:
            self.checker.add((*loc, "call"), f"call: operation '{step.call}' needs {', '.join(missing)} in args")


def _check_operations(parts: PackParts, check: SourceChecker) -> None:
    assert parts.operations is not None
    passed: dict[str, set[str]] = {}  # operation -> argument names some step passes
    for _, procedure in parts.procedures:
        for step in procedure.steps:
            if step.call is not None:
                passed.setdefault(step.call, set()).update(step.args)
    response = Scope(names=HTTP_RESPONSE_NAMES)
    for name, op in parts.operations.operations.items():
        loc: Loc = ("operations", name)
        arguments = set(op.params) | set(op.optional) | passed.get(name, set())
        if op.sql is not None:
            statements = [op.sql] if isinstance(op.sql, str) else op.sql
            for statement in statements:
                for parameter in bind_parameters(statement):
                    if parameter not in arguments:
                        check.add((*loc, "sql"), f"operation '{name}': the SQL uses :{parameter}, which is not in "
                                                 f"params{did_you_mean(parameter, arguments)}")
        if op.http is None:
            continue
        request = Scope(names=HTTP_REQUEST_NAMES | arguments) if op.params else Scope(names=None)
        http: Loc = (*loc, "http")
        check.template((*http, "url"), "url", op.http.url, request)
        for header, value in op.http.headers.items():
            check.template((*http, "headers", header), f"headers.{header}", value, request)
        check.value((*http, "body"), "body", op.http.body, request)
        check.expression((*http, "error_when"), "error_when", op.http.error_when, response)
        if isinstance(op.http.response, str):
            check.expression((*http, "response"), "response", op.http.response, response)
        elif isinstance(op.http.response, dict):
            for key, expression in op.http.response.items():
                check.expression((*http, "response", key), f"response.{key}", expression, response)


def _check_business(parts: PackParts, check: SourceChecker, shapes: Mapping[str, ResultShape]) -> None:
    business = parts.business
    assert business is not None
    check.template(("persona", "greeting"), "greeting", business.persona.greeting, Scope(names=None))
    catalogue = business.catalogue.operation
    shape = shapes.get(catalogue or "")
    if shape is not None and shape.fields is not None and not set(CATALOGUE_NAME_COLUMNS) & shape.fields:
        check.add(("catalogue", "operation"), f"catalogue.operation '{catalogue}' must return a "
                                              f"{' or '.join(CATALOGUE_NAME_COLUMNS)} column for each product")
