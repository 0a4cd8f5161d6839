from __future__ import annotations

from helpline.knowledge import KnowledgeIndex, parse_article
from helpline.knowledge.index import ANSWER_THRESHOLD, Calibration
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


# --- a question naming a product ---------------------------------------------------------------------

_ESPRESSO_PRO = parse_article("---\ntitle: Espresso Pro\n---\nThe Espresso Pro is our dual boiler espresso machine.\n\n"
                              "## Price\nThe Espresso Pro costs $649.\n", "espresso-pro.md")
_PRICE_MATCH = parse_article("---\ntitle: Price match\n---\nWe match a lower price from another retailer.\n",
                             "price-match.md")
_KETTLE_MATCH = parse_article("---\ntitle: Smart Kettle\n---\nA gooseneck kettle.\n\n## Lower price\nThe kettle is $89 "
                              "and we match a lower price from another retailer.\n", "smart-kettle.md")
# confidence from the share of the question's words a passage has (BM25 features: coverage, margin, bm25)
_BY_COVERAGE = Calibration(-8.5, (10.0, 0.0, 0.0))
_CATALOGUE = ["Espresso Pro", "Smart Kettle"]
_POLICY_QUESTION = "will you match the espresso pro price from another retailer?"


def test_a_policy_question_naming_a_product_is_answered_surely_from_the_policy() -> None:
    unnamed = KnowledgeIndex(None, calibration=_BY_COVERAGE)
    unnamed.build([_ESPRESSO_PRO, _PRICE_MATCH])
    assert unnamed.search(_POLICY_QUESTION)[0].score < ANSWER_THRESHOLD  # the product's words are not the policy's

    named = KnowledgeIndex(None, calibration=_BY_COVERAGE, products=_CATALOGUE)
    named.build([_ESPRESSO_PRO, _PRICE_MATCH])
    best = named.search(_POLICY_QUESTION)[0]
    assert best.article_id == "price-match" and best.score >= ANSWER_THRESHOLD
    # a question about the product itself stays with the product
    assert named.search("what does the espresso pro cost?")[0].article_id == "espresso-pro"


def test_an_article_about_another_product_is_not_taken_for_the_policy() -> None:
    index = KnowledgeIndex(None, calibration=_BY_COVERAGE, products=_CATALOGUE)
    index.build([_ESPRESSO_PRO, _KETTLE_MATCH])
    assert index.search(_POLICY_QUESTION)[0].score < ANSWER_THRESHOLD  # the kettle's terms are not the Pro's


def test_a_product_said_the_callers_way_is_searched_by_its_name() -> None:
    plain = KnowledgeIndex(None)
    plain.build([_ESPRESSO_PRO, KETTLE, RETURNS])
    assert plain.search("what does the expresso pro cost?")[0].score < ANSWER_THRESHOLD
    index = KnowledgeIndex(None, products=["Espresso One", "Espresso Pro"])
    index.build([_ESPRESSO_PRO, KETTLE, RETURNS])
    best = index.search("what does the expresso pro cost?")[0]
    assert best.article_id == "espresso-pro" and best.score >= ANSWER_THRESHOLD


_COLD_BREW = parse_article("---\ntitle: Cold Brew Maker\n---\nThe Cold Brew Maker is a glass carafe in two sizes.\n",
                           "cold-brew-maker.md")
_DAMAGED = parse_article("---\ntitle: Returns\n---\n## Damaged on arrival\nIf your order arrived cracked or broken, "
                         "send us a photo and we send a new one.\n", "returns.md")


def test_a_policy_question_is_not_answered_by_the_products_article_sure_only_by_its_name() -> None:
    index = KnowledgeIndex(None, calibration=Calibration(-4.0, (10.0, 0.0, 0.0)), products=["Cold Brew Maker"])
    index.build([_COLD_BREW, _DAMAGED])
    best = index.search("my cold brew maker arrived cracked")[0]
    assert best.article_id == "returns" and best.score >= ANSWER_THRESHOLD
    # what the question asks beyond the name is the product's own: the product's article answers it
    assert index.search("how big is the cold brew maker carafe")[0].article_id == "cold-brew-maker"


_GRINDERS = parse_article("---\ntitle: Hand Grinder and Hand Grinder Max\n---\nTwo hand grinders for coffee beans.\n\n"
                          "## Guarantee\nBoth grinders are guaranteed for a year; the guarantee article says how to "
                          "claim.\n", "grinders.md")
_GUARANTEE = parse_article("---\ntitle: Guarantee\n---\n## How long is the guarantee?\nEvery product is guaranteed for "
                           "a year against faults.\n", "guarantee.md")


def test_a_question_naming_no_product_is_answered_by_the_policy_both_articles_answer_surely() -> None:
    index = KnowledgeIndex(None, calibration=Calibration(-4.0, (10.0, 0.0, 0.0)),
                           products=["Hand Grinder", "Hand Grinder Max"])
    index.build([_GRINDERS, _GUARANTEE])
    ranked = index.rank("are the grinders guaranteed")
    assert ranked[0].passage.article_id == "grinders"  # both sure, the products' article first
    hits = index.search("are the grinders guaranteed")
    assert hits[0].article_id == "guarantee" and hits[0].score >= ANSWER_THRESHOLD
    # named, the product's own article answers
    assert index.search("is the hand grinder max guaranteed")[0].article_id == "grinders"


_ABROAD = parse_article("---\ntitle: Delivery\n---\n## Delivery times\nWe post parcels within two days.\n\n"
                        "## Do you deliver abroad?\nNo, only to UK addresses.\n", "delivery.md")


def test_a_country_named_finds_the_passage_on_delivering_abroad() -> None:
    index = KnowledgeIndex(None)
    index.build([_ABROAD, KETTLE, RETURNS])
    assert index.rank("can you post it to norway")[0].passage.section == "Do you deliver abroad?"


def test_when_the_first_ranked_article_is_unsure_the_surest_comes_first() -> None:
    # a calibration that trusts a smaller BM25 score more, so the fused ranking and the confidence disagree
    index = KnowledgeIndex(None, calibration=Calibration(1.5, (0.0, 0.0, -10.0)))
    index.build([KETTLE, RETURNS])
    ranked = index.rank("kettle return label temperature")
    assert ranked[0].passage.article_id == "returns"  # the fused ranking's first ...
    hits = index.search("kettle return label temperature")
    # ... is unsure, and the engine answers from (or offers) the first hit: the sure one goes first
    assert [h.article_id for h in hits] == ["smart-kettle", "returns"]
    assert hits[0].score >= ANSWER_THRESHOLD > hits[1].score
