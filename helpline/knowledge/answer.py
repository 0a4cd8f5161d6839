"""Turn the best knowledge hit into a short customer-facing answer, quoted from the article.

Nothing is generated: the answer is the passage's own sentences, cleaned of Markdown and cut
at a sentence boundary, so the agent can never state a policy the business did not write.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from helpline.conversation.ports import KnowledgeHit
from helpline.knowledge.markdown import strip_markdown

MAX_SENTENCES = 3
MAX_CHARS = 450

# A sentence ends at . ! ? followed by a space and a capital/digit/quote; "e.g. this" and
# "$4.99" do not end one.
_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "approx.", "Mr.", "Ms.", "Dr.", "St.", "vs.", "No.")


@dataclass(frozen=True)
class KBAnswer:
    text: str
    article_id: str
    article_title: str
    section: str
    confidence: float


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for paragraph in text.split("\n\n"):
        buf = ""
        for part in _SENTENCE.split(paragraph.strip()):
            buf = f"{buf} {part}" if buf else part
            if not buf.endswith(_ABBREVIATIONS):
                sentences.append(buf.strip())
                buf = ""
        if buf:
            sentences.append(buf.strip())
    return [s for s in sentences if s]


def trim_answer(text: str, max_sentences: int = MAX_SENTENCES, max_chars: int = MAX_CHARS) -> str:
    sentences = split_sentences(strip_markdown(text))
    out: list[str] = []
    for s in sentences:
        candidate = " ".join([*out, s])
        if len(out) >= max_sentences or (out and len(candidate) > max_chars):
            break
        out.append(s)
    answer = " ".join(out)
    if len(answer) > max_chars:
        # One very long sentence: cut at a word and say so rather than return a wall of text.
        answer = answer[:max_chars].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return answer


def best_answer(hits: Sequence[KnowledgeHit], min_confidence: float = 0.0) -> KBAnswer | None:
    """The top-ranked hit as a quoted answer, or None when there is no hit (or it is below ``min_confidence``)."""
    if not hits:
        return None
    top = hits[0]
    if top.score < min_confidence:
        return None
    text = trim_answer(top.text)
    if not text:
        return None
    return KBAnswer(
        text=text,
        article_id=top.article_id,
        article_title=top.title,
        section=top.section,
        confidence=top.score,
    )
