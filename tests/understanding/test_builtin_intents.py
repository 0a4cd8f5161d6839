from __future__ import annotations

from helpline.understanding.builtin_intents import BUILTIN_INTENTS

EXPECTED = {
    "greet",
    "thanks",
    "bye",
    "affirm",
    "deny",
    "human",
    "repeat",
    "complaint",
    "out_of_scope",
    "nevermind",
}


def test_names_are_exactly_the_documented_ones() -> None:
    assert set(BUILTIN_INTENTS) == EXPECTED


def test_each_intent_has_enough_varied_phrases() -> None:
    for name, phrases in BUILTIN_INTENTS.items():
        assert 15 <= len(phrases) <= 40, name
        assert len({p.lower() for p in phrases}) == len(phrases), f"duplicate phrase in {name}"


def test_no_phrase_belongs_to_two_intents() -> None:
    seen: dict[str, str] = {}
    for name, phrases in BUILTIN_INTENTS.items():
        for p in phrases:
            assert p.lower() not in seen, f"{p!r} in {name} and {seen[p.lower()]}"
            seen[p.lower()] = name
