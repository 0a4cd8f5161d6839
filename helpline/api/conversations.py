"""Conversation endpoints: the chat channel over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from helpline.api.auth import Principal, require_role
from helpline.api.errors import AUTHENTICATED_ERRORS, error_responses
from helpline.api.validation import NO_NUL, ApiModel, RecordId, known_query_only
from helpline.application.conversations import (
    MAX_MESSAGE_CHARS,
    ConversationClosed,
    ConversationNotFound,
    ConversationService,
    TurnView,
)
from helpline.application.live_view import conversation_record
from helpline.conversation.ports import ClientIdentity, ClientKind

CHAT_ROLES = ("admin", "supervisor", "agent", "integration")


class StartConversation(ApiModel):
    channel: str = Field(default="api", pattern="^(chat|voice|email|sms|api)$")


class PostMessage(ApiModel):
    text: str = Field(max_length=MAX_MESSAGE_CHARS, pattern=NO_NUL, examples=["Where is my order BB-10001?"])


class TurnOut(BaseModel):
    id: str
    replies: list[str]
    ended: bool
    state: dict[str, Any]


class MessageOut(BaseModel):
    seq: int
    role: str
    text: str
    created_at: str


class ConversationOut(BaseModel):
    id: str
    channel: str
    status: str
    customer_id: str | None
    started_at: str
    ended_at: str | None
    ticket_id: str | None
    ticket_number: int | None
    messages: list[MessageOut]


def _service(request: Request) -> ConversationService:
    service: ConversationService = request.app.state.conversations
    return service


def _out(view: TurnView) -> TurnOut:
    return TurnOut(id=view.id, replies=view.replies, ended=view.ended, state=view.state)


# Module level: FastAPI resolves these (string) annotations in the module's namespace.
Caller = Annotated[Principal, Depends(require_role(*CHAT_ROLES))]
Service = Annotated[ConversationService, Depends(_service)]


def conversations_router() -> APIRouter:
    router = APIRouter(prefix="/conversations", tags=["conversations"],
                       responses=error_responses(*AUTHENTICATED_ERRORS), dependencies=[Depends(known_query_only)])

    @router.post("", status_code=201, response_model=TurnOut, summary="Start a conversation",
                 responses=error_responses(413))
    def start(caller: Caller, service: Service, body: StartConversation | None = None) -> TurnOut:
        # the client is the integration's key: every customer it serves counts against it (a shared limit)
        return _out(service.start(channel=(body or StartConversation()).channel, actor=caller.actor,
                                  clients=(ClientIdentity(ClientKind.API_KEY, caller.key_prefix),)))

    @router.post("/{conversation_id}/messages", response_model=TurnOut, summary="Send the customer's message",
                 responses=error_responses(404, 409, 413))
    def post_message(conversation_id: RecordId, body: PostMessage, caller: Caller, service: Service) -> TurnOut:
        try:
            return _out(service.post(conversation_id, body.text, actor=caller.actor))
        except ConversationNotFound as exc:
            raise HTTPException(404, "conversation not found") from exc
        except ConversationClosed as exc:
            raise HTTPException(409, "conversation has ended; start a new one") from exc

    @router.post("/{conversation_id}/end", response_model=TurnOut, summary="End the conversation",
                 responses=error_responses(404))
    def end(conversation_id: RecordId, caller: Caller, service: Service) -> TurnOut:
        try:
            return _out(service.end(conversation_id, actor=caller.actor))
        except ConversationNotFound as exc:
            raise HTTPException(404, "conversation not found") from exc

    @router.get("/{conversation_id}", response_model=ConversationOut, summary="Conversation and redacted transcript",
                responses=error_responses(404))
    def get(conversation_id: RecordId, caller: Caller, service: Service) -> ConversationOut:
        record = conversation_record(service.db, conversation_id, caller.actor)
        if record is None:
            raise HTTPException(404, "conversation not found")
        conversation = record.conversation
        return ConversationOut(
            id=conversation.id, channel=conversation.channel, status=conversation.status,
            customer_id=conversation.customer_id, started_at=conversation.started_at.isoformat(),
            ended_at=conversation.ended_at.isoformat() if conversation.ended_at else None,
            ticket_id=record.ticket_id, ticket_number=record.ticket_number,
            messages=[MessageOut(seq=line.seq, role=line.role, text=line.text, created_at=line.created_at.isoformat())
                      for line in record.lines],
        )

    return router
