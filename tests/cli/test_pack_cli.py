"""`helpline pack test / new / docs / validate`, run as a user runs them: the installed command in a subprocess."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli.test_cli import ROOT, run

DEMO = ROOT / "examples" / "demo"


def test_pack_test_passes_the_demo_packs_own_conversations(tmp_path: Path) -> None:
    result = run("pack", "test", str(DEMO), cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    conversations = len(list((DEMO / "tests").glob("*.yaml")))
    assert 5 <= conversations <= 8
    assert f"{conversations} passed, 0 failed" in result.stdout
    assert "Cancel a pending order" in result.stdout


def test_pack_test_fails_a_broken_expectation_and_says_what_the_agent_said(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(DEMO, pack, ignore=shutil.ignore_patterns("tools"))
    conversation = pack / "tests" / "price_of_a_machine.yaml"
    conversation.write_text(conversation.read_text().replace('says: ["349"]', 'says: ["999"]'))
    result = run("pack", "test", str(pack), "--only", "price", cwd=tmp_path, timeout=600)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 passed, 1 failed" in result.stdout
    assert "expected the reply to say '999'" in result.stdout
    assert "349" in result.stdout  # what the agent did say


def test_pack_test_reports_a_test_file_naming_an_unknown_procedure_with_its_line(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(DEMO, pack, ignore=shutil.ignore_patterns("tools"))
    (pack / "tests" / "typo.yaml").write_text("turns:\n  - customer: cancel my order\n    expect:\n"
                                             "      starts: cancel_ordr\n")
    result = run("pack", "test", str(pack), cwd=tmp_path)
    assert result.returncode == 2
    assert "tests/typo.yaml:4: starts: no procedure 'cancel_ordr' in the pack" in result.stderr


def test_pack_new_with_defaults_validates_and_passes_its_own_test(tmp_path: Path) -> None:
    created = run("pack", "new", "fresh", "--defaults", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert run("pack", "validate", "fresh", cwd=tmp_path).returncode == 0
    tested = run("pack", "test", "fresh", cwd=tmp_path, timeout=600)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    assert "1 passed, 0 failed" in tested.stdout
    assert run("pack", "new", "fresh", "--defaults", cwd=tmp_path).returncode == 2  # never overwrites


def test_pack_new_asks_with_prompts(tmp_path: Path) -> None:
    answers = "\n".join(["Fibre North", "Europe/London", "mon-fri", "08:00-18:00", "technical, billing", "both",
                         "Report an outage", "my internet is down; the fibre is not working; no connection", "y"])
    created = run("pack", "new", "fibre", cwd=tmp_path, stdin=answers + "\n")
    assert created.returncode == 0, created.stdout + created.stderr
    assert run("pack", "validate", "fibre", cwd=tmp_path).returncode == 0
    business = (tmp_path / "fibre" / "business.yaml").read_text()
    assert "Fibre North" in business and "technical" in business and "person_name" in business
    assert (tmp_path / "fibre" / "procedures" / "report_an_outage.yaml").exists()


def test_pack_docs_check_says_the_reference_is_current() -> None:
    result = run("pack", "docs", "--check", cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_pack_validate_lists_several_mistakes_at_once(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(DEMO, pack)
    procedure = pack / "procedures" / "order_status.yaml"
    procedure.write_text(procedure.read_text().replace("| date", "| dat").replace("slots.order_id", "slots.ordr_id"))
    result = run("pack", "validate", str(pack), cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown filter 'dat' (did you mean 'date'?)" in result.stderr
    assert "unknown slot 'ordr_id' (did you mean 'order_id'?)" in result.stderr
