"""A pack's seed files (CSV or JSON) read as their declared tables' typed rows.

Pack data, so `pack validate` checks every seed file (a bad row is reported with its file and line before a run or
`pack test` loads it) and the SQL connector loads the same rows into the business's tables.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from helpline.pack.models import TableSpec

_TRUE, _FALSE = {"true", "yes", "y", "1", "t"}, {"false", "no", "n", "0", "f"}


def numbered_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """The rows with the file line each ends on (a CSV row; 1 for every object of a JSON file)."""
    try:
        if path.suffix.lower() != ".json":
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                return [(reader.line_num, row) for row in reader]
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data if isinstance(data, list) else list(data.values()) if isinstance(data, dict) else None
        if rows is None or not all(isinstance(r, dict) for r in rows):
            raise SeedError(f"{path.name}: expected a list of objects")
        return [(1, row) for row in rows]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise SeedError(f"{path.name}: cannot read: {exc}") from exc


class SeedError(ValueError):
    """A seed file that does not fit its declared table (names the file, the row and the column); `file`
    (relative to the pack) and `line` say where, for `pack validate`."""

    def __init__(self, message: str, file: str = "", line: int = 1) -> None:
        super().__init__(message)
        self.file, self.line = file, line


def seed_errors(tables: Mapping[str, TableSpec], root: Path) -> list[SeedError]:
    """What `pack validate` reports of the declared tables' seed files: the first row of each that does not
    fit its table, so a bad row is found before a run or `pack test` loads it."""
    errors = []
    for name, spec in tables.items():
        if spec.seed is None:
            continue
        if not (root / spec.seed).is_file():
            errors.append(SeedError(f"{spec.seed}: the seed file of table '{name}' does not exist", spec.seed))
            continue
        try:
            declared_rows(name, spec, root)
        except SeedError as exc:
            errors.append(exc if exc.file else SeedError(str(exc), spec.seed))
    return errors


def typed_value(value: Any, kind: str) -> Any:
    """A seed value (CSV text, or JSON) as its declared column type; ValueError when it is not one."""
    if value is None or value == "":
        return None
    if kind == "json":
        return value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, dict | list):
        raise ValueError(f"{type(value).__name__} is not a {kind}")
    text_value = str(value).strip()
    if kind == "text":
        return str(value)
    if kind == "integer":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(value) if isinstance(value, int | float) else int(text_value)
    if kind == "decimal":
        return Decimal(text_value)
    if kind == "number":
        return float(text_value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if text_value.lower() in _TRUE | _FALSE:
            return text_value.lower() in _TRUE
        raise ValueError(f"{value!r} is not true or false")
    if kind == "date":
        return date.fromisoformat(text_value[:10]) if len(text_value) > 10 and "T" in text_value else \
            date.fromisoformat(text_value)
    return datetime.fromisoformat(text_value.replace("Z", "+00:00"))


def declared_rows(name: str, spec: TableSpec, root: Path) -> list[dict[str, Any]]:
    """The seed file's rows typed as declared; SeedError naming the file, row and column otherwise."""
    if spec.seed is None:
        return []
    path = root / spec.seed
    rows = numbered_rows(path)
    typed = []
    for number, (line, row) in enumerate(rows, start=1):
        where = f"{spec.seed} row {number} (line {line})" if path.suffix.lower() != ".json" else \
            f"{spec.seed} row {number}"
        spare: list[Any] = row.get(None) or []  # type: ignore[call-overload]  # csv keeps extra values under None
        if spare:
            raise SeedError(f"{where}: {len(row) - 1 + len(spare)} values for the header's {len(row) - 1} "
                            f"columns", spec.seed, line)
        unknown = sorted(str(column) for column in set(row) - set(spec.columns))
        if unknown:
            raise SeedError(f"{where}: column(s) {unknown} are not declared in table '{name}'", spec.seed,
                            1 if path.suffix.lower() != ".json" else line)
        converted: dict[str, Any] = {}
        for column, col in spec.columns.items():
            try:
                converted[column] = typed_value(row.get(column), col.type)
            except (ValueError, ArithmeticError) as exc:
                raise SeedError(f"{where}, column '{column}': {row.get(column)!r} is not a "
                                f"{col.type} ({exc})", spec.seed, line) from exc
            if converted[column] is None and (col.required or col.key):
                raise SeedError(f"{where}: column '{column}' is required", spec.seed, line)
        typed.append(converted)
    return typed
