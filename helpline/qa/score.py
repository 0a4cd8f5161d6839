"""Scoring stored findings: a criterion passes when none of its undisputed findings fail; the score is the share
of applicable criteria that pass (0-100). A disputed finding no longer counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from helpline.qa.checks import Result

DISPUTE = "dispute"


def criterion_results(findings: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    results: dict[str, str] = {}
    for finding in findings:
        if finding.get(DISPUTE):
            continue
        criterion, result = str(finding.get("criterion")), str(finding.get("result"))
        current = results.get(criterion, Result.NOT_APPLICABLE)
        if result == Result.FAIL or current == Result.FAIL:
            results[criterion] = Result.FAIL
        elif result == Result.PASS or current == Result.PASS:
            results[criterion] = Result.PASS
        else:
            results[criterion] = Result.NOT_APPLICABLE
    return results


def score(findings: Sequence[Mapping[str, Any]]) -> float | None:
    """0-100, or None when no criterion applied."""
    results = criterion_results(findings)
    applicable = [r for r in results.values() if r != Result.NOT_APPLICABLE]
    if not applicable:
        return None
    return round(100 * sum(r == Result.PASS for r in applicable) / len(applicable), 1)
