from pathlib import Path

from sqlalchemy import create_engine, text

from helpline.connectors.sql import SqlOperations, seed_tables
from helpline.pack.models import OperationSpec, TableSpec


def make_ops(tmp_path: Path) -> SqlOperations:
    (tmp_path / "orders.csv").write_text("id,customer_id,status,total\nO-1,C-1,pending,10.5\nO-2,C-2,shipped,3\n")
    engine = create_engine(f"sqlite:///{tmp_path / 'records.db'}")
    seed_tables(engine, tmp_path, {"orders": TableSpec(file="orders.csv", key="id")})
    return SqlOperations(engine)


def test_seeded_columns_are_typed(tmp_path: Path) -> None:
    ops = make_ops(tmp_path)
    spec = OperationSpec(sql="SELECT * FROM orders WHERE id = :id", params={"id": "text"})
    result = ops.run("get", spec, {"id": "O-1"})
    assert result.ok and result.data == {"id": "O-1", "customer_id": "C-1", "status": "pending", "total": 10.5}


def test_seeding_never_overwrites_existing_data(tmp_path: Path) -> None:
    ops = make_ops(tmp_path)
    with ops.engine.begin() as conn:
        conn.execute(text("UPDATE orders SET status = 'cancelled' WHERE id = 'O-1'"))
    seed_tables(ops.engine, tmp_path, {"orders": TableSpec(file="orders.csv", key="id")})
    with ops.engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM orders WHERE id = 'O-1'")).scalar() == "cancelled"


def test_failed_expectation_rolls_back_every_statement(tmp_path: Path) -> None:
    ops = make_ops(tmp_path)
    spec = OperationSpec(
        sql=["UPDATE orders SET status = 'cancelled' WHERE id = :id AND status = 'pending'",
             "UPDATE orders SET total = 0 WHERE id = :id"],
        expect_rows=1, changes_data=True, params={"id": "text"}, returns="none",
    )
    refused = ops.run("cancel", spec, {"id": "O-2"})  # shipped: the first statement changes nothing
    assert not refused.ok and "refused" in refused.error
    with ops.engine.connect() as conn:
        assert conn.execute(text("SELECT total FROM orders WHERE id = 'O-2'")).scalar() == 3
    done = ops.run("cancel", spec, {"id": "O-1"})
    assert done.ok and done.data == {"rows": 1}


def test_not_found_and_database_errors_are_results_not_exceptions(tmp_path: Path) -> None:
    ops = make_ops(tmp_path)
    missing = ops.run("get", OperationSpec(sql="SELECT * FROM orders WHERE id = :id"), {"id": "nope"})
    assert not missing.ok and missing.error == "not found"
    broken = ops.run("bad", OperationSpec(sql="SELECT * FROM no_such_table"), {})
    assert not broken.ok and broken.retryable


def test_phone_numbers_and_leading_zero_codes_stay_text(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("id,phone,zip,age\n1,+15125550123,02134,41\n2,+15125550199,78701,37\n")
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    seed_tables(engine, tmp_path, {"people": TableSpec(file="people.csv", key="id")})
    result = SqlOperations(engine).run("p", OperationSpec(sql="SELECT * FROM people WHERE id = 1"), {})
    assert result.data == {"id": 1, "phone": "+15125550123", "zip": "02134", "age": 41}
