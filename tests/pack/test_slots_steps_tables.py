"""The pack format for issue 15 items 5-8: options with synonyms (plain strings still accepted), window slots,
handover steps, declared tables (the old inferred form still loads)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from helpline.pack.models import SlotSpec, Step, TableSpec


def test_options_plain_strings_and_full_form_together() -> None:
    slot = SlotSpec.model_validate({"type": "choice", "options": [
        "no longer needed", {"value": "send_box", "label": "Send me a box", "synonyms": ["ship it"],
                             "description": "we post you a box to return it in"}]})
    assert slot.option_values == ["no longer needed", "send_box"]
    assert [o.shown for o in slot.options] == ["no longer needed", "Send me a box"]


@pytest.mark.parametrize(("spec", "said"), [
    ({"type": "choice", "options": ["a", "a"]}, "twice"),
    ({"type": "choice", "options": [{"label": "no value"}]}, "value"),
    ({"type": "text", "window": True}, "window"),
])
def test_slot_mistakes_are_refused(spec: dict[str, object], said: str) -> None:
    with pytest.raises(ValidationError, match=said):
        SlotSpec.model_validate(spec)


def test_handover_takes_start_as_a_synonym_and_with_only_with_it() -> None:
    step = Step.model_validate({"start": "cancel_service", "with": {"reason": "moving_out"}})
    assert step.action == "handover" and step.handover == "cancel_service" and step.with_ == {"reason": "moving_out"}
    with pytest.raises(ValidationError, match="handover"):
        Step.model_validate({"say": "hi", "with": {"reason": "x"}})


def test_declared_and_inferred_tables() -> None:
    declared = TableSpec.model_validate({"columns": {"id": {"type": "text", "key": True}, "balance": "decimal"},
                                         "indexes": [["balance"]]})
    assert declared.declared and declared.seed_file is None and declared.columns["balance"].type == "decimal"
    inferred = TableSpec.model_validate({"file": "data/orders.csv", "key": "id"})
    assert not inferred.declared and inferred.seed_file == "data/orders.csv"


@pytest.mark.parametrize(("spec", "said"), [
    ({}, "declare the table's columns"),
    ({"columns": {"id": "text"}, "file": "x.csv"}, "seed"),
    ({"columns": {"id": "text"}, "indexes": [["region"]]}, "undeclared"),
    ({"columns": {"id": "money"}}, "type"),
    ({"columns": {"bad name": "text"}}, "plain name"),
    ({"file": "x.csv", "indexes": [["id"]]}, "declared columns"),
])
def test_table_mistakes_are_refused(spec: dict[str, object], said: str) -> None:
    with pytest.raises(ValidationError, match=said):
        TableSpec.model_validate(spec)
