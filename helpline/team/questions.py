"""Questions the agent asked the team: listing them for the console, relaying a colleague's answer, and giving
up after the pack's wait (the application layer between the console, the store and the engine)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from helpline.application.conversations import ConversationService, TurnView
from helpline.application.recorder import as_utc
from helpline.conversation.events import TurnResult
from helpline.conversation.state import ConversationState
from helpline.conversation.turn import TurnContext
from helpline.store.models import Conversation, TeamQuestion, Ticket
from helpline.store.repositories import AuditLog


class QuestionClosed(RuntimeError):
    """The question was answered or given up on already."""


@dataclass(frozen=True)
class OpenQuestion:
    id: str
    question: str
    asked_at: datetime
    conversation_id: str | None
    ticket_number: int | None
    customer_still_here: bool


class TeamQuestions:
    def __init__(self, conversations: ConversationService, clock: Callable[[], datetime] | None = None):
        self.conversations = conversations
        self.clock = clock or conversations.clock

    def open(self, limit: int = 100) -> list[OpenQuestion]:
        with self.conversations.db.read_session() as session:
            rows = session.execute(
                select(TeamQuestion, Ticket.number, Conversation.status)
                .outerjoin(Ticket, Ticket.id == TeamQuestion.ticket_id)
                .outerjoin(Conversation, Conversation.id == TeamQuestion.conversation_id)
                .where(TeamQuestion.status == "open").order_by(TeamQuestion.asked_at).limit(limit)).all()
            return [OpenQuestion(q.id, q.question, as_utc(q.asked_at), q.conversation_id, number,
                                 status == "active") for q, number, status in rows]

    def answer(self, question_id: str, answer: str, colleague: str, actor: str) -> TurnView | None:
        """Store a colleague's answer and relay it to the customer (None when they have left: the answer stays on
        the ticket for whoever follows up). Raises QuestionClosed when it was answered or given up on already."""
        answer = answer.strip()
        if not answer:
            raise ValueError("The answer is empty.")
        with self.conversations.db.session() as session:
            question = session.get(TeamQuestion, question_id, with_for_update=True)
            if question is None or question.status != "open":
                raise QuestionClosed("This question was already answered or closed.")
            question.status = "answered"
            question.answer = answer[:4000]
            question.answered_by = colleague
            question.answered_at = self.clock()
            conversation_id = question.conversation_id
            if question.ticket_id is not None:
                ticket = session.get(Ticket, question.ticket_id)
                if ticket is not None:
                    ticket.steps_taken = [*ticket.steps_taken, f"{colleague} answered the team question: "
                                          f"{answer[:300]}"]
            AuditLog(session).record(actor=actor, action="update", entity="team_question", entity_id=question_id,
                                     detail={"answered_by": colleague})
        if conversation_id is None:
            return None

        def relay(state: ConversationState, context: TurnContext) -> TurnResult | None:
            if state.ended or not state.team_question:
                return None  # gone, or given up on meanwhile: the answer is on the ticket
            return self.conversations.engine.handle_team_answer(state, context, answer, colleague)

        view = self.conversations.engine_input(conversation_id, relay)
        return view if view.replies else None

    def give_up_waiting(self, wait: timedelta) -> int:
        """Questions open longer than `wait`: tell the customer nobody answered yet and offer a callback.
        Returns how many were given up on."""
        cutoff = self.clock() - wait
        with self.conversations.db.session() as session:
            due = list(session.scalars(select(TeamQuestion).where(
                TeamQuestion.status == "open", TeamQuestion.asked_at <= cutoff).with_for_update(skip_locked=True)))
            for question in due:
                question.status = "unanswered"
            conversation_ids = [q.conversation_id for q in due if q.conversation_id]

        def offer(state: ConversationState, context: TurnContext) -> TurnResult | None:
            if state.ended or not state.team_question:
                return None
            return self.conversations.engine.handle_team_unanswered(state, context)

        for conversation_id in conversation_ids:
            self.conversations.engine_input(conversation_id, offer)
        return len(due)
