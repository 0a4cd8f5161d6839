"""Turn the best knowledge hit into a short customer-facing answer, quoted from the article.

Nothing is generated: the answer is the passage's own sentences, cleaned of Markdown and cut
at a sentence boundary, so the agent can never state a policy the business did not write.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from helpline.conversation.ports import KnowledgeHit
from helpline.knowledge.articles import Article, split_passages
from helpline.knowledge.markdown import strip_markdown

MAX_SENTENCES = 3
MAX_CHARS = 450

# A sentence ends at . ! ? followed by a space and a capital/digit/quote; "e.g. this" and
# "$4.99" do not end one.
_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(¿¡ÁÉÍÓÚÑÜÀÈÌÒÙÇÂÊÎÔÛÄËÏÖ])")
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


def best_answer(hits: Sequence[KnowledgeHit], min_confidence: float = 0.0,
                articles: Mapping[str, Article] | None = None) -> KBAnswer | None:
    """The top-ranked hit as a quoted answer, or None when there is no hit (or it is below ``min_confidence``).

    When the hit is an article's short lead ("it is most likely jammed; this is usually easy to fix"),
    the article's first section follows it, so a troubleshooting answer gives the first step too."""
    if not hits:
        return None
    top = hits[0]
    if top.score < min_confidence:
        return None
    text = trim_answer(top.text)
    if not text:
        return None
    article = (articles or {}).get(top.article_id)
    if article is not None and not top.section and len(text) < LEAD_ALONE_CHARS:
        first = next((p for p in split_passages(article) if p.section), None)
        if first is not None:
            text = f"{text}\n\n{first.section}: {trim_answer(first.text)}"
    return KBAnswer(
        text=text,
        article_id=top.article_id,
        article_title=top.title,
        section=top.section,
        confidence=top.score,
    )


LEAD_ALONE_CHARS = 300  # a lead shorter than this says what is wrong, not yet what to do

# Words that carry no topic: a question may use any of them without the passage doing so.
_FILLER = frozenset([
    "about", "after", "again", "also", "always", "another", "anything", "anyway", "back", "because", "been",
    "before", "being", "best", "better", "both", "bought", "came", "cannot", "come", "could", "didn", "does",
    "doesn", "doing", "done", "down", "each", "else", "even", "ever", "every", "from", "gets", "getting",
    "give", "going", "good", "have", "having", "hello", "here", "into", "just", "keep", "know", "like",
    "little", "long", "look", "looking", "made", "make", "many", "maybe", "more", "most", "much", "must",
    "need", "needs", "never", "next", "okay", "once", "only", "other", "over", "please", "pretty", "quite",
    "really", "right", "said", "same", "should", "since", "some", "something", "still", "stuff", "such", "sure",
    "take", "tell", "than", "thank", "thanks", "that", "their", "them", "then", "there", "these", "they",
    "thing", "things", "think", "this", "those", "though", "through", "time", "today", "told", "under", "until",
    "very", "want", "wanted", "wants", "week", "well", "were", "what", "when", "where", "which", "while",
    "will", "with", "without", "work", "would", "your", "yours", "yeah", "also", "able", "ones",
    "nothing", "come", "comes", "goes", "gets", "says",
])
# ...and the same in Spanish, accents folded (a Spanish question against a Spanish article)
_FILLER_ES = frozenset([
    "ahora", "algo", "alguien", "alguna", "alguno", "antes", "aqui", "ayuda", "ayudar", "ayudarme", "bien", "buenas",
    "buenos", "cada", "como", "cosa", "cosas", "cual", "cuales", "cuando", "cuanto", "debo", "decir", "desde",
    "despues", "donde", "entonces", "esta", "estas", "este", "esto", "estos", "estoy", "favor", "gracias", "hace",
    "hacer", "hasta", "hola", "mucho", "muchas", "mismo", "nada", "necesito", "otra", "otro", "para", "pero",
    "podria", "podrian", "poder", "porque", "puede", "pueden", "puedo", "pues", "quiero", "quisiera", "saber",
    "sabe", "seria", "sobre", "tambien", "tardes", "tengo", "tiene", "tienen", "todavia", "todo", "todos",
    "usted", "ustedes", "vale", "gustaria", "hacen", "hago", "noches", "dias", "ellos", "ella", "tiempo",
])
_TOKEN = re.compile(r"[a-z][a-z'-]{3,}")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def covers_question(query: str, hits: Sequence[KnowledgeHit]) -> bool:
    """Does the best passage speak about what was asked? False when a third or more of the question's
    topic words (at least two) appear nowhere in the retrieved passages: the index returned its
    nearest paragraph, not an answer ("do you sell Nespresso capsules?")."""
    words = {w.strip("'-") for w in _TOKEN.findall(_fold(query)) if "'" not in w.strip("'")} - _FILLER - _FILLER_ES
    if len(words) < 2 or not hits:
        return bool(hits)
    passages = _fold(" ".join(f"{h.title} {h.section} {h.text}" for h in hits[:3]))
    vocabulary = {w.strip("'-") for w in _TOKEN.findall(passages)}
    missing = [w for w in words if not any(_same_word(w, v) for v in vocabulary)]
    return not (len(missing) >= 2 and len(missing) * 3 >= len(words))


def _stem(word: str) -> str:
    for ending in ("ing", "ed", "es", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _same_word(word: str, other: str) -> bool:
    """Same word up to an ending ("steeping" / "steep", "capsule" / "capsules") or a small typo."""
    if word == other or _stem(word) == _stem(other):
        return True
    if len(word) >= 5 and len(other) >= 5 and word[:5] == other[:5]:
        return True
    # a typo keeps the first letter: "nespresso" is not "espresso"
    return len(word) >= 6 and word[0] == other[0] and fuzz.ratio(word, other) >= 88
