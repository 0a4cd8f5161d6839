"""Records a turn: transcript, state, ticket, handoff, callback and audit, in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from helpline.conversation.events import (
    CallbackRequested,
    ConversationEnded,
    CustomerVerified,
    Escalated,
    HandoffNote,
    KnowledgeGap,
    OperationCalled,
    TurnResult,
)
from helpline.conversation.state import ConversationState
from helpline.conversation.verification import display_name
from helpline.store.models import Conversation, Ticket
from helpline.store.repositories import (
    AuditLog,
    CallbackRepository,
    ConversationRepository,
    CustomerRepository,
    HandoffRepository,
    TicketRepository,
)
from helpline.tickets.builder import ticket_fields


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their timezone; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class TurnRecorder:
    def __init__(self, session: Session, conversation: Conversation, actor: str):
        self.session = session
        self.conversation = conversation
        self.actor = actor
        self.conversations = ConversationRepository(session)
        self.tickets = TicketRepository(session)

    def open_ticket(self, channel: str, now: datetime) -> Ticket:
        return self.tickets.create(
            actor=self.actor, conversation_id=self.conversation.id, channel=channel, category="general",
            priority="normal", summary="New contact", status="open", now=now,
        )

    def ticket(self) -> Ticket | None:
        found = self.tickets.list(actor=self.actor, conversation_id=self.conversation.id, limit=1)
        return found[0] if found else None

    def record_turn(
        self, state: ConversationState, customer_text: str | None, result: TurnResult, now: datetime
    ) -> None:
        conversation_id = self.conversation.id
        meta: dict[str, Any] = {"intent": result.intent, "frustration": round(result.frustration, 3)}
        if any(isinstance(e, KnowledgeGap) for e in result.events):
            meta["kb_gap"] = True
        if result.model_usage is not None:  # token and latency accounting per turn (issue 11)
            usage = result.model_usage
            meta["model"] = {"understood_by": result.understood_by, "calls": usage.calls,
                             "failures": usage.failures, "prompt_tokens": usage.usage.prompt_tokens,
                             "completion_tokens": usage.usage.completion_tokens,
                             "latency_ms": round(usage.latency_ms, 1)}
        if customer_text is not None:
            self.conversations.append_message(conversation_id, role="customer", text=customer_text, meta=meta,
                                              now=now)
        for reply in result.replies:
            self.conversations.append_message(conversation_id, role="agent", text=reply, meta={}, now=now)

        ticket = self.ticket()
        callback_booked = False
        for event in result.events:
            if isinstance(event, CustomerVerified):
                record = event.customer
                customer = CustomerRepository(self.session).upsert_from_record(
                    actor=self.actor, external_id=str(record.get("id")), name=display_name(record) or None,
                    email=record.get("email"), phone=record.get("phone"),
                )
                self.conversation.customer_id = customer.id
                if ticket is not None:
                    ticket.customer_id = customer.id
            elif isinstance(event, OperationCalled):
                AuditLog(self.session).record(
                    actor=self.actor, action="update" if event.changes_data else "read",
                    entity=f"operation:{event.name}", entity_id=str(next(iter(event.args.values()), "")),
                    customer_id=self.conversation.customer_id,
                    detail={"args": event.args, "ok": event.ok, "error": event.error},
                )
            elif isinstance(event, Escalated):
                summary = event.summary
                HandoffRepository(self.session).create(
                    actor=self.actor, ticket_id=ticket.id if ticket else None, conversation_id=conversation_id,
                    tier=event.tier, customer_summary=summary["who"], issue=summary["issue"],
                    steps_tried=summary["steps_tried"], customer_wants=summary["customer_wants"],
                    mood=summary["mood"], urgency=summary["urgency"],
                )
            elif isinstance(event, HandoffNote):
                HandoffRepository(self.session).add_note(conversation_id, event.note, actor=self.actor)
            elif isinstance(event, CallbackRequested):
                callback_booked = True
                self._schedule_callback(event, ticket, now)

        self.conversations.save_state(
            conversation_id, state=state.to_json(),
            current_procedure=state.active.procedure_id if state.active else None, sentiment=state.sentiment,
            now=now,
        )
        if ticket is not None:
            already_awaiting = ticket.status == "awaiting_callback"
            fields = ticket_fields(state, callback_booked or already_awaiting)
            handle_time = int((as_utc(now) - as_utc(self.conversation.started_at)).total_seconds())
            self.tickets.update(
                ticket.id, actor=self.actor, category=fields.category, priority=fields.priority,
                summary=fields.summary, steps_taken=fields.steps_taken, resolution=fields.resolution,
                status=fields.status, next_step=fields.next_step, tags=fields.tags, flags=fields.flags,
                sentiment=fields.sentiment, handle_time_seconds=max(handle_time, 0),
                customer_id=self.conversation.customer_id,
            )
        if any(isinstance(e, ConversationEnded) for e in result.events) or state.ended:
            self.conversations.end(conversation_id, actor=self.actor, now=now)

    def _schedule_callback(self, event: CallbackRequested, ticket: Ticket | None, now: datetime) -> None:
        """A promised callback is never lost: a contact detail that fails validation is left off."""
        callbacks = CallbackRepository(self.session)
        ticket_id = ticket.id if ticket else None
        customer_id = self.conversation.customer_id
        try:
            callbacks.schedule(actor=self.actor, ticket_id=ticket_id, customer_id=customer_id, due_at=event.due_at,
                               reason=event.reason, phone=event.phone, email=event.email, now=now)
        except ValueError:
            callbacks.schedule(actor=self.actor, ticket_id=ticket_id, customer_id=customer_id, due_at=event.due_at,
                               reason=f"{event.reason} (contact details to confirm)", now=now)
