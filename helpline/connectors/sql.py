"""Built-in SQL tables: a system of record for a business that has none of its own.

The tables live in their own database (by default an SQLite file beside Helpline's), seeded from
the pack's CSV/JSON files the first time; operations are parameterised SQL run in one transaction.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, Table, Text, create_engine, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from helpline.conversation.ports import OperationResult
from helpline.pack.models import OperationSpec, TableSpec

log = logging.getLogger(__name__)


class ExpectationFailed(Exception):
    pass


def _looks_like_code(value: str) -> bool:
    """Phone numbers (+1...), ZIPs and ids with leading zeros are text, not numbers."""
    stripped = value.strip()
    return stripped.startswith("+") or (len(stripped) > 1 and stripped.startswith("0") and stripped[1] != ".")


def _column_type(values: list[str]) -> type[Integer] | type[Float] | type[Text]:
    present = [v for v in values if v not in ("", None)]
    if not present or any(_looks_like_code(v) for v in present):
        return Text
    try:
        if all(str(int(v)) == str(v).strip() for v in present):
            return Integer
    except ValueError:
        pass
    try:
        for v in present:
            float(v)
        return Float
    except ValueError:
        return Text


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data if isinstance(data, list) else list(data.values())
        return [{k: (json.dumps(v) if isinstance(v, dict | list) else v) for k, v in r.items()} for r in rows]
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def seed_tables(engine: Engine, root: Path, tables: Mapping[str, TableSpec]) -> None:
    """Create and fill each table that does not exist yet (existing data is never overwritten)."""
    existing = set(inspect(engine).get_table_names())
    metadata = MetaData()
    for name, spec in tables.items():
        if name in existing:
            continue
        rows = _read_rows(root / spec.file)
        columns = list(rows[0].keys()) if rows else []
        table = Table(
            name,
            metadata,
            *[
                Column(col, _column_type([str(r.get(col, "")) for r in rows]), primary_key=(col == spec.key))
                for col in columns
            ],
        )
        table.create(engine)
        cleaned = [{k: (None if v == "" else v) for k, v in r.items()} for r in rows]
        typed = []
        for row in cleaned:
            converted: dict[str, Any] = {}
            for col in table.columns:
                value = row.get(col.name)
                if value is not None and isinstance(col.type, Integer):
                    value = int(value)
                elif value is not None and isinstance(col.type, Float):
                    value = float(value)
                converted[col.name] = value
            typed.append(converted)
        if typed:
            with engine.begin() as conn:
                conn.execute(table.insert(), typed)
        log.info("seeded table %s with %d rows", name, len(typed))


class SqlOperations:
    """Runs the pack's SQL operations against the built-in tables."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, url: str, root: Path, tables: Mapping[str, TableSpec]) -> SqlOperations:
        engine = create_engine(url)
        seed_tables(engine, root, tables)
        return cls(engine)

    def run(self, name: str, spec: OperationSpec, args: Mapping[str, Any]) -> OperationResult:
        statements = [spec.sql] if isinstance(spec.sql, str) else list(spec.sql or [])
        params = {p: args.get(p) for p in spec.params}
        params.update({k: v for k, v in args.items() if k not in params})
        try:
            with self.engine.begin() as conn:
                result_rows: list[dict[str, Any]] = []
                rowcount = 0
                for index, statement in enumerate(statements):
                    result = conn.execute(text(statement), params)
                    if result.returns_rows:
                        result_rows = [dict(r._mapping) for r in result]
                    else:
                        if index == 0:
                            rowcount = result.rowcount
                if spec.expect_rows is not None and rowcount != spec.expect_rows:
                    # raising inside begin() rolls every statement back: never a half-done change
                    raise ExpectationFailed(
                        f"expected {spec.expect_rows} row(s) changed, got {rowcount}"
                    )
        except ExpectationFailed as exc:
            return OperationResult(ok=False, error=f"{name} was refused: {exc}")
        except SQLAlchemyError as exc:
            log.warning("operation %s failed: %s", name, exc)
            return OperationResult(ok=False, error=f"{name} failed in the database", retryable=True)

        if spec.returns == "one":
            if not result_rows:
                return OperationResult(ok=False, error="not found")
            return OperationResult(ok=True, data=result_rows[0])
        if spec.returns == "many":
            return OperationResult(ok=True, data=result_rows)
        if spec.returns == "count":
            return OperationResult(ok=True, data=len(result_rows) if result_rows else rowcount)
        return OperationResult(ok=True, data={"rows": rowcount})
