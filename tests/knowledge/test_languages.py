"""Article variants per language (knowledge/<id>.<lang>.md): a question is answered from the variant in the
conversation's language when the article has one, else from the article in the pack's own language, and
never from two variants of one article at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpline.knowledge import KnowledgeIndex, load_articles, parse_article, tokenize
from helpline.knowledge.answer import best_answer, covers_question
from tests.knowledge.conftest import HashingEmbedder

BILINGUAL_KB = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "bilingual" / "knowledge"


@pytest.fixture(params=["bm25", "hybrid"])
def index(request: pytest.FixtureRequest) -> KnowledgeIndex:
    built = KnowledgeIndex(HashingEmbedder() if request.param == "hybrid" else None)
    built.build(load_articles(BILINGUAL_KB))
    return built


def test_a_variant_is_named_by_its_file() -> None:
    article = parse_article("---\ntitle: Luces\n---\nTexto.", "knowledge/router-lights.es.md")
    assert (article.id, article.base_id, article.language) == ("router-lights.es", "router-lights", "es")
    plain = parse_article("Text.", "knowledge/router-lights.md")
    assert (plain.id, plain.base_id, plain.language) == ("router-lights", "router-lights", "")
    # a dot that is not a language code is part of the name
    assert parse_article("Text.", "knowledge/release-2.1.md").language == ""


def test_a_spanish_question_is_answered_from_the_spanish_variant(index: KnowledgeIndex) -> None:
    hits = index.search("¿Qué significa la luz roja del router?", language="es")
    assert hits[0].article_id == "router-lights.es" and hits[0].language == "es"
    assert hits[0].score >= 0.5
    assert "router-lights" not in [h.article_id for h in hits]  # never the English one beside it
    answer = best_answer(hits, articles=index.articles)
    assert answer is not None and "luz roja" in answer.text and "red" not in answer.text


def test_an_english_question_never_sees_the_spanish_variant(index: KnowledgeIndex) -> None:
    hits = index.search("what does the red light on the router mean", language="")
    assert hits[0].article_id == "router-lights"
    assert all(h.language == "" for h in hits)


def test_an_article_without_a_variant_answers_in_the_pack_language(index: KnowledgeIndex) -> None:
    hits = index.search("¿puedo pagar con direct debit?", language="es")
    assert hits[0].article_id == "payment-methods" and hits[0].language == ""  # said so by the engine
    ids = [h.article_id for h in hits]
    assert len(ids) == len({i.split(".")[0] for i in ids})  # one variant per article


def test_a_language_without_variants_gets_the_pack_articles(index: KnowledgeIndex) -> None:
    hits = index.search("red light router", language="fr")
    assert [h.language for h in hits] == ["", ""]


def test_spanish_words_fold_and_lose_their_stopwords() -> None:
    assert tokenize("¿Cuál es la contraseña del Wi-Fi?", "es") == ["contrasena", "wi", "fi"]
    assert tokenize("the router's lights", "") == ["router", "light"]  # English as before


def test_a_spanish_question_is_covered_by_a_spanish_passage(index: KnowledgeIndex) -> None:
    question = "¿Qué significa la luz roja del router?"
    assert covers_question(question, index.search(question, language="es"))
    off_topic = "¿Venden entradas para el concierto de mañana?"
    assert not covers_question(off_topic, index.search(off_topic, language="es"))
