"""Texts per language in a pack: settled on the first language, checked against business.languages, and the
variant files (knowledge/<id>.<lang>.md, templates/<name>.<lang>.j2) named for a language the pack speaks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpline.pack.loader import PackInvalid, load_pack
from helpline.tickets.emails import render_message

BILINGUAL = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "bilingual"


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    root = tmp_path / "pack"
    shutil.copytree(BILINGUAL, root)
    return root


def _errors(root: Path) -> list[str]:
    with pytest.raises(PackInvalid) as raised:
        load_pack(root)
    return [str(error) for error in raised.value.errors]


def test_per_language_texts_become_the_wording_of_the_first_language_text() -> None:
    pack = load_pack(BILINGUAL)
    slot = pack.procedures["book_visit"].slots["postcode"]
    assert slot.prompt == "What's the postcode of the address (five digits)?"
    assert pack.replies_by_language["es"][slot.prompt] == ["¿Cuál es el código postal de la dirección (cinco cifras)?"]
    assert pack.replies_by_language["es"]["anything_else"] == ["¿Puedo ayudarle en algo más?"]  # replies file kept
    option = pack.procedures["book_visit"].slots["part_of_day"].options[1]
    assert option.shown == "Afternoon" and "Por la tarde" in option.synonyms


def test_the_first_language_comes_first_whatever_the_order_written(pack_copy: Path) -> None:
    path = pack_copy / "procedures" / "report_fault.yaml"
    path.write_text(path.read_text().replace('''      en: "Since when has it been happening?"
      es: "¿Desde cuándo le pasa?"''', '''      es: "¿Desde cuándo le pasa?"
      en: "Since when has it been happening?"'''))
    assert load_pack(pack_copy).procedures["report_fault"].slots["since"].prompt == "Since when has it been happening?"


def test_a_language_the_pack_does_not_speak_and_a_missing_first_language_are_errors(pack_copy: Path) -> None:
    path = pack_copy / "procedures" / "report_fault.yaml"
    path.write_text(path.read_text().replace('''      en: "Since when has it been happening?"
      es: "¿Desde cuándo le pasa?"''', '''      es: "¿Desde cuándo le pasa?"
      fr: "Depuis quand ?"''').replace("  es:\n    - no me funciona", "  de:\n    - no me funciona"))
    errors = _errors(pack_copy)
    assert any("report_fault.yaml" in e and "language 'fr' is not one of business.yaml's languages" in e
               for e in errors)
    assert any("report_fault.yaml" in e and "give the en wording too" in e for e in errors)
    assert any("report_fault.yaml" in e and "language 'de'" in e for e in errors)


def test_a_broken_template_in_another_language_is_reported_with_its_line(pack_copy: Path) -> None:
    path = pack_copy / "procedures" / "report_fault.yaml"
    path.write_text(path.read_text().replace('es: "¿Desde cuándo le pasa?"', 'es: "¿Desde {{ cuándo"'))
    errors = _errors(pack_copy)
    assert any(e.startswith("procedures/report_fault.yaml:") and "prompt (es)" in e for e in errors), errors


def test_variant_files_must_name_a_language_of_the_pack(pack_copy: Path) -> None:
    (pack_copy / "knowledge" / "router-lights.fr.md").write_text("Un voyant rouge...")
    (pack_copy / "knowledge" / "payment-methods.en.md").write_text("You can pay...")
    (pack_copy / "templates" / "recap_email.it.j2").write_text("Ciao")
    errors = _errors(pack_copy)
    assert any(e.startswith("knowledge/router-lights.fr.md:1") and "'fr' is not one of" in e for e in errors)
    assert any(e.startswith("knowledge/payment-methods.en.md:1") and "payment-methods.md" in e for e in errors)
    assert any(e.startswith("templates/recap_email.it.j2:1") for e in errors)


def test_an_email_template_is_chosen_in_the_conversation_language() -> None:
    pack = load_pack(BILINGUAL)
    names = {"business": {"name": pack.business.name}, "customer": {"first_name": "Lucía"}, "reference": 42,
             "problem": "una visita técnica", "greeting": "Hello,", "closing": "Warm regards,", "done": [],
             "reach_us": "", "plan": None, "persona": pack.business.persona.model_dump()}
    spanish = render_message(pack, "recap_email", names, email=True, language="es")
    assert spanish.subject == "Resumen de su consulta 42" and spanish.text.startswith("Hola Lucía:")
    english = render_message(pack, "recap_email", names, email=True, language="")
    assert english.subject is not None and "Resumen" not in english.subject and "Hola" not in english.text
    assert render_message(pack, "recap_email", names, email=True, language="fr").text == english.text
