"""A caller's e-mail address, web address or phone number is no part of what they ask about."""

from __future__ import annotations

from helpline.knowledge import KnowledgeIndex
from helpline.knowledge.contact_details import without_contact_details
from tests.knowledge.conftest import HashingEmbedder
from tests.knowledge.test_index import KETTLE, RETURNS


def test_addresses_and_phone_numbers_go_topic_words_and_codes_stay() -> None:
    said = ("Is the E202 code on order 10482 bad? Email ana.lopez@example.org, see www.example.org/x "
            "or call +1 (312) 555-0147")
    kept = without_contact_details(said).split()
    assert kept == ["Is", "the", "E202", "code", "on", "order", "10482", "bad?", "Email", ",", "see", "or", "call"]
    assert without_contact_details("between 9 and 5, 12 oz or 16 oz for $24.99") == \
        "between 9 and 5, 12 oz or 16 oz for $24.99"


def test_an_address_that_reads_like_an_article_word_does_not_move_the_search(
        hashing_embedder: HashingEmbedder) -> None:
    index = KnowledgeIndex(hashing_embedder)
    index.build([KETTLE, RETURNS])
    plain = index.search("how hot does the kettle get? Call me on or write to")
    with_address = index.search("how hot does the kettle get? Call me on 312-555-0147 or write to returns@example.org")
    assert with_address[0].article_id == "smart-kettle"
    assert [(h.article_id, h.score) for h in with_address] == [(h.article_id, h.score) for h in plain]
