"""`helpline customer erase` and `helpline retention run`, as real subprocesses on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpline.store.db import Database
from tests.cli.test_cli import ROOT, run
from tests.privacy.seed import AISHA_TRACES, LUCAS_TRACES, rows_with, seed
from tests.store.conftest import _empty_postgres, postgres_url  # noqa: F401 (fixture)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, seeded database a subprocess can open too."""
    if request.param == "postgres":
        db = Database(request.getfixturevalue("postgres_url"))
        _empty_postgres(db)
    else:
        db = Database(f"sqlite:///{tmp_path / 'helpline.db'}")
        db.migrate()
    seed(db)
    try:
        yield db
    finally:
        if request.param == "postgres":
            _empty_postgres(db)
        db.dispose()


def test_customer_erase_dry_run_then_erase_then_nothing_held(database: Database, tmp_path: Path) -> None:
    demo = str(ROOT / "examples" / "demo")
    preview = run("customer", "erase", "C-1038", "--dry-run", "--db", database.url, "--pack", demo, cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr[-2000:]
    assert "Would erase" in preview.stdout and "Nothing was changed" in preview.stdout
    assert rows_with(database, AISHA_TRACES)
    erased = run("customer", "erase", "C-1038", "--db", database.url, "--pack", demo, cwd=tmp_path)
    assert erased.returncode == 0, erased.stderr[-2000:]
    assert "Erased" in erased.stdout and "conversations" in erased.stdout and "customer_erasure" in erased.stdout
    assert rows_with(database, AISHA_TRACES) == []
    again = run("customer", "erase", "aisha.patel@example.com", "--db", database.url, "--pack", demo, cwd=tmp_path)
    assert again.returncode == 1 and "No personal data is held" in again.stdout and "erased 20" in again.stdout
    unknown = run("customer", "erase", "C-9999", "--db", database.url, "--pack", demo, cwd=tmp_path)
    assert unknown.returncode == 1 and "erased" not in unknown.stdout


def test_retention_run_uses_the_packs_setting(database: Database, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(ROOT / "examples" / "demo", pack, ignore=shutil.ignore_patterns("*.db"))
    business = pack / "business.yaml"
    business.write_text(business.read_text() + "retention:\n  transcripts_days: 30\n  recordings_days: 7\n")
    preview = run("retention", "run", "--pack", str(pack), "--db", database.url, "--dry-run", cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr[-2000:]
    assert "transcripts 30 days, recordings 7 days" in preview.stdout and "Would anonymise" in preview.stdout
    assert rows_with(database, LUCAS_TRACES, skip=("customers", "customer_identities", "audit_log"))
    result = run("retention", "run", "--pack", str(pack), "--db", database.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 contact(s) past their age kept until their callback is made" in result.stdout
    assert rows_with(database, LUCAS_TRACES, skip=("customers", "customer_identities", "audit_log")) == []
    business.write_text(business.read_text() + "  audit_days: 0\n")
    refused = run("retention", "run", "--pack", str(pack), "--db", database.url, cwd=tmp_path)
    assert refused.returncode == 2 and "not valid" in refused.stderr
