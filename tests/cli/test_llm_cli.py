"""`helpline llm …` run as a user would (a real subprocess): the errors say what to install or choose."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpline.llm.local_model import QWEN_CODER_15B, is_installed

HELPLINE = [sys.executable, "-m", "helpline.cli.main"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HELPLINE, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_an_unknown_model_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    result = run("llm", "model-path", "--model", "gpt-17", cwd=tmp_path)
    assert result.returncode == 2
    assert "qwen2.5-coder-0.5b" in result.stderr and "qwen2.5-coder-1.5b" in result.stderr


def test_a_model_whose_packages_are_missing_names_its_extra(tmp_path: Path) -> None:
    if is_installed(QWEN_CODER_15B):
        pytest.skip("the large model is installed here: nothing is missing to report")
    result = run("llm", "model-path", "--model", "qwen2.5-coder-1.5b", "--cache-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "helpline[llm-large]" in result.stderr
    assert not list(tmp_path.iterdir())  # nothing half-joined left behind
