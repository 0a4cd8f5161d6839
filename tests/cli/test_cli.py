"""The command line, run as a user would: as a real subprocess of the installed `helpline` script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELPLINE = [sys.executable, "-m", "helpline.cli.main"]


def run(*args: str, cwd: Path, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HELPLINE, *args], cwd=cwd, input=stdin, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_pack_validate_accepts_the_demo(tmp_path: Path) -> None:
    result = run("pack", "validate", str(ROOT / "examples" / "demo"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_pack_validate_lists_errors_with_file_and_line(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(ROOT / "examples" / "demo", pack)
    business = pack / "business.yaml"
    business.write_text(business.read_text().replace("timezone: America/Chicago", "timezone: Mars/Olympus"))
    result = run("pack", "validate", str(pack), cwd=tmp_path)
    assert result.returncode == 1
    assert "business.yaml:" in result.stderr and "Mars/Olympus" in result.stderr


def test_pack_schema_is_json_schema(tmp_path: Path) -> None:
    import json

    result = run("pack", "schema", cwd=tmp_path)
    schema = json.loads(result.stdout)
    assert "procedures/*.yaml" in schema["files"]


def test_apikey_create_prints_the_key_last(tmp_path: Path) -> None:
    result = run("apikey", "create", "--role", "admin", "--db", f"sqlite:///{tmp_path / 'h.db'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("hl_") and len(key) > 30
    bad = run("apikey", "create", "--role", "emperor", "--db", f"sqlite:///{tmp_path / 'h.db'}", cwd=tmp_path)
    assert bad.returncode != 0


def test_chat_in_the_terminal(tmp_path: Path) -> None:
    result = run("chat", "--pack", str(ROOT / "examples" / "demo"), "--db", f"sqlite:///{tmp_path / 'h.db'}",
                 cwd=tmp_path, stdin="What's your return policy?\nbye\n", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Bea:" in result.stdout
    assert "Returns and refunds" in result.stdout
    assert "Ticket #" in result.stdout


def test_serve_refuses_a_malformed_sip_allow_from_before_starting() -> None:
    from typer.testing import CliRunner

    from helpline.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--sip-allow-from", "10.0.0.5", "--sip-allow-from", "proxy.lan",
                                      "--port", "1"])
    assert result.exit_code == 2
    words = " ".join(result.output.replace("│", " ").split())  # the message as Rich boxed and wrapped it
    assert "'proxy.lan' is not an address or network" in words
