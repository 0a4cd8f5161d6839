"""Hybrid search over the demo knowledge base with the real MiniLM embedder."""

from __future__ import annotations

import pytest

from helpline.knowledge import ANSWER_THRESHOLD, KnowledgeIndex, best_answer

PARAPHRASES = [
    ("the coffee I pull comes out sharp and acidic", "espresso-taste"),
    ("why did my bank show two payments to you for one purchase", "charges-on-your-statement"),
    ("I typed my password wrong too many times and now I'm blocked", "login-troubleshooting"),
    ("how many days until my money is back after I mail the grinder to you", "returns-and-refunds"),
    ("my router only does 5 gigahertz, will the espresso machine connect", "wifi-pairing"),
    ("what's the cheapest way to get my order and how long will it take", "shipping-and-delivery"),
]


@pytest.mark.parametrize(("question", "article"), PARAPHRASES)
def test_paraphrased_questions_find_the_right_article(demo_index: KnowledgeIndex, question: str, article: str) -> None:
    hits = demo_index.search(question, k=3)
    assert hits[0].article_id == article, [(h.article_id, h.score) for h in hits]


def test_a_clear_question_is_answered_with_a_quote(demo_index: KnowledgeIndex) -> None:
    hits = demo_index.search("what is BRIGHTBEAN*AUTH on my card statement?")
    assert hits[0].score >= ANSWER_THRESHOLD
    answer = best_answer(hits, min_confidence=ANSWER_THRESHOLD)
    assert answer is not None and answer.article_id == "charges-on-your-statement"
    assert "temporary $1 check" in answer.text and "**" not in answer.text


@pytest.mark.parametrize(
    "question",
    ["what's the capital of France", "can you fix my car", "asdf qwerty zxcv", "do you sell pizza ovens"],
)
def test_out_of_domain_questions_score_below_threshold(demo_index: KnowledgeIndex, question: str) -> None:
    hits = demo_index.search(question)
    assert all(h.score < ANSWER_THRESHOLD for h in hits), [(h.article_id, h.score) for h in hits]


def test_internal_articles_stay_internal(demo_index: KnowledgeIndex) -> None:
    staff_question = "what is the agent limit for goodwill store credit"
    assert all(h.article_id != "goodwill-credit" for h in demo_index.search(staff_question, k=5))
    assert demo_index.search(staff_question, audience="internal")[0].article_id == "goodwill-credit"
