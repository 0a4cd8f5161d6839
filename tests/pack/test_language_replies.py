from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpline.pack.loader import PackInvalid, load_pack

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    root = tmp_path / "pack"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("var", "*.db", "__pycache__"))
    return root


def test_demo_pack_has_spanish_replies() -> None:
    pack = load_pack(DEMO)
    spanish = pack.replies_by_language["es"]
    assert {"language_not_supported", "greeting", "goodbye", "you_are_welcome"} <= set(spanish)
    assert all(isinstance(v, list) and v for v in spanish.values())
    assert "en" not in pack.replies_by_language


def test_language_files_are_read_by_code(pack_copy: Path) -> None:
    (pack_copy / "templates" / "replies.fr.yaml").write_text(
        'greeting: "Bonjour !"\nlanguage_not_supported:\n  - "Je ne parle que {{ pack_language }}."\n')
    (pack_copy / "templates" / "replies.pt-BR.yaml").write_text('goodbye: ["Tchau!"]\n')
    pack = load_pack(pack_copy)
    assert pack.replies_by_language["fr"]["language_not_supported"] == ["Je ne parle que {{ pack_language }}."]
    assert pack.replies_by_language["pt-BR"] == {"goodbye": ["Tchau!"]}
    assert set(pack.replies_by_language) == {"es", "fr", "pt-BR"}


def test_a_pack_without_language_files(pack_copy: Path) -> None:
    (pack_copy / "templates" / "replies.es.yaml").unlink()
    assert load_pack(pack_copy).replies_by_language == {}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("replies.spanish.yaml", "greeting: [Hola]\n", "not a language code"),
        ("replies.fr.yaml", "- just a list\n", "must map reply keys to wording"),
        ("replies.fr.yaml", "greeting: [Bonjour]\nbye: {not: wording}\n", "bye"),
        ("replies.fr.yaml", "greeting: [Bonjour\n", "templates/replies.fr.yaml"),
    ],
)
def test_bad_language_files_are_reported_with_the_file(pack_copy: Path, name: str, content: str,
                                                       message: str) -> None:
    (pack_copy / "templates" / name).write_text(content)
    with pytest.raises(PackInvalid) as caught:
        load_pack(pack_copy)
    assert any(message in str(error) and f"templates/{name}" in str(error) for error in caught.value.errors)
