"""Fixed split of the paraphrase suite into a dev part and a held-out part.

Made when the suite was written, before anyone tuned on it: a case is held out when the first byte of
SHA-256("para-" + id) is below 128 (about half). Tune phrasings, models and the pack on `dev` only;
`heldout` is for reporting, and its failing messages are never printed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal, TypeVar

Part = Literal["dev", "heldout", "both"]
T = TypeVar("T")


def is_heldout(case_id: str) -> bool:
    return hashlib.sha256(f"para-{case_id}".encode()).digest()[0] < 128


def part_of(case_id: str) -> Literal["dev", "heldout"]:
    return "heldout" if is_heldout(case_id) else "dev"


def select(cases: Iterable[T], part: Part, case_id: str = "id") -> list[T]:
    """The cases in ``part`` ("dev", "heldout" or "both"); each case has its id as attribute or key ``case_id``."""
    if part not in ("dev", "heldout", "both"):
        raise ValueError(f"unknown part {part!r}")
    out: list[T] = []
    for case in cases:
        ident = case[case_id] if isinstance(case, dict) else getattr(case, case_id)
        if part == "both" or part_of(str(ident)) == part:
            out.append(case)
    return out
