from __future__ import annotations

from pathlib import Path

import pytest

from helpline.knowledge import ArticleError, load_article, load_articles, parse_article, split_passages
from tests.knowledge.conftest import DEMO_KB

ARTICLE = """---
title: Returns and refunds
tags: [returns, refunds]
audience: customer
---
You can return most things within 30 days.

## How long do I have?
Thirty days from delivery.

## Labels
### Is the label free?
Yes, always.
"""


def test_front_matter_and_id_from_file_stem() -> None:
    a = parse_article(ARTICLE, "kb/returns-and-refunds.md")
    assert (a.id, a.title, a.tags, a.audience) == (
        "returns-and-refunds",
        "Returns and refunds",
        ("returns", "refunds"),
        "customer",
    )
    assert a.body.startswith("You can return")


def test_split_by_headings_with_lead_passage() -> None:
    passages = split_passages(parse_article(ARTICLE, "returns.md"))
    assert [(p.section, p.text) for p in passages] == [
        ("", "You can return most things within 30 days."),
        ("How long do I have?", "Thirty days from delivery."),
        # "## Labels" has no text of its own before its sub-heading, so it is no passage.
        ("Is the label free?", "Yes, always."),
    ]
    assert all(p.article_id == "returns" and p.article_title == "Returns and refunds" for p in passages)


def test_title_defaults_to_first_heading_then_file_stem() -> None:
    assert parse_article("# Gift cards\n\nThey never expire.", "kb/gifts.md").title == "Gift cards"
    no_heading = parse_article("---\ntags: [x]\n---\nJust text.", "kb/opening-hours.md")
    assert no_heading.title == "Opening hours"
    assert no_heading.audience == "customer"


def test_long_sections_are_cut_at_paragraphs() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 80 for i in range(10)]
    article = parse_article("## Long\n\n" + "\n\n".join(paragraphs), "long.md")
    chunks = split_passages(article)
    assert len(chunks) > 1
    assert all(len(c.text) <= 1200 for c in chunks)
    assert all(c.section == "Long" for c in chunks)
    assert [c.chunk for c in chunks] == list(range(len(chunks)))
    assert all(c.text.startswith("Paragraph") for c in chunks)


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.md"
    path.write_text("---\ntitle: Fine\ntags: [a, b\naudience: customer\n---\nBody\n", encoding="utf-8")
    with pytest.raises(ArticleError) as err:
        load_article(path)
    assert err.value.path == str(path)
    assert err.value.line in (3, 4, 5)  # the unclosed list is reported where YAML notices it
    assert str(err.value).startswith(f"{path}:{err.value.line}:")


def test_invalid_audience_and_unclosed_front_matter() -> None:
    with pytest.raises(ArticleError, match=r"a\.md:3: audience"):
        parse_article("---\ntitle: A\naudience: everyone\n---\nx", "a.md")
    with pytest.raises(ArticleError, match=r"b\.md:1: front matter .* never closed"):
        parse_article("---\ntitle: B\nbody", "b.md")


def test_demo_knowledge_base_is_complete() -> None:
    articles = load_articles(DEMO_KB)
    customer = [a for a in articles if a.audience == "customer"]
    internal = [a for a in articles if a.audience == "internal"]
    assert len(customer) >= 28 and len(internal) >= 2
    for a in articles:
        words = len(a.body.split())
        assert 150 <= words <= 600, (a.id, words)
        assert sum(1 for p in split_passages(a) if p.section) >= 3, a.id
