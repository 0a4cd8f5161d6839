from __future__ import annotations

from helpline.knowledge import KnowledgeIndex, parse_article
from tests.knowledge.conftest import HashingEmbedder

KETTLE = parse_article(
    "---\ntitle: Smart Kettle\n---\nA gooseneck kettle.\n\n## Temperature\nSet it from 104 to 212 degrees.\n",
    "smart-kettle.md",
)
RETURNS = parse_article(
    "---\ntitle: Returns\n---\nReturn within 30 days.\n\n## Return label\nThe return label is free.\n",
    "returns.md",
)
GOODWILL = parse_article(
    "---\ntitle: Goodwill credit\naudience: internal\n---\nAgents may offer a $15 credit.\n\n"
    "## Limits\nThe goodwill credit limit is $15 per customer.\n",
    "goodwill.md",
)


def _ids(index: KnowledgeIndex, query: str, audience: str = "customer") -> list[str]:
    return [h.article_id for h in index.search(query, k=3, audience=audience)]


def test_bm25_only_index_works_without_embedder() -> None:
    index = KnowledgeIndex(None)
    index.build([KETTLE, RETURNS])
    hits = index.search("is the return label free?")
    assert hits[0].article_id == "returns"
    assert hits[0].section == "Return label"
    assert all(0.0 <= h.score <= 1.0 for h in hits)


def test_add_update_remove_take_effect_at_once(hashing_embedder: HashingEmbedder) -> None:
    index = KnowledgeIndex(hashing_embedder)
    index.build([KETTLE])
    assert "returns" not in _ids(index, "return label")

    index.add_or_update(RETURNS)
    assert _ids(index, "return label")[0] == "returns"

    edited = parse_article(
        "---\ntitle: Returns\n---\nReturn within 60 days.\n\n## Postage\nWe refund postage for faulty items.\n",
        "returns.md",
    )
    index.add_or_update(edited)
    hits = index.search("refund postage faulty")
    assert hits[0].article_id == "returns" and hits[0].section == "Postage"
    assert all("label" not in p.text for p in index.passages)

    assert index.remove("returns") is True
    assert index.remove("returns") is False
    assert _ids(index, "refund postage faulty") == ["smart-kettle"]


def test_edit_only_embeds_changed_passages(hashing_embedder: HashingEmbedder) -> None:
    index = KnowledgeIndex(hashing_embedder)
    index.build([KETTLE, RETURNS])
    hashing_embedder.calls.clear()
    index.add_or_update(
        parse_article(
            "---\ntitle: Returns\n---\nReturn within 30 days.\n\n## Return label\nIt's prepaid.\n",
            "returns.md",
        )
    )
    assert len(hashing_embedder.calls) == 1 and "prepaid" in hashing_embedder.calls[0]


def test_internal_articles_are_never_returned_to_customers(hashing_embedder: HashingEmbedder) -> None:
    for embedder in (hashing_embedder, None):
        index = KnowledgeIndex(embedder)
        index.build([KETTLE, RETURNS, GOODWILL])
        for query in ("goodwill credit limit", "what is the $15 credit", "agents"):
            assert "goodwill" not in _ids(index, query)
        assert _ids(index, "goodwill credit limit", audience="internal")[0] == "goodwill"


def test_empty_index_and_stopword_query() -> None:
    index = KnowledgeIndex(None)
    assert index.search("anything") == []
    index.build([KETTLE])
    hits = index.search("can you please")
    assert all(h.score < 0.5 for h in hits)


SHIPPING = parse_article(
    "---\ntitle: Shipping\n---\nWe ship within the United States.\n\n## Do you ship internationally?\n"
    "Not at the moment: we only deliver within the United States.\n",
    "shipping.md",
)
BEANS = parse_article(
    "---\ntitle: Coffee beans\n---\nRoasted every week.\n\n## Decaf\nWe don't sell a decaf coffee yet.\n",
    "beans.md",
)


def test_a_near_synonym_or_another_form_of_the_articles_word_finds_it() -> None:
    index = KnowledgeIndex(None)
    index.build([KETTLE, RETURNS, SHIPPING, BEANS])
    posted = index.search("do you post to Canada?")
    assert posted[0].article_id == "shipping" and posted[0].section == "Do you ship internationally?"
    sent_back = index.search("how long have I got to send it back?")
    assert sent_back[0].article_id == "returns"
    decaf = index.search("do you do decaffeinated beans?")
    assert decaf[0].article_id == "beans" and decaf[0].section == "Decaf"


def test_a_near_synonym_counts_less_than_the_word_itself() -> None:
    index = KnowledgeIndex(None)
    said = parse_article("---\ntitle: Posting\n---\nWe post parcels on Mondays.\n", "posting.md")
    index.build([SHIPPING, said])
    assert index.search("when do you post my order?")[0].article_id == "posting"
