"""Knowledge base: Markdown articles, hybrid (BM25 + embeddings) search, quoted answers."""

from helpline.knowledge.answer import KBAnswer, best_answer, trim_answer
from helpline.knowledge.articles import (
    Article,
    ArticleError,
    Passage,
    load_article,
    load_articles,
    parse_article,
    split_passages,
)
from helpline.knowledge.index import ANSWER_THRESHOLD, Calibration, KnowledgeIndex, tokenize

__all__ = [
    "ANSWER_THRESHOLD",
    "Article",
    "ArticleError",
    "Calibration",
    "KBAnswer",
    "KnowledgeIndex",
    "Passage",
    "best_answer",
    "load_article",
    "load_articles",
    "parse_article",
    "split_passages",
    "tokenize",
    "trim_answer",
]
