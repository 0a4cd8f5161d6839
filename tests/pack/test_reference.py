"""The reference part of docs/business-pack.md is generated, so it cannot drift from the code."""

from __future__ import annotations

from pathlib import Path

from helpline.pack.checks import ENGINE_NAMES
from helpline.pack.expressions import environment
from helpline.pack.models import BUILTIN_SLOT_TYPES, Step
from helpline.pack.reference import (
    BUILTIN_FILTERS,
    END,
    FUNCTIONS,
    NAMES,
    NON_OPTION_COLUMNS,
    OWN_FILTERS,
    SLOT_TYPES,
    START,
    generate_reference,
    with_reference,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "business-pack.md"


def test_the_checked_in_reference_is_the_generated_one() -> None:
    document = DOCS.read_text(encoding="utf-8")
    assert with_reference(document, generate_reference()) == document, \
        "docs/business-pack.md is out of date: run `helpline pack docs`"


def test_every_filter_function_slot_type_and_name_is_documented() -> None:
    env = environment()
    assert set(env.filters) <= set(OWN_FILTERS) | set(BUILTIN_FILTERS)
    assert set(env.globals) == set(FUNCTIONS)
    assert set(BUILTIN_SLOT_TYPES) == set(SLOT_TYPES)
    assert set(ENGINE_NAMES) == set(NAMES)


def test_the_reference_shows_what_the_date_filters_print_and_every_step_field() -> None:
    reference = generate_reference()
    assert "| `date` |" in reference and "'Thursday 5 March 2026'" in reference
    assert "`order.placed_at \\| days_since` | `6.0`" in reference
    assert "| `datetime` |" in reference
    for name, info in Step.model_fields.items():
        assert f"| `{info.alias or name}` |" in reference


def test_the_catalogue_columns_are_the_ones_the_runtime_skips() -> None:
    from helpline.runtime import NON_OPTION_COLUMNS as RUNTIME_COLUMNS

    assert set(NON_OPTION_COLUMNS) == set(RUNTIME_COLUMNS)


def test_the_reference_replaces_only_the_text_between_its_markers() -> None:
    document = f"# Title\n\nprose\n\n{START}\nold\n{END}\n\nmore prose\n"
    assert with_reference(document, "new\n") == f"# Title\n\nprose\n\n{START}\nnew\n{END}\n\nmore prose\n"
    assert with_reference("# Only prose\n", "new\n").endswith(f"{START}\nnew\n{END}\n")
