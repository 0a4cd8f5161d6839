"""Fixed split of tau-retail's train tasks into a tuning part and a held-out part.

Made before anyone read the held-out tasks (2026-11-30): a task is held out when the SHA-256 of
"tau-retail-train-<index>" starts with a byte below 86 (about a third). Tune customers, phrasings
and the pack on `tune` and `dev` only; `heldout` is for reporting. Do not read the held-out tasks'
instructions or transcripts while developing.
"""

from __future__ import annotations

import hashlib


def is_heldout(index: int) -> bool:
    return hashlib.sha256(f"tau-retail-train-{index}".encode()).digest()[0] < 86


def train_indices(part: str, total: int) -> list[int]:
    """Indices of the train tasks in ``part``: "tune", "heldout" or "all"."""
    if part == "all":
        return list(range(total))
    if part not in ("tune", "heldout"):
        raise ValueError(f"unknown part {part!r}")
    return [i for i in range(total) if is_heldout(i) == (part == "heldout")]
