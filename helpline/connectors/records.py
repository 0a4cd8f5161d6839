"""Answers about the verified customer's own records, from the operations the pack's records.yaml names.

The engine asks `RecordQuestions.answer(question, customer, facts)`; this adapter fetches the
customer's records (ownership checked in `conversation/records.py`), reads the question with
`understanding/record_questions.py`, and words the facts. It never states what the data does not say.
"""

from __future__ import annotations

from typing import Any

from helpline.conversation.knowledge_answers import RecordReply
from helpline.conversation.ports import OperationGateway
from helpline.conversation.records import (
    COUNT,
    MISSING_CHRONOLOGY,
    MISSING_RETURN_ITEMS,
    MISSING_WHICH,
    REFUND,
    SUM,
    answer_record_question,
    describe_record,
    fetch_records,
    record_id,
)
from helpline.pack.expressions import mask
from helpline.pack.records import RecordsDeclaration
from helpline.understanding.record_questions import choose_kind, parse_record_question

_COMPUTED = {COUNT: "that's {value} in all", SUM: "{value} in total", REFUND: "{value} back in total"}


class RecordQuestions:
    def __init__(self, declaration: RecordsDeclaration, operations: OperationGateway) -> None:
        self.declaration = declaration
        self.operations = operations

    def answer(self, question: str, customer: dict[str, Any], facts: dict[str, Any]) -> RecordReply | None:
        kind = choose_kind(question, self.declaration)
        if kind is None:
            return None
        customer_id = str(customer.get("id", ""))
        fetched = fetch_records(self.operations, kind, customer_id)
        if fetched.error is not None:
            return RecordReply("", [], found=False)
        query = parse_record_question(question, kind, fetched.records)
        answer = answer_record_question(query, fetched.records, kind, facts.get("focus"), owner=customer_id,
                                        returning=_returned(kind.returns, facts.get("changes", [])) or None)
        if answer.found:
            masked = set(kind.masked_fields) if int(facts.get("assurance", 0)) < 2 else set()
            return RecordReply(_sentence(answer.text_facts, masked), answer.record_ids, answer.focus_id)
        if answer.missing in (MISSING_WHICH, MISSING_CHRONOLOGY) and answer.candidates:
            by_id = {record_id(r, kind): r for r in fetched.records}
            shown = answer.candidates[:4]
            options = [describe_record(by_id[c], kind) if c in by_id else c for c in shown]
            return RecordReply(f"Which {kind.label} do you mean: " + ", or ".join(options) + "?",
                               shown, choices=dict(zip(shown, options, strict=True)))
        if answer.missing == MISSING_RETURN_ITEMS:
            return RecordReply(f"Which items are you sending back? I'll add up what you'd get back from "
                               f"the {kind.label}.", answer.record_ids)
        return RecordReply("", answer.record_ids, found=False)


def _returned(returns: dict[str, str], changes: list[dict[str, Any]]) -> list[str]:
    """Ids of the items returned in this conversation, from the changes made by the declared operations."""
    found: list[str] = []
    for change in changes:
        arg = returns.get(str(change.get("operation")))
        value = (change.get("args") or {}).get(arg) if arg else None
        values = value if isinstance(value, list) else [value] if value is not None else []
        found += [str(v) for v in values]
    return found


def _sentence(facts: list[tuple[str, str]], masked: set[str] | frozenset[str] = frozenset()) -> str:
    parts: list[str] = []
    for label, value in facts:
        if label in masked:
            value = mask(value)
        computed = _COMPUTED.get(label)
        parts.append(computed.format(value=value) if computed else f"{label}: {value}")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."
