"""Built-in SQL tables: a system of record for a business that has none of its own.

The tables live with Helpline's database (business_tables.py says where). A declared table is created with
its columns' types, keys and indexes, empty or seeded from the pack's CSV/JSON file the first time; the
deprecated inferred form takes its columns from the file's first row and guesses their types. Operations are
parameterised SQL run in one transaction; their results are plain JSON data.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    create_engine,
    inspect,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import TypeEngine

from helpline.conversation.ports import OperationResult
from helpline.pack.expressions import json_data
from helpline.pack.models import OperationSpec, TableSpec
from helpline.pack.seeds import declared_rows, numbered_rows

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


def _read_raw_rows(path: Path) -> list[dict[str, Any]]:
    """A CSV file's rows (text values), or a JSON file's list of objects (or object of objects)."""
    return [row for _, row in numbered_rows(path)]


def _read_rows(path: Path) -> list[dict[str, Any]]:
    rows = _read_raw_rows(path)
    return [{k: (json.dumps(v) if isinstance(v, dict | list) else v) for k, v in r.items()} for r in rows]


_COLUMN_TYPES: dict[str, Callable[[], TypeEngine[Any]]] = {
    # on SQLite only an INTEGER primary key numbers new rows itself
    "text": Text, "integer": lambda: BigInteger().with_variant(Integer(), "sqlite"),
    "decimal": lambda: Numeric(18, 4), "number": Float, "boolean": Boolean, "date": Date,
    "datetime": lambda: DateTime(timezone=False), "json": Text,
}


def _declared_table(name: str, spec: TableSpec, metadata: MetaData) -> Table:
    table = Table(
        name,
        metadata,
        *[Column(column, _COLUMN_TYPES[col.type](), primary_key=col.key, nullable=not (col.required or col.key))
          for column, col in spec.columns.items()],
    )
    for columns in spec.indexes:
        Index(f"ix_{name}_{'_'.join(columns)}", *[table.c[c] for c in columns])
    return table


def _create_declared(engine: Engine, name: str, spec: TableSpec, root: Path, existing: set[str]) -> None:
    metadata = MetaData()
    table = _declared_table(name, spec, metadata)
    if name in existing:
        # an existing table keeps its data; indexes declared since are added, missing columns reported
        present = {c["name"] for c in inspect(engine).get_columns(name)}
        missing = [c for c in spec.columns if c not in present]
        if missing:
            log.warning("table %s exists without the declared column(s) %s; they are not added automatically",
                        name, missing)
        for index in table.indexes:
            if all(c.name in present for c in index.columns):
                index.create(engine, checkfirst=True)
        return
    rows = declared_rows(name, spec, root)
    with engine.begin() as conn:
        table.create(conn)
        if rows:
            conn.execute(table.insert(), rows)
    log.info("created table %s (%d declared columns) with %d seed rows", name, len(spec.columns), len(rows))


def seed_tables(engine: Engine, root: Path, tables: Mapping[str, TableSpec]) -> None:
    """Create and fill each table that does not exist yet (existing data is never overwritten)."""
    existing = set(inspect(engine).get_table_names())
    metadata = MetaData()
    for name, spec in tables.items():
        if spec.declared:
            _create_declared(engine, name, spec, root, existing)
            continue
        if name in existing:
            continue
        assert spec.file is not None  # the model requires it without declared columns
        log.warning("table %s: columns inferred from %s are deprecated; declare them (docs/business-pack.md)",
                    name, spec.file)
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
                        result_rows = [json_data(dict(r._mapping)) for r in result]
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
