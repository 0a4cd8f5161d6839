from __future__ import annotations

from helpline.conversation.ports import KnowledgeHit
from helpline.knowledge import best_answer, trim_answer

TEXT = (
    "We refund to your **original payment method** within 5–7 business days of the item arriving "
    "back at our [warehouse](https://example.com/wh). You'll get an email when we've issued it, e.g. "
    "when the parcel is scanned. Your bank may take a few extra days to show it. Standard shipping "
    "is $4.99. This fifth sentence must not appear."
)


def _hit(text: str, score: float = 0.8) -> KnowledgeHit:
    return KnowledgeHit("returns-and-refunds", "Returns and refunds", "How long does a refund take?", text, score)


def test_best_answer_trims_at_sentence_boundary_and_names_the_article() -> None:
    answer = best_answer([_hit(TEXT), _hit("Other text.", 0.3)])
    assert answer is not None
    assert answer.text == (
        "We refund to your original payment method within 5–7 business days of the item arriving back at "
        "our warehouse. You'll get an email when we've issued it, e.g. when the parcel is scanned. Your "
        "bank may take a few extra days to show it."
    )
    assert (answer.article_id, answer.article_title) == ("returns-and-refunds", "Returns and refunds")
    assert answer.section == "How long does a refund take?"
    assert answer.confidence == 0.8


def test_answer_is_extracted_not_invented() -> None:
    answer = best_answer([_hit("## Heading\n- Standard takes 3–5 days\n- *Express* takes 1–2 days\n")])
    assert answer is not None
    assert answer.text == "Heading. Standard takes 3–5 days. Express takes 1–2 days."


def test_character_limit_keeps_whole_sentences() -> None:
    sentences = [f"Sentence number {i} has some filler words to make it longer than usual." for i in range(3)]
    long_first = "A" * 330 + " end. " + " ".join(sentences)
    text = trim_answer(long_first, max_chars=450)
    assert text.endswith(".") and len(text) <= 450
    assert text.count("Sentence") == 1


def test_one_huge_sentence_is_cut_at_a_word() -> None:
    text = trim_answer("word " * 200)
    assert len(text) <= 451 and text.endswith("…")


def test_no_hits_or_low_confidence_gives_no_answer() -> None:
    assert best_answer([]) is None
    assert best_answer([_hit(TEXT, 0.2)], min_confidence=0.5) is None
