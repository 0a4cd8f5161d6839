"""Answers to questions: from the knowledge base, or from the verified customer's own records.

Only what an article or a record says is ever stated; when neither covers the question, the agent
says it does not know and offers who can help (a `KnowledgeGap` is recorded for the knowledge team).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from helpline.conversation.commands import AskKnowledge, AskRecord, ChooseRecord, Interpretation
from helpline.conversation.events import KnowledgeGap
from helpline.conversation.ports import KnowledgeHit
from helpline.conversation.state import RequestRecord
from helpline.conversation.teamwork import TeamWork
from helpline.conversation.turn import Turn
from helpline.conversation.wording import language_name

ARTICLE_OFFER = "article:"  # pending_offer while "is this about <topic>?" waits for a yes or no

# (query, hits) -> does the best passage speak about what was asked? Supplied by the knowledge adapter.
CoverageCheck = Callable[[str, list[KnowledgeHit]], bool]
# (question, customer, turn facts) -> the answer lines, or None when the records do not say.
RecordAnswerer = Callable[[str, dict[str, Any], dict[str, Any]], "RecordReply | None"]


class RecordReply:
    """What the records say, worded by the adapter, with what was looked at."""

    def __init__(self, text: str, record_ids: list[str], focus_id: str | None = None, found: bool = True,
                 choices: dict[str, str] | None = None):
        self.text = text
        self.record_ids = record_ids
        self.focus_id = focus_id
        self.found = found
        self.choices = choices or {}  # the text asks which record is meant: each id read out, as it was described


class KnowledgeAnswers(TeamWork):
    kb_covers: CoverageCheck | None = None
    records: RecordAnswerer | None = None

    def _answer_knowledge(self, turn: Turn, command: AskKnowledge) -> None:
        hits = self.knowledge.search(command.query, k=3, language=turn.language)
        if self._answerable(command.query, hits, self.policy.kb_answer) and self._answer_from_kb(
                turn, command.query, hits):
            return
        if self._answer_asked_part(turn, command, hits):
            return
        matched_but_silent = (bool(hits) and hits[0].score >= self.policy.kb_answer and command.question
                              and (command.otherwise is None
                                   or command.otherwise.confidence < self.policy.procedure_over_silent_article))
        if (command.otherwise is not None and command.otherwise.procedure_id in self.procedures
                and not matched_but_silent):
            if command.otherwise.confidence < self.policy.procedure_confirm and not command.otherwise.slots:
                # a weak guess: check before starting ("is it that your machine won't power on?")
                turn.state.pending_offer = f"start:{command.otherwise.procedure_id}"
                self._say(turn, "did_you_mean", title=self.procedures[command.otherwise.procedure_id].title)
                return
            self._start_procedure(turn, command.otherwise.procedure_id, command.otherwise.slots)
            return
        if command.repair and self._answer_repair(turn, command.repair):
            return  # no procedure for the fault told either: what the business does about faults
        if self._offer_article(turn, command.query, hits, command.question):
            return
        turn.events.append(KnowledgeGap(command.query[:500], hits[0].score if hits else 0.0))
        if command.question and self._ask_team(turn, command.query):
            return
        if command.question:
            turn.state.pending_offer = "human"
            turn.state.misunderstandings += 1
            self._say(turn, "kb_dont_know")
            return
        self._misunderstood(turn, reprompt=None)

    def _answer_asked_part(self, turn: Turn, command: AskKnowledge, hits: list[KnowledgeHit]) -> bool:
        """The whole message found an article but could not answer from it (unsure, or the story around the question
        in words the article lacks), and the part that asks finds the same article surely, covering what it asks:
        answered from it. Another article found by the part alone answers nothing: "can I change it" alone is not
        about an order's address."""
        if not hits:
            return False
        for part in command.asked:
            part_hits = self.knowledge.search(part, k=3, language=turn.language)
            if (part_hits and part_hits[0].article_id == hits[0].article_id
                    and self._answerable(part, part_hits, self.policy.kb_answer)):
                return self._answer_from_kb(turn, part, part_hits)
        return False

    def _answer_repair(self, turn: Turn, repair: str) -> bool:
        """A fault told in words no article answers surely ("water's coming out from underneath"): what the business
        does about faults, from the article its repair query finds surely."""
        hits = self.knowledge.search(repair, k=3, language=turn.language)
        return self._answerable(repair, hits, self.policy.kb_answer) and self._answer_from_kb(turn, repair, hits)

    def _offer_article(self, turn: Turn, query: str, hits: list[KnowledgeHit], question: bool) -> bool:
        """The best article is fairly sure but not sure enough to answer: check with the caller ("is this about
        returning a damaged item?") rather than say we don't know. Not when a question finds an article sure but
        lacking its words (Nespresso pods in our machine): that article is no answer, and saying so is. A problem
        told, not asked ("my frother's stopped frothing, the milk just stays flat"), is told in the caller's own
        words, which the sure article seldom has: the article is offered rather than "I'm not sure I followed".
        Asked once per article in a conversation; "yes" answers from it (`answer_offered_article`), "no" asks them
        to say more."""
        state = turn.state
        if not hits or state.active is not None:
            return False
        fairly_sure = self.policy.kb_confirm <= hits[0].score < self.policy.kb_answer
        sure_but_told = not question and hits[0].score >= self.policy.kb_answer
        if not (fairly_sure or sure_but_told):
            return False
        best = hits[0]
        offer = f"{ARTICLE_OFFER}{best.article_id}"
        if offer in state.offers_made:
            return False
        state.offers_made.append(offer)
        state.pending_offer = offer
        state.offered_question = query[:500]
        self._say(turn, "did_you_mean_article", topic=offered_topic(best), title=best.title,
                  article=best.article_id)
        return True

    def answer_offered_article(self, turn: Turn, article_id: str) -> bool:
        """The caller said yes to "is this about <topic>?": answer their question from that article."""
        question = turn.state.offered_question
        turn.state.offered_question = ""
        hits = self.knowledge.search(question, k=3, language=turn.language)
        chosen = [h for h in hits if h.article_id == article_id]
        if not chosen or not self._answer_from_kb(turn, question, chosen + [h for h in hits if h not in chosen]):
            turn.events.append(KnowledgeGap(question, chosen[0].score if chosen else 0.0))
            turn.state.pending_offer = "human"
            self._say(turn, "kb_dont_know")
        return True

    def _side_answer(self, turn: Turn, query: str) -> bool:
        """A question asked mid-procedure: answer only when the knowledge base clearly covers it."""
        hits = self.knowledge.search(query, k=3, language=turn.language)
        threshold = self.policy.kb_answer if "?" in query else self.policy.kb_answer_mid_task
        return self._answerable(query, hits, threshold) and self._answer_from_kb(turn, query, hits)

    def _answerable(self, query: str, hits: list[KnowledgeHit], threshold: float) -> bool:
        if not hits or hits[0].score < threshold:
            return False
        return self.kb_covers is None or self.kb_covers(query, hits)

    def _answer_from_kb(self, turn: Turn, question: str, hits: list[KnowledgeHit]) -> bool:
        """Answer from the best article; False (nothing said) when the answerer finds the passages do not
        answer the question (a grounded answerer marks its answer `known=False`)."""
        state = turn.state
        best = hits[0]
        answer_text = best.text
        if self.kb_answer is not None:
            answer = self.kb_answer(question, hits)
            if answer is not None and getattr(answer, "known", True) is False:
                return False
            if answer is not None:
                answer_text = getattr(answer, "text", answer_text)
        tags = self._article_tags(best.article_id)
        self._tell_incidents(turn, tags=(best.article_id, *tags))
        if turn.language and best.language != turn.language:  # no variant in theirs: say it is in the pack's
            default = self.pack.business.languages[0] if self.pack.business.languages else "en"
            self._say(turn, "kb_answer_other_language", answer=answer_text, title=best.title,
                      article=best.article_id, article_language=language_name(default, turn.language))
        else:
            self._say(turn, "kb_answer", answer=answer_text, title=best.title, article=best.article_id)
        state.steps_taken.append(f"Answered from article '{best.title}'")
        state.misunderstandings = 0
        state.requests.append(RequestRecord("knowledge", best.title, "question", "low", "resolved",
                                            f"Answered from '{best.title}'", [best.article_id]))
        if state.active is None:
            state.pending_offer = "anything_else"
        return True

    def _article_tags(self, article_id: str) -> tuple[str, ...]:
        """Tags of an article, when the knowledge adapter keeps articles (for incident matching)."""
        articles = getattr(self.knowledge, "articles", None)
        if callable(articles):
            articles = articles()
        if not isinstance(articles, dict):
            return ()
        article = articles.get(article_id)
        return tuple(getattr(article, "tags", ()) or ())

    def _last_said_id(self, turn: Turn) -> str | None:
        """The record id most recently talked about (an order id given for a request), for "that one"
        and "the other one"."""
        state = turn.state
        ids = [t for t in self.pack.business.id_formats if t in state.known]
        if not ids:
            return None
        return state.known[max(ids, key=lambda t: state.known_turn.get(t, -1))]

    def _answer_record(self, turn: Turn, command: AskRecord) -> None:
        state = turn.state
        if not state.verified:
            state.pending_record_question = command.question[:500]
            if not state.verification.in_progress:
                self._begin_verification(turn)
                if state.verified:
                    state.pending_record_question = ""
                    self._answer_record(turn, command)
            return
        assert state.customer is not None
        facts = {"focus": state.record_focus or self._last_said_id(turn), "changes": list(state.changes_made),
                 "assurance": state.assurance}
        reply = self.records(command.question, state.customer, facts) if self.records else None
        if reply is None or not reply.found:
            self._say(turn, "record_not_found", looked_at=", ".join(reply.record_ids) if reply else "")
            state.steps_taken.append(f"Could not answer from the records: {command.question[:120]}")
        else:
            self._say(turn, "record_answer", answer=reply.text, looked_at=", ".join(reply.record_ids))
            if reply.choices:
                # "which order do you mean: ...?": the next message picks one (`answer_record_choice`), and the
                # question is answered about it; no "anything else?" meanwhile
                state.record_choices, state.record_choice_question = dict(reply.choices), command.question[:500]
                return
            state.steps_taken.append(f"Answered from records {', '.join(reply.record_ids)}")
            state.requests.append(RequestRecord("records", "Question about their own records", "question", "low",
                                                "resolved", f"Answered from {', '.join(reply.record_ids)}"))
            if reply.focus_id:
                state.record_focus = reply.focus_id
        if state.active is None:
            state.pending_offer = "anything_else"

    def answer_record_choice(self, turn: Turn, it: Interpretation, question: str) -> bool:
        """After "which order do you mean: ...?": the record picked becomes the one talked about, and the question
        that asked is answered about it. False when the message picked none (it is read as it comes)."""
        chosen = it.first(ChooseRecord)
        if chosen is None or not question:
            return False
        turn.state.record_focus = chosen.record_id
        self._answer_record(turn, AskRecord(question))
        return True


def offered_topic(hit: KnowledgeHit) -> str:
    """What "is this about <topic>?" names: the passage's section when it says what it is about ("How to make cold
    brew"), else the article's subject before it ("grinder jams - Still jammed", "Burr Grinder - Warranty"): a
    section heading alone ("Still jammed?", "Warranty") leaves the caller guessing what we mean."""
    title = hit.title.split(":")[-1].strip() or hit.title
    section = hit.section.rstrip("?").strip()
    if not section:
        return title
    if _subject_words(title) & _subject_words(section):
        return section
    return f"{title} - {section}"


def _subject_words(text: str) -> set[str]:
    return {word.removesuffix("s") for word in re.findall(r"[a-z]{3,}", text.lower())}
