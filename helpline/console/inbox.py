"""Escalation inbox: handoffs with their summary; accept (and so talk as a human), then resolve. Questions the
agent asked the team (helpline/team/) wait here too: an answer is passed on to the customer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from helpline.application.conversations import ConversationClosed
from helpline.console.auth import Agent, ConsoleDenied
from helpline.console.web import back, render, runtime_of
from helpline.store.models import Conversation, Ticket
from helpline.store.repositories import Conflict, HandoffRepository
from helpline.team.questions import QuestionClosed, TeamQuestions


def inbox_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/inbox")
    def inbox(request: Request, user: Agent) -> Response:
        service = runtime_of(request).conversations
        with service.db.session() as session:
            repo = HandoffRepository(session)
            items: list[dict[str, Any]] = []
            for handoff in repo.list(actor=user.actor, limit=200):
                conversation = session.get(Conversation, handoff.conversation_id) if handoff.conversation_id else None
                ticket = session.get(Ticket, handoff.ticket_id) if handoff.ticket_id else None
                live = conversation is not None and conversation.status == "active"
                if handoff.accepted_at is not None and not live:
                    continue  # done with: it lives on in the ticket
                items.append({"h": handoff, "live": live, "ticket": ticket,
                              "mine": handoff.accepted_by == user.email})
        pending = [i for i in items if i["h"].accepted_at is None]
        accepted = [i for i in items if i["h"].accepted_at is not None]
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
        with service.db.session() as session:
            repo = HandoffRepository(session)
            handoff = repo.get(handoff_id, actor=user.actor)
            if handoff is None:
                raise ConsoleDenied(404, "No such escalation.")
            try:
                repo.accept(handoff_id, actor=user.actor, accepted_by=user.email)
            except Conflict as exc:
                return back("/console/inbox", str(exc))
            conversation_id = handoff.conversation_id
        if conversation_id is None:
            return back("/console/inbox", "Accepted.")
        try:
            service.take_over(conversation_id, user.email, user.name, user.actor)
        except ConversationClosed:
            return back(f"/console/conversations/{conversation_id}",
                        "Accepted. The customer has left the chat: follow up on the ticket.")
        return back(f"/console/conversations/{conversation_id}", "Accepted: you are talking to the customer.")

    return router
