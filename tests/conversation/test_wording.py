from __future__ import annotations

import pytest

from helpline.conversation.wording import (
    BUILTIN_LANGUAGE_REPLIES,
    LANGUAGE_NAMES,
    TemplateWording,
    language_name,
)

FACTS = {"business": {"name": "Brightbean"}, "persona": {"name": "Bea"}}
SPANISH = {"greeting": ["¡Hola! Soy {{ persona.name }}."], "goodbye": ["¡Adiós!", "¡Hasta pronto!"],
           "language_not_supported": ["Solo hablo {{ pack_language }}."]}


@pytest.fixture
def wording() -> TemplateWording:
    return TemplateWording({"greeting": ["Hi, I'm {{ persona.name }}."]}, {"es": SPANISH}, language="en")


def test_the_language_file_is_used_when_it_has_the_key(wording: TemplateWording) -> None:
    assert wording.render_avoiding("greeting", FACTS, (), 0, language="es") == "¡Hola! Soy Bea."
    assert wording.render("language_not_supported", FACTS, language="es") == "Solo hablo inglés."


def test_missing_keys_and_languages_fall_back_to_the_pack_language(wording: TemplateWording) -> None:
    assert wording.render_avoiding("anything_else", FACTS, (), 0, language="es").startswith("Is there")
    assert wording.render_avoiding("greeting", FACTS, (), 0, language="fr") == "Hi, I'm Bea."
    assert wording.render_avoiding("greeting", FACTS, (), 0) == "Hi, I'm Bea."
    assert wording.render_avoiding("greeting", FACTS, (), 0, language="en") == "Hi, I'm Bea."


def test_avoiding_still_rotates_in_another_language(wording: TemplateWording) -> None:
    first = wording.render_avoiding("goodbye", FACTS, (), 0, language="es")
    second = wording.render_avoiding("goodbye", FACTS, (first,), 0, language="es")
    assert {first, second} == {"¡Adiós!", "¡Hasta pronto!"}


def test_builtin_language_not_supported_when_the_pack_has_no_file(wording: TemplateWording) -> None:
    assert wording.render("language_not_supported", FACTS, language="fr") == (
        "Désolé, je ne peux vous aider qu'en anglais. Voulez-vous que je vous mette en relation avec un membre de "
        "notre équipe ?")
    assert "英语" in wording.render("language_not_supported", FACTS, language="zh")
    assert "Englisch" in wording.render("language_not_supported", FACTS, language="de")
    # a language with no built-in line: the pack's own (English) wording
    english = wording.render("language_not_supported", FACTS, language="sv")
    assert english == wording.render("language_not_supported", FACTS)
    assert "English" in english


@pytest.mark.parametrize("lang", sorted(BUILTIN_LANGUAGE_REPLIES))
def test_every_builtin_line_renders_and_names_the_pack_language(lang: str) -> None:
    for pack_language in ("en", "es", "de"):
        wording = TemplateWording(language=pack_language)
        line = wording.render("language_not_supported", FACTS, language=lang)
        if lang == pack_language:
            continue  # the pack's own language: its replies.yaml wording
        assert language_name(pack_language, lang) in line
        assert "{{" not in line


def test_builtin_lines_cover_the_major_languages() -> None:
    assert {"es", "fr", "de", "pt", "it", "nl", "zh", "ja", "ar", "hi"} <= set(BUILTIN_LANGUAGE_REPLIES)
    assert set(BUILTIN_LANGUAGE_REPLIES) <= set(LANGUAGE_NAMES)


def test_language_names() -> None:
    assert language_name("en", "es") == "inglés"
    assert language_name("de", "fr") == "allemand"
    assert language_name("nl", "es") == "Nederlands"  # no Spanish name for Dutch: its own name
    assert language_name("xx", "es") == "xx"


def test_a_given_pack_language_fact_wins(wording: TemplateWording) -> None:
    assert wording.render("language_not_supported", {**FACTS, "pack_language": "Klingon"}, language="es") == (
        "Solo hablo Klingon.")


def test_defaults_without_languages_are_unchanged() -> None:
    wording = TemplateWording({"apology": ["Sorry!"]})
    assert wording.render("apology", FACTS) == "Sorry!"
    assert wording.variants("apology") == ["Sorry!"]
    assert wording.variants("apology", "es") == ["Sorry!"]
    assert wording.render("{{ business.name }} rocks", FACTS) == "Brightbean rocks"
