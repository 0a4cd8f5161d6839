"""Declared business tables (issue 15, item 8) on SQLite and PostgreSQL: the declared types, keys and indexes
are the database's, a table may start empty, seeds come from CSV or JSON, and a seed that does not fit its
declaration is refused with the file, row and column named."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url

from helpline.connectors.business_tables import records_url_in_schema
from helpline.connectors.sql import SqlOperations, seed_tables
from helpline.pack.loader import load_pack
from helpline.pack.models import OperationSpec, TableSpec
from helpline.pack.seeds import SeedError

PACK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "valley-fibre"
POSTGRES_URL = os.environ.get("HELPLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = create_engine(f"sqlite:///{tmp_path / 'records.db'}")
        yield made
        made.dispose()
        return
    schema = f"declared_{uuid.uuid4().hex[:10]}"  # a schema of its own: other tests share the database
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server: say so rather than fail obscurely
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    made = create_engine(records_url_in_schema(make_url(POSTGRES_URL), schema))
    try:
        yield made
    finally:
        made.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def fibre_tables() -> dict[str, TableSpec]:
    return load_pack(PACK).operations.tables


def test_declared_types_keys_and_indexes_are_the_databases(engine: Engine) -> None:
    seed_tables(engine, PACK, fibre_tables())
    found = inspect(engine)
    columns = {c["name"]: c for c in found.get_columns("accounts")}
    kinds = {name: type(c["type"]).__name__.upper() for name, c in columns.items()}
    assert kinds["balance"] == "NUMERIC" and kinds["opened"] == "DATE" and kinds["active"] == "BOOLEAN"
    assert kinds["id"] in ("TEXT", "VARCHAR") and not columns["holder"]["nullable"]
    assert found.get_pk_constraint("accounts")["constrained_columns"] == ["id"]
    indexed = sorted(tuple(i["column_names"]) for i in found.get_indexes("accounts"))
    assert indexed == [("holder", "town"), ("town",)]


def test_an_empty_table_and_seeds_from_csv_and_json(engine: Engine) -> None:
    seed_tables(engine, PACK, fibre_tables())
    ops = SqlOperations(engine)
    assert ops.run("n", OperationSpec(sql="SELECT count(*) AS n FROM installations"), {}).data == {"n": 0}
    towns = ops.run("t", OperationSpec(sql="SELECT name, region FROM towns ORDER BY name", returns="many"), {})
    assert [t["name"] for t in towns.data] == ["Eastwick", "Millbrook", "Stonebridge"]
    added = ops.run("add", OperationSpec(sql="INSERT INTO installations (account_id, day) VALUES (:a, :d)",
                                         returns="none", params={"a": "text", "d": "date"}),
                    {"a": "VF-1001", "d": "2026-12-04"})
    assert added.ok
    row = ops.run("get", OperationSpec(sql="SELECT id, day FROM installations"), {}).data
    assert row["id"] == 1 and row["day"] == "2026-12-04"


def test_typed_values_come_back_typed_and_compare_as_their_type(engine: Engine) -> None:
    seed_tables(engine, PACK, fibre_tables())
    ops = SqlOperations(engine)
    old = ops.run("old", OperationSpec(sql="SELECT id, balance, opened FROM accounts WHERE opened < :day "
                                           "ORDER BY opened", params={"day": "date"}, returns="many"),
                  {"day": "2022-01-01"})
    assert [(r["id"], r["opened"]) for r in old.data] == [("VF-1003", "2019-07-30"), ("VF-1001", "2021-03-14")]
    assert old.data[0]["balance"] == -12.75 and old.data[1]["balance"] == 42.5
    active = ops.run("a", OperationSpec(sql="SELECT id FROM accounts WHERE active = true ORDER BY id",
                                        returns="many"), {})
    assert [r["id"] for r in active.data] == ["VF-1001", "VF-1002"]


def test_seeding_again_keeps_the_data_and_adds_new_indexes(engine: Engine) -> None:
    tables = fibre_tables()
    seed_tables(engine, PACK, tables)
    with engine.begin() as connection:
        connection.execute(text("UPDATE accounts SET town = 'Eastwick' WHERE id = 'VF-1001'"))
    tables["accounts"] = tables["accounts"].model_copy(update={"indexes": [["town"], ["opened"]]})
    seed_tables(engine, PACK, tables)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT town FROM accounts WHERE id = 'VF-1001'")).scalar() == "Eastwick"
    assert ("opened",) in {tuple(i["column_names"]) for i in inspect(engine).get_indexes("accounts")}


@pytest.mark.parametrize(("rows", "said"), [
    ("id,holder,balance\nX-1,Ann,12.5\n", "'balance'"),                       # not declared below
    ("id,holder\nX-1,\n", "column 'holder' is required"),
])
def test_a_seed_that_does_not_fit_is_refused_with_where(tmp_path: Path, rows: str, said: str) -> None:
    (tmp_path / "people.csv").write_text(rows)
    spec = TableSpec.model_validate({"columns": {"id": {"type": "text", "key": True},
                                                 "holder": {"type": "text", "required": True}},
                                     "seed": "people.csv"})
    with pytest.raises(SeedError, match=r"people\.csv row 1") as raised:
        seed_tables(create_engine(f"sqlite:///{tmp_path / 'r.db'}"), tmp_path, {"people": spec})
    assert said in str(raised.value)


def test_a_value_of_the_wrong_type_names_row_and_column(tmp_path: Path) -> None:
    shutil.copytree(PACK / "data", tmp_path / "data")
    (tmp_path / "data" / "accounts.csv").write_text("id,holder,opened\nVF-1,Ann,2021-03-14\nVF-2,Bo,last May\n")
    with pytest.raises(SeedError, match=r"accounts.csv row 2 \(line 3\), column 'opened': 'last May' is not a date"):
        seed_tables(create_engine(f"sqlite:///{tmp_path / 'r.db'}"), tmp_path, fibre_tables())
