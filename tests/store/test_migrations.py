"""The packaged Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, Table, inspect

from helpline.store.db import MIGRATIONS_DIR, Database
from helpline.store.models import Base


def _differences(db: Database, metadata: MetaData = Base.metadata) -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(context, metadata))


def test_migrated_schema_matches_models(db: Database) -> None:
    assert _differences(db) == []


def test_comparison_would_notice_a_difference(db: Database) -> None:
    # Guards against a vacuous pass: an extra model column must show up as a difference.
    changed = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    Table("tickets", changed, Column("escalation_reason", String(50)), extend_existing=True)
    assert any("escalation_reason" in repr(diff) for diff in _differences(db, changed))


def test_migrate_is_idempotent_and_versioned(db: Database) -> None:
    db.migrate()
    with db.engine.connect() as conn:
        # the one head of the packaged scripts (two engineers adding a migration each must not leave two)
        heads = ScriptDirectory.from_config(db.alembic_config()).get_heads()
        assert len(heads) == 1 and MigrationContext.configure(conn).get_current_revision() == heads[0]
    assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(db.engine).get_table_names())


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    db.migrate()
    with db.engine.begin() as conn:
        command.downgrade(db.alembic_config(conn), "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.migrate()
    assert _differences(db) == []
    db.dispose()


def test_migrations_ship_inside_the_package() -> None:
    # No alembic.ini: the script location is found relative to the installed package.
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "__init__.py").is_file()
    assert not (MIGRATIONS_DIR / "alembic.ini").exists()
