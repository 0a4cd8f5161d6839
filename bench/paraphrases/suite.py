"""The paraphrase suite's cases, contexts and scoring (bench/paraphrases/demo.yaml).

A case passes when every expected command is among the produced commands with matching fields, and no
produced command contradicts the expectation. Matching is by meaning, not by representation:

- when the agent asked a yes/no question (a `yes_no` slot, in a `slot:` or `troubleshoot:` context),
  Affirm, Deny, SetSlot(True/False) for that slot and ProblemStatus are one answer, yes or no;
  ProblemStatus(solved) answers "yes" when ``solved``, except for questions asked the other way round
  ("Is it still not working?", the slots in INVERTED) where solved means "no";
- after "anything else?", Deny is NothingElse;
- SetSlot without a slot name is the slot being asked for;
- slot values are compared by the slot's type: order ids as BB-NNNNN, phone numbers by their digits,
  money as amounts, choices exactly (case-insensitive), and free text, products and options by
  containment of the expected value (letters and digits only, case-insensitive).

Contradictions (a produced command no expected command accounts for): any yes/no answer to a yes/no
question; Affirm while confirming or answering a slot or verifying, or when no/nothing-else is expected;
Deny when yes is expected, or while confirming, troubleshooting or verifying unless a correction is
expected; a StartProcedure not expected (unless of the procedure already active); a SetSlot giving
another value to an expected slot, or filling the slot being asked for when no value for it is
expected; and any unexpected NothingElse,
CancelProcedure, AskHuman, OutOfScope, Unsupported, Clarify, Repeat or ProblemStatus. Extra ChitChat,
Identify, AskKnowledge and AskRecord are harmless.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from helpline.pack.loader import BusinessPack

SUITE = Path(__file__).resolve().parent / "demo.yaml"

COMMANDS = (
    "start_procedure", "set_slot", "affirm", "deny", "problem_status", "nothing_else", "cancel_procedure",
    "ask_knowledge", "ask_record", "identify", "ask_human", "chit_chat", "repeat", "clarify", "out_of_scope",
    "unsupported",
)
CHIT_CHAT_KINDS = ("greeting", "thanks", "bye", "bot_challenge", "small_talk")
IDENTITY_FIELDS = ("email", "person_name", "postcode", "phone", "customer_id")
CONTEXT_KINDS = ("fresh", "anything_else", "confirm", "slot", "troubleshoot", "verify")
INVERTED = frozenset({("report_outage", "still_broken")})  # "Is it still not working?": yes means not solved
HARMLESS = frozenset({"chit_chat", "identify", "ask_knowledge", "ask_record"})
ALWAYS_CONTRADICT = frozenset({"nothing_else", "cancel_procedure", "ask_human", "out_of_scope", "unsupported",
                               "clarify", "repeat", "problem_status", "start_procedure", "polar"})


@dataclass(frozen=True)
class Context:
    kind: str
    procedure: str | None = None
    slot: str | None = None

    @classmethod
    def parse(cls, text: str) -> Context:
        parts = text.split(":")
        kind = parts[0]
        if kind in ("fresh", "anything_else") and len(parts) == 1:
            return cls(kind)
        if kind == "verify" and len(parts) <= 2:
            return cls(kind, parts[1] if len(parts) == 2 else None)
        if kind == "confirm" and len(parts) == 2:
            return cls(kind, parts[1])
        if kind in ("slot", "troubleshoot") and len(parts) == 3:
            return cls(kind, parts[1], parts[2])
        raise ValueError(f"unknown context {text!r}")

    def __str__(self) -> str:
        return ":".join(p for p in (self.kind, self.procedure, self.slot) if p)


@dataclass(frozen=True)
class Expected:
    command: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Expected:
        data = dict(data)
        command = str(data.pop("command"))
        return cls(command, data)

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.fields.items())
        return f"{self.command}({inner})" if inner else self.command


@dataclass(frozen=True)
class Case:
    id: str
    context: Context
    text: str
    expect: tuple[Expected, ...]
    acceptable: tuple[tuple[Expected, ...], ...] = ()
    filled: Mapping[str, Any] = field(default_factory=dict)  # slot values already given in the active run

    @property
    def alternatives(self) -> tuple[tuple[Expected, ...], ...]:
        return (self.expect, *self.acceptable)


def load_cases(path: Path = SUITE) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = []
    for raw in data["cases"]:
        cases.append(Case(
            id=str(raw["id"]),
            context=Context.parse(str(raw["context"])),
            text=str(raw["text"]),
            expect=tuple(Expected.parse(e) for e in raw["expect"]),
            acceptable=tuple(tuple(Expected.parse(e) for e in alt) for alt in raw.get("acceptable", ())),
            filled=dict(raw.get("filled", {})),
        ))
    return cases


# --- validation ---------------------------------------------------------------------------------------------


def validate(cases: Sequence[Case], pack: BusinessPack) -> list[str]:
    """Problems with the suite against the pack: unknown procedures, slots, commands or fields."""
    errors: list[str] = []
    seen: set[str] = set()
    for case in cases:
        where = f"{case.id}:"
        if case.id in seen:
            errors.append(f"{where} id used twice")
        seen.add(case.id)
        if not case.text.strip():
            errors.append(f"{where} empty text")
        errors += [f"{where} {e}" for e in _validate_context(case.context, pack)]
        for name in case.filled:
            if case.context.procedure is None or name not in pack.procedures[case.context.procedure].slots:
                errors.append(f"{where} filled slot {name!r} is not a slot of the context's procedure")
        if not case.expect:
            errors.append(f"{where} nothing expected")
        for alternative in case.alternatives:
            for expected in alternative:
                errors += [f"{where} {e}" for e in _validate_expected(expected, case.context, pack)]
    return errors


def _validate_context(context: Context, pack: BusinessPack) -> list[str]:
    if context.procedure is None:
        return []
    proc = pack.procedures.get(context.procedure)
    if proc is None:
        return [f"context {context}: unknown procedure"]
    if context.slot is None:
        return []
    spec = proc.slots.get(context.slot)
    if spec is None:
        return [f"context {context}: unknown slot"]
    if context.kind == "troubleshoot" and spec.type != "yes_no":
        return [f"context {context}: a troubleshoot context needs a yes_no slot, not {spec.type}"]
    return []


def _validate_expected(expected: Expected, context: Context, pack: BusinessPack) -> list[str]:
    command, fields = expected.command, expected.fields
    if command not in COMMANDS:
        return [f"unknown command {command!r}"]
    errors = []
    if command == "start_procedure":
        proc = pack.procedures.get(str(fields.get("procedure")))
        if proc is None:
            return [f"start_procedure: unknown procedure {fields.get('procedure')!r}"]
        errors += [f"start_procedure {proc.id}: unknown slot {s!r}" for s in fields.get("slots", {})
                   if s not in proc.slots]
    elif command == "set_slot":
        if context.procedure is None:
            errors.append("set_slot outside a procedure")
        elif fields.get("slot") not in pack.procedures[context.procedure].slots:
            errors.append(f"set_slot: {fields.get('slot')!r} is not a slot of {context.procedure}")
    elif command == "problem_status" and not isinstance(fields.get("solved"), bool):
        errors.append("problem_status needs solved: true|false")
    elif command == "chit_chat" and fields.get("kind") not in CHIT_CHAT_KINDS:
        errors.append(f"chit_chat: unknown kind {fields.get('kind')!r}")
    elif command == "identify":
        details = fields.get("details")
        if not isinstance(details, Mapping) or not details:
            errors.append("identify needs details")
        else:
            errors += [f"identify: unknown detail {k!r}" for k in details if k not in IDENTITY_FIELDS]
    elif command == "unsupported" and not re.fullmatch(r"[a-z]{2}", str(fields.get("language", ""))):
        errors.append("unsupported needs a two-letter language")
    elif command == "ask_human" and not isinstance(fields.get("manager", False), bool):
        errors.append("ask_human: manager must be true|false")
    known = {"start_procedure": {"procedure", "slots"}, "set_slot": {"slot", "value", "correction"},
             "problem_status": {"solved"}, "chit_chat": {"kind"}, "identify": {"details"},
             "ask_human": {"manager"}, "unsupported": {"language"}, "clarify": {"options"},
             "out_of_scope": {"unknown"}}.get(command, set())
    errors += [f"{command}: unknown field {k!r}" for k in fields if k not in known]
    return errors


# --- produced commands as plain data --------------------------------------------------------------------------


@dataclass(frozen=True)
class Produced:
    command: str
    fields: Mapping[str, Any]

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.fields.items() if v not in (None, {}, ()))
        return f"{self.command}({inner})" if inner else self.command


_NAMES = {
    "StartProcedure": "start_procedure", "SetSlot": "set_slot", "Affirm": "affirm", "Deny": "deny",
    "ProblemStatus": "problem_status", "NothingElse": "nothing_else", "CancelProcedure": "cancel_procedure",
    "AskKnowledge": "ask_knowledge", "AskRecord": "ask_record", "Identify": "identify", "AskHuman": "ask_human",
    "ChitChat": "chit_chat", "Repeat": "repeat", "Clarify": "clarify", "OutOfScope": "out_of_scope",
    "Unsupported": "unsupported",
}


def produced(command: Any) -> Produced:
    """A command object from helpline.conversation.commands as plain data."""
    name = _NAMES.get(type(command).__name__)
    if name is None:
        return Produced(type(command).__name__, {})
    fields = {k: v for k, v in vars(command).items()} if hasattr(command, "__dict__") else {}
    if name == "start_procedure":
        fields = {"procedure": command.procedure_id, "slots": dict(command.slots)}
    elif name == "ask_knowledge" and getattr(command, "otherwise", None) is not None:
        fields["otherwise"] = {"procedure": command.otherwise.procedure_id, "slots": dict(command.otherwise.slots)}
    elif name == "chit_chat":
        fields = {"kind": str(getattr(command.kind, "value", command.kind))}
    return Produced(name, fields)


# --- scoring -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    """An expected or produced command in the context's terms (yes/no answers folded into 'polar')."""

    command: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Verdict:
    passed: bool
    missing: tuple[str, ...] = ()
    contradicting: tuple[str, ...] = ()


class Scorer:
    """Scores cases; ``lenient`` also measures intent alone: StartProcedure slot values are not compared, and
    a knowledge question whose fallback (``otherwise``) is the expected procedure counts as that procedure."""

    def __init__(self, pack: BusinessPack, lenient: bool = False):
        self.pack = pack
        self.lenient = lenient

    def slot_type(self, procedure: str | None, slot: str | None) -> str | None:
        if procedure is None or slot is None:
            return None
        proc = self.pack.procedures.get(procedure)
        spec = proc.slots.get(slot) if proc else None
        return spec.type if spec else None

    def _yes_no_context(self, context: Context) -> bool:
        return context.kind in ("slot", "troubleshoot") and self.slot_type(context.procedure, context.slot) == "yes_no"

    def _fold(self, command: str, fields: Mapping[str, Any], context: Context) -> _Item:
        fields = dict(fields)
        if command == "set_slot" and fields.get("slot") is None and context.kind in ("slot", "troubleshoot"):
            fields["slot"] = context.slot
        if self._yes_no_context(context):
            inverted = (context.procedure, context.slot) in INVERTED
            if command == "affirm":
                return _Item("polar", {"yes": True})
            if command == "deny":
                return _Item("polar", {"yes": False})
            if command == "problem_status":
                return _Item("polar", {"yes": bool(fields.get("solved")) != inverted})
            if command == "set_slot" and fields.get("slot") == context.slot:
                answer = _as_bool(fields.get("value"))
                if answer is not None:
                    return _Item("polar", {"yes": answer})
        if context.kind == "anything_else" and command == "deny":
            return _Item("nothing_else", {})
        return _Item(command, fields)

    def score(self, case: Case, commands: Iterable[Produced]) -> Verdict:
        made = [self._fold(p.command, p.fields, case.context) for p in commands]
        best: Verdict | None = None
        for alternative in case.alternatives:
            verdict = self._score_one(case.context, [self._fold(e.command, e.fields, case.context)
                                                     for e in alternative], made)
            if verdict.passed:
                return verdict
            best = best or verdict
        assert best is not None
        return best

    def _score_one(self, context: Context, expected: list[_Item], made: list[_Item]) -> Verdict:
        assignment = self._assign(context, expected, made, 0, frozenset())
        used = assignment if assignment is not None else self._greedy(context, expected, made)
        missing = [] if assignment is not None else [
            _describe(e) for i, e in enumerate(expected) if not any(self.matches(context, e, made[j])
                                                                    for j in used.get(i, ()))]
        matched = {j for js in used.values() for j in js}
        contradicting = [_describe(m) for j, m in enumerate(made)
                         if j not in matched and self.contradicts(context, m, expected)]
        return Verdict(not missing and not contradicting, tuple(missing), tuple(contradicting))

    def _assign(self, context: Context, expected: list[_Item], made: list[_Item], index: int,
                taken: frozenset[int]) -> dict[int, tuple[int, ...]] | None:
        """Each expected command matched to a distinct produced one (backtracking; the lists are short)."""
        if index == len(expected):
            return {}
        for j, m in enumerate(made):
            if j not in taken and self.matches(context, expected[index], m):
                rest = self._assign(context, expected, made, index + 1, taken | {j})
                if rest is not None:
                    return {index: (j,), **rest}
        return None

    def _greedy(self, context: Context, expected: list[_Item], made: list[_Item]) -> dict[int, tuple[int, ...]]:
        out: dict[int, tuple[int, ...]] = {}
        taken: set[int] = set()
        for i, e in enumerate(expected):
            for j, m in enumerate(made):
                if j not in taken and self.matches(context, e, m):
                    out[i] = (j,)
                    taken.add(j)
                    break
        return out

    # --- one expected command against one produced command

    def matches(self, context: Context, e: _Item, m: _Item) -> bool:
        if self.lenient and e.command == "start_procedure" and m.command == "ask_knowledge":
            return bool((m.fields.get("otherwise") or {}).get("procedure") == e.fields.get("procedure"))
        if e.command != m.command:
            return False
        ef, mf = e.fields, m.fields
        if e.command == "polar":
            return bool(ef["yes"] == mf["yes"])
        if e.command == "start_procedure":
            if ef.get("procedure") != mf.get("procedure"):
                return False
            if self.lenient:
                return True
            slots = mf.get("slots") or {}
            return all(name in slots and self.same_value(self.slot_type(str(ef["procedure"]), name), want,
                                                         slots[name])
                       for name, want in (ef.get("slots") or {}).items())
        if e.command == "set_slot":
            if mf.get("slot") is not None and mf.get("slot") != ef.get("slot"):
                return False
            if "correction" in ef and bool(mf.get("correction")) != bool(ef["correction"]):
                return False
            if ef.get("value") is None:
                return True
            return self.same_value(self.slot_type(context.procedure, str(ef.get("slot"))), ef["value"], mf.get("value"))
        if e.command == "problem_status":
            return bool(ef.get("solved")) == bool(mf.get("solved"))
        if e.command == "chit_chat":
            return str(ef.get("kind")) == str(mf.get("kind"))
        if e.command == "ask_human":
            return "manager" not in ef or bool(ef["manager"]) == bool(mf.get("manager"))
        if e.command == "unsupported":
            return "language" not in ef or str(mf.get("language", "")).lower()[:2] == str(ef["language"]).lower()
        if e.command == "clarify":
            return set(ef.get("options", ())) <= set(mf.get("options", ()))
        if e.command == "out_of_scope":
            return "unknown" not in ef or bool(ef["unknown"]) == bool(mf.get("unknown"))
        if e.command == "identify":
            got = mf.get("details") or {}
            return all(k in got and _same_detail(k, v, got[k]) for k, v in (ef.get("details") or {}).items())
        return True

    def contradicts(self, context: Context, m: _Item, expected: list[_Item]) -> bool:
        kinds = {e.command for e in expected}
        if m.command in HARMLESS:
            return False
        if m.command == "affirm":
            return context.kind in ("confirm", "slot", "troubleshoot", "verify") or bool(
                kinds & {"deny", "nothing_else"})
        if m.command == "deny":
            if "affirm" in kinds:
                return True
            return context.kind in ("confirm", "troubleshoot", "verify", "slot") and "set_slot" not in kinds
        if m.command == "set_slot":
            slot = m.fields.get("slot")
            for e in expected:
                if e.command == "set_slot" and e.fields.get("slot") == slot:
                    return True  # an expected slot given another value
            return context.kind == "slot" and slot == context.slot
        active = context.procedure
        if m.command == "start_procedure" and active is not None and m.fields.get("procedure") == active:
            return False  # the procedure already active: not a different request
        return m.command in ALWAYS_CONTRADICT or m.command not in COMMANDS

    # --- values

    def same_value(self, slot_type: str | None, want: Any, got: Any) -> bool:
        got = _plain(got)
        if got is None:
            return False
        if slot_type == "order_id":
            return _order_id(want) == _order_id(got)
        if slot_type == "phone":
            return _digits_phone(want) == _digits_phone(got)
        if slot_type == "money":
            a, b = _amount(want), _amount(got)
            return a is not None and b is not None and abs(a - b) < Decimal("0.005")
        if slot_type == "yes_no":
            return _as_bool(want) == _as_bool(got)
        if slot_type == "choice":
            return _squash(want) == _squash(got)
        expected = _squash(want)
        return bool(expected) and expected in _squash(got)


def _describe(item: _Item) -> str:
    if item.command == "polar":
        return "yes" if item.fields["yes"] else "no"
    inner = ", ".join(f"{k}={v}" for k, v in item.fields.items() if v not in (None, {}, ()))
    return f"{item.command}({inner})" if inner else item.command


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        for key in ("name", "product", "value", "id", "text"):
            if key in value:
                return value[key]
    return value


def _squash(value: Any) -> str:
    return re.sub(r"[^0-9a-z]", "", str(value).casefold())


def _order_id(value: Any) -> str:
    found = re.search(r"(?i)bb[\s-]?(\d{5})", str(value))
    return f"BB-{found.group(1)}" if found else str(value).strip().upper()


def _digits_phone(value: Any) -> str:
    digits = re.sub(r"\D", "", str(value))
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    found = re.search(r"\d[\d,]*(?:\.\d+)?", str(value))
    if not found:
        return None
    try:
        return Decimal(found.group(0).replace(",", ""))
    except InvalidOperation:
        return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in ("yes", "true", "y", "1"):
        return True
    if text in ("no", "false", "n", "0"):
        return False
    return None


def _same_detail(key: str, want: Any, got: Any) -> bool:
    if key in ("postcode", "phone"):
        return _digits_phone(want) == _digits_phone(got)
    if key == "person_name":
        return " ".join(str(want).casefold().split()) == " ".join(str(got).casefold().split())
    return str(want).strip().casefold() == str(got).strip().casefold()
