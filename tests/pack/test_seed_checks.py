"""`pack validate` reads the declared tables' seed files: a row that does not fit its columns is reported
with its file and line instead of crashing `pack test` or startup (found with examples/sandhill-fiber)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpline.pack.loader import PackInvalid, load_pack

SANDHILL = Path(__file__).resolve().parents[2] / "examples" / "sandhill-fiber"


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SANDHILL, tmp_path / "pack"))


def _errors(pack: Path) -> list[str]:
    with pytest.raises(PackInvalid) as caught:
        load_pack(pack)
    return [str(error) for error in caught.value.errors]


def _append(path: Path, line: str) -> int:
    text = path.read_text()
    path.write_text(text + ("" if text.endswith("\n") else "\n") + line + "\n")
    return len(path.read_text().splitlines())


@pytest.mark.parametrize(("row", "problem"), [
    ("Lone Pine,CO,81199,true,3,spare", "6 values for the header's 5 columns"),
    ("Lone Pine,CO,81199,maybe,3", "column 'served': 'maybe' is not a boolean"),
    ("Lone Pine,CO,81199,true,three", "column 'visits_per_day': 'three' is not a integer"),
])
def test_a_seed_row_that_does_not_fit_is_reported_at_its_line(tmp_path: Path, row: str, problem: str) -> None:
    pack = _copy(tmp_path)
    line = _append(pack / "data" / "towns.csv", row)
    errors = _errors(pack)
    assert len(errors) == 1 and errors[0].startswith(f"data/towns.csv:{line}:") and problem in errors[0], errors


def test_a_missing_seed_file_is_reported(tmp_path: Path) -> None:
    pack = _copy(tmp_path)
    (pack / "data" / "towns.csv").unlink()
    assert any("data/towns.csv" in e and "does not exist" in e for e in _errors(pack))


def test_a_label_of_an_unknown_slot_is_reported(tmp_path: Path) -> None:
    pack = _copy(tmp_path)
    procedure = pack / "procedures" / "book_visit.yaml"
    procedure.write_text(procedure.read_text().replace("{{ labels.kind }}", "{{ labels.kidn }}"))
    assert any("unknown slot 'kidn' (did you mean 'kind'?)" in e for e in _errors(pack))
