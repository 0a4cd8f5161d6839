"""Knowledge gaps: the questions the agent could not answer, grouped so each group can become one article.

Where the engine records them: when no article covers a question it emits a ``KnowledgeGap`` event and the
recorder marks the customer's line ``meta.kb_gap`` (application/recorder.py); when it asked a colleague instead
(team/), the question is also a ``team_questions`` row. The engine answers from an article only above the
policy's confidence (``EnginePolicy.kb_answer``), so a question answered with low confidence is a gap too;
answers it did give are not scored on the message, so they cannot be listed here.

Never listed: greetings, thanks, goodbyes and acknowledgements, and any question carrying personal data (an
email, phone, name, postcode, order id or a redacted secret) - the list is meant to be copied into articles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.conversation.ports import Embedder
from helpline.insight.clusters import MAX_DISTINCT, group_texts
from helpline.insight.texts import PersonalData, is_erased, is_social, normalised
from helpline.store.models import Message, TeamQuestion

SCAN = 20_000  # customer lines read per period (newest first)
EXAMPLES = 8
QUESTION_CHARS = 300


@dataclass(frozen=True)
class GapQuestion:
    text: str
    asked_at: datetime
    conversation_id: str | None


@dataclass(frozen=True)
class GapCluster:
    title: str  # the most typical question
    questions: tuple[str, ...]  # distinct questions, most asked first
    count: int  # times asked, over every conversation
    conversations: int
    last_asked: datetime

    def draft_link(self) -> str:
        """The console's article editor, prefilled from this group (console/insight.py)."""
        return "/console/insight/draft-article?" + urlencode(
            [("title", self.title[:120])] + [("q", q) for q in self.questions], doseq=True)


def article_draft(title: str, questions: Sequence[str]) -> str:
    """The body a new article starts from: what customers asked, and where the answer goes."""
    asked = "\n".join(f"- {q}" for q in questions if q.strip())
    return (f"Customers asked this and the agent had no answer:\n\n{asked}\n\n"
            "## Answer\n\nWrite the answer here, in words a customer would use.\n")


def load_gap_questions(session: Session, since: datetime, until: datetime) -> list[GapQuestion]:
    rows = session.execute(select(Message.text, Message.created_at, Message.conversation_id, Message.meta)
                           .where(Message.role == "customer", Message.created_at >= since,
                                  Message.created_at < until)
                           .order_by(Message.id.desc()).limit(SCAN))
    found = [GapQuestion(text, at, conversation_id) for text, at, conversation_id, meta in rows
             if (meta or {}).get("kb_gap")]
    seen = {(q.conversation_id, normalised(q.text)) for q in found}
    for question in session.scalars(select(TeamQuestion).where(TeamQuestion.asked_at >= since,
                                                               TeamQuestion.asked_at < until)):
        if (question.conversation_id, normalised(question.question)) not in seen:
            found.append(GapQuestion(question.question, question.asked_at, question.conversation_id))
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
            last_asked=max(q.asked_at for q in asked)))
    return clusters
