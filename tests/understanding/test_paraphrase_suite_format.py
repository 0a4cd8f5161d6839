"""The paraphrase suite (bench/paraphrases/demo.yaml) is well-formed against the demo pack."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.paraphrases.split import is_heldout, select
from bench.paraphrases.suite import Case, load_cases, validate
from helpline.pack.loader import BusinessPack, load_pack

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


@pytest.fixture(scope="module")
def pack() -> BusinessPack:
    return load_pack(DEMO)


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases()


def test_every_case_names_real_procedures_slots_commands_and_contexts(cases: list[Case], pack: BusinessPack) -> None:
    assert validate(cases, pack) == []


def test_ids_are_unique_and_there_are_enough_cases(cases: list[Case]) -> None:
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids))
    assert len(cases) >= 300


def test_both_parts_are_non_empty_and_cover_every_case(cases: list[Case]) -> None:
    dev, heldout = select(cases, "dev"), select(cases, "heldout")
    assert dev and heldout
    assert len(dev) + len(heldout) == len(cases)
    assert all(is_heldout(c.id) for c in heldout)


def test_every_procedure_has_at_least_ten_cases(cases: list[Case], pack: BusinessPack) -> None:
    counts = dict.fromkeys(pack.procedures, 0)
    for case in cases:
        named = {str(e.fields["procedure"]) for e in case.expect if e.command == "start_procedure"}
        if case.context.procedure and case.context.kind != "verify":
            named.add(case.context.procedure)
        for procedure in named:
            counts[procedure] += 1
    assert {p: n for p, n in counts.items() if n < 10} == {}


def test_validation_catches_unknown_procedures_and_slots(pack: BusinessPack, tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "cases:\n"
        "- {id: a, context: fresh, text: hi, expect: [{command: start_procedure, procedure: nope}]}\n"
        "- {id: b, context: 'slot:cancel_order:colour', text: red, expect: [{command: set_slot, slot: colour}]}\n"
        "- {id: b, context: fresh, text: x, expect: [{command: start_procedure, procedure: cancel_order,"
        " slots: {size: 2}}]}\n"
        "- {id: c, context: 'troubleshoot:cancel_order:order_id', text: no, expect: [{command: shrug}]}\n"
    )
    problems = validate(load_cases(suite), pack)
    assert any("unknown procedure 'nope'" in p for p in problems)
    assert any("unknown slot" in p and "colour" in p for p in problems)
    assert any("id used twice" in p for p in problems)
    assert any("unknown slot 'size'" in p for p in problems)
    assert any("yes_no slot" in p for p in problems)
    assert any("unknown command 'shrug'" in p for p in problems)
