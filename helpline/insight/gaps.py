"""Knowledge gaps: the questions the agent could not answer, or answered on weak grounds, grouped so each group
can become one article.

Where the engine records them: when no article covers a question it emits a ``KnowledgeGap`` event and the
recorder marks the customer's line ``meta.kb_gap`` (application/recorder.py); when it asked a colleague instead
(team/), the question is also a ``team_questions`` row. The confidence of the answers it did give is not stored,
so questions it took for knowledge questions (``meta.intent == "ask_knowledge"``) are scored again against
today's knowledge base: below ``LOW_CONFIDENCE`` (answers given run from about 0.8 to 1.0 on the demo pack; the
engine answers from 0.5) the question is listed as answered with low confidence. Only lines that read as a
question (a question mark, a question word first, "I'd like to know") are listed: "my machine is leaking" is a
request a procedure handles, and "it's been days, still nothing" (also marked ``kb_gap``) no article answers.

Never listed: greetings, thanks, goodbyes and acknowledgements, and any question carrying personal data (an
email, phone, name, postcode, order id or a redacted secret) - the list is meant to be copied into articles.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.conversation.ports import Embedder, KnowledgeSearch
from helpline.insight.clusters import MAX_DISTINCT, group_texts
from helpline.insight.texts import PersonalData, is_erased, is_social, normalised
from helpline.store.models import Message, TeamQuestion

SCAN = 20_000  # customer lines read per period (newest first)
EXAMPLES = 8
QUESTION_CHARS = 300
LOW_CONFIDENCE = 0.7  # the best article's calibrated confidence below which an answered question is a gap
RESCORED = 300  # answered questions scored again per period (newest first): one knowledge search each
_QUESTION = re.compile(r"\?|^\W*(?:how|what|when|where|why|which|who|can|could|do|does|did|is|are|will|would|should"
                       r"|have|has|any|tell me)\b|\b(?:wondering|want to know|like to know|need to know)\b", re.I)
# the knowledge base's best confidence for a question (console: the running index; CLI: one built from the pack)
Scorer = Callable[[str], float]


@dataclass(frozen=True)
class GapQuestion:
    text: str
    asked_at: datetime
    conversation_id: str | None
    low_confidence: bool = False  # answered, but today's best article barely matches


@dataclass(frozen=True)
class GapCluster:
    title: str  # the most typical question
    questions: tuple[str, ...]  # distinct questions, most asked first
    count: int  # times asked, over every conversation
    conversations: int
    last_asked: datetime
    low_confidence: int = 0  # of ``count``, answered with low confidence (the rest: not answered)

    def draft_link(self) -> str:
        """The console's article editor, prefilled from this group (console/insight.py)."""
        return "/console/insight/draft-article?" + urlencode(
            [("title", self.title[:120])] + [("q", q) for q in self.questions], doseq=True)


def article_draft(title: str, questions: Sequence[str]) -> str:
    """The body a new article starts from: what customers asked, and where the answer goes."""
    asked = "\n".join(f"- {q}" for q in questions if q.strip())
    return (f"Customers have asked:\n\n{asked}\n\n"
            "## Answer\n\nWrite the answer here, in words a customer would use, then remove these notes.\n")


def knowledge_scorer(knowledge: KnowledgeSearch) -> Scorer:
    def best(question: str) -> float:
        hits = knowledge.search(question, k=1)
        return hits[0].score if hits else 0.0

    return best


def load_gap_questions(session: Session, since: datetime, until: datetime,
                       scorer: Scorer | None = None) -> list[GapQuestion]:
    """Unanswered questions in [since, until); with a ``scorer``, answered ones that score low today too."""
    rows = list(session.execute(select(Message.text, Message.created_at, Message.conversation_id, Message.meta)
                                .where(Message.role == "customer", Message.created_at >= since,
                                       Message.created_at < until)
                                .order_by(Message.id.desc()).limit(SCAN)))
    # the engine marks a line it could not place at all as a gap too ("it's been days, still nothing"): only
    # questions are listed (a team question always is one)
    found = [GapQuestion(text, at, conversation_id) for text, at, conversation_id, meta in rows
             if (meta or {}).get("kb_gap") and _QUESTION.search(text)]
    if scorer is not None:
        answered = [GapQuestion(text, at, conversation_id, low_confidence=True)
                    for text, at, conversation_id, meta in rows
                    if (meta or {}).get("intent") == "ask_knowledge" and not (meta or {}).get("kb_gap")
                    and _QUESTION.search(text)][:RESCORED]
        scores: dict[str, float] = {}
        for question in answered:
            key = normalised(question.text)
            if key not in scores:
                scores[key] = scorer(question.text[:QUESTION_CHARS])
            if scores[key] < LOW_CONFIDENCE:
                found.append(question)
    seen = {(q.conversation_id, normalised(q.text)) for q in found}
    for asked in session.scalars(select(TeamQuestion).where(TeamQuestion.asked_at >= since,
                                                            TeamQuestion.asked_at < until)):
        if (asked.conversation_id, normalised(asked.question)) not in seen:
            found.append(GapQuestion(asked.question, asked.asked_at, asked.conversation_id))
    return found


def listable(question: GapQuestion, personal: PersonalData) -> bool:
    text = question.text
    return bool(text.strip()) and not is_erased(text) and not is_social(text) and not personal.contains(text)


def cluster_gaps(questions: Sequence[GapQuestion], embedder: Embedder, personal: PersonalData,
                 threshold: float | None = None) -> list[GapCluster]:
    """Listable questions de-duplicated (same words) and grouped by meaning, the most asked group first."""
    by_line: dict[str, list[GapQuestion]] = {}
    for question in questions:
        if listable(question, personal):
            by_line.setdefault(normalised(question.text), []).append(question)
    keys = sorted(by_line, key=lambda k: -len(by_line[k]))[:MAX_DISTINCT]
    weights = [len(by_line[k]) for k in keys]
    grouping = group_texts(embedder, [by_line[k][0].text[:QUESTION_CHARS] for k in keys], weights,
                           threshold=threshold)
    clusters = []
    for group in range(grouping.groups):
        members = sorted(grouping.members(group), key=lambda i: -weights[i])
        asked = [q for i in members for q in by_line[keys[i]]]
        clusters.append(GapCluster(
            title=grouping.texts[grouping.typical(group, weights)].strip(),
            questions=tuple(grouping.texts[i].strip() for i in members[:EXAMPLES]),
            count=len(asked), conversations=len({q.conversation_id for q in asked}),
            last_asked=max(q.asked_at for q in asked), low_confidence=sum(q.low_confidence for q in asked)))
    return clusters
