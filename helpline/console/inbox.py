"""Escalation inbox: handoffs with their summary; accept (and so talk as a human), then resolve. Questions the
agent asked the team (helpline/team/) wait here too: an answer is passed on to the customer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from helpline.application import ticket_desk
from helpline.application.conversations import ConversationClosed
from helpline.application.ticket_desk import Conflict
from helpline.console.auth import Agent, ConsoleDenied
from helpline.console.web import back, render, runtime_of
from helpline.team.questions import QuestionClosed, TeamQuestions


def inbox_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/inbox")
    def inbox(request: Request, user: Agent) -> Response:
        service = runtime_of(request).conversations
        items = ticket_desk.escalations(service.db, user.actor, user.email)
        pending = [i for i in items if i.h.accepted_at is None]
        accepted = [i for i in items if i.h.accepted_at is not None]
        questions = TeamQuestions(service).open()
        return render(request, "inbox.html", user, pending=pending, accepted=accepted, questions=questions)

    @router.post("/inbox/questions/{question_id}/answer")
    def answer_question(request: Request, question_id: str, user: Agent,
                        text: Annotated[str, Form(max_length=4000)] = "") -> Response:
        questions = TeamQuestions(runtime_of(request).conversations)
        try:
            relayed = questions.answer(question_id, text, colleague=user.name or user.email, actor=user.actor)
        except QuestionClosed as exc:
            return back("/console/inbox", str(exc))
        except ValueError as exc:
            return back("/console/inbox", str(exc))
        return back("/console/inbox", "Answer passed on to the customer." if relayed is not None else
                    "The customer has left: the answer is on the ticket for the follow-up.")

    @router.post("/inbox/{handoff_id}/accept")
    def accept(request: Request, handoff_id: str, user: Agent) -> Response:
        service = runtime_of(request).conversations
        try:
            conversation_id = ticket_desk.accept_handoff(service.db, handoff_id, user.actor, user.email)
        except ticket_desk.NotFound as exc:
            raise ConsoleDenied(404, "No such escalation.") from exc
        except Conflict as exc:
            return back("/console/inbox", str(exc))
        if conversation_id is None:
            return back("/console/inbox", "Accepted.")
        try:
            service.take_over(conversation_id, user.email, user.name, user.actor)
        except ConversationClosed:
            return back(f"/console/conversations/{conversation_id}",
                        "Accepted. The customer has left the chat: follow up on the ticket.")
        return back(f"/console/conversations/{conversation_id}", "Accepted: you are talking to the customer.")

    return router
