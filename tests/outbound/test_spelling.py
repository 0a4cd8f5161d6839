"""Every default message template, and the demo pack's own, is spelled correctly (pyspellchecker's English
dictionary; template expressions and a few words of the trade are left out)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from spellchecker import SpellChecker

from helpline.tickets.emails import DEFAULTS_DIR, TemplateName

DEMO_TEMPLATES = Path(__file__).resolve().parents[2] / "examples" / "demo" / "templates"
# Words the dictionary lacks that a support message rightly uses.
TRADE_WORDS = {"callback", "brightbean", "app", "sms", "ok", "email", "emails"}
EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")


def _templates() -> list[Path]:
    own = [DEFAULTS_DIR / f"{name}.j2" for name in TemplateName]
    return own + sorted(DEMO_TEMPLATES.glob("*.j2"))


def misspelt(text: str, checker: SpellChecker) -> set[str]:
    words = {w.lower() for w in WORD.findall(EXPRESSION.sub(" ", text))}
    words = {w[:-2] if w.endswith("'s") else w for w in words}  # possessives ("business's"); contractions are words
    return {w for w in checker.unknown(words) if w not in TRADE_WORDS}


def test_the_check_finds_a_misspelling() -> None:
    assert misspelt("We recieved your mesage.", SpellChecker()) == {"recieved", "mesage"}


@pytest.mark.parametrize("path", _templates(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_template_is_spelled_correctly(path: Path) -> None:
    assert misspelt(path.read_text(encoding="utf-8"), SpellChecker()) == set()
