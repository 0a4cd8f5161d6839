"""Which fields an operation's result has, where the pack says so — for the validator's name checks.

A pack never declares result shapes separately; they follow from what it already wrote:
- an SQL operation `SELECT * FROM <one table>` returns that table's columns (declared, or the seed file's
  header), `SELECT a, b AS c FROM ...` returns `a` and `c`;
- an HTTP operation with a `response:` mapping returns its keys.
Anything else (a join with `*`, a computed column without `AS`, a plugin, an HTTP body passed through) is
unknown, and then nothing is checked: the validator never rejects a field it cannot know about.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from helpline.pack.models import OperationSpec, TableSpec

_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")
_SELECT = re.compile(r"^\s*SELECT\s+(?:DISTINCT\s+)?(?P<columns>.+?)\s+FROM\s+(?P<source>.+)$", re.I | re.S)
_SOURCE_END = re.compile(r"\s(?:WHERE|GROUP|ORDER|LIMIT|HAVING|UNION|OFFSET)\s", re.I)
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_PLAIN_COLUMN = re.compile(rf"^(?:{_IDENTIFIER}\.)?(?P<name>{_IDENTIFIER})$")
_ALIASED = re.compile(rf"^.+\s+AS\s+\"?(?P<name>{_IDENTIFIER})\"?$", re.I | re.S)
# `:name` bind parameters (not `::type` casts, not inside quoted text)
_BIND = re.compile(rf"(?<![:\w]):(?P<name>{_IDENTIFIER})")


@dataclass(frozen=True)
class ResultShape:
    """What one operation returns: `returns` (one | many | count | none) and its fields when known."""

    returns: str
    fields: frozenset[str] | None


def without_literals(sql: str) -> str:
    return _STRING_LITERAL.sub("''", sql)


def bind_parameters(sql: str) -> list[str]:
    """The `:name` parameters an SQL statement uses, in order of first use."""
    found: list[str] = []
    for match in _BIND.finditer(without_literals(sql)):
        if match["name"] not in found:
            found.append(match["name"])
    return found


def table_columns(root: Path, table: TableSpec) -> frozenset[str] | None:
    """A table's columns: declared ones, else the header of its CSV file or the keys of its JSON rows."""
    declared = getattr(table, "columns", None)  # tables may declare their columns (issue 15, item 8)
    if isinstance(declared, Mapping) and declared:
        return frozenset(str(name) for name in declared)
    if isinstance(declared, list | tuple) and declared:
        return frozenset(str(getattr(column, "name", column)) for column in declared)
    file = getattr(table, "file", None)
    if not file:
        return None
    path = root / file
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = data if isinstance(data, list) else list(data.values()) if isinstance(data, dict) else []
            return frozenset(rows[0]) if rows and isinstance(rows[0], dict) else None
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
    except (OSError, ValueError):
        return None
    return frozenset(column.strip() for column in header if column.strip()) if header else None


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def select_fields(sql: str, tables: Mapping[str, frozenset[str] | None]) -> frozenset[str] | None:
    """The column names a SELECT returns, or None when they cannot be read off the statement."""
    match = _SELECT.match(without_literals(sql))
    if match is None:
        return None
    source = _SOURCE_END.split(f" {match['source']} ", maxsplit=1)[0].strip()
    fields: set[str] = set()
    for column in _split_top_level(match["columns"]):
        if column == "*" or column.endswith(".*"):
            words = source.split()
            # one table (optionally aliased), no join: its columns
            if not words or "," in source or re.search(r"\bJOIN\b", source, re.I) or len(words) > 3:
                return None
            columns = tables.get(words[0])
            if columns is None:
                return None
            fields |= columns
            continue
        named = _ALIASED.match(column) or _PLAIN_COLUMN.match(column)
        if named is None:
            return None
        fields.add(named["name"])
    return frozenset(fields)


def result_shape(operation: OperationSpec, columns: Mapping[str, frozenset[str] | None]) -> ResultShape:
    """`columns`: each built-in table's columns (see `table_columns`)."""
    if operation.sql is not None:
        statements = [operation.sql] if isinstance(operation.sql, str) else list(operation.sql)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        if not selects:
            return ResultShape(operation.returns, None)
        return ResultShape(operation.returns, select_fields(selects[-1], columns))
    if operation.http is not None and isinstance(operation.http.response, dict):
        return ResultShape(operation.returns, frozenset(operation.http.response))
    return ResultShape(operation.returns, None)
