"""Records a turn: transcript, state, ticket, handoff, callback and audit, in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.application.handoffs import HandoffView
from helpline.conversation.events import (
    CallbackRequested,
    CallerIdentified,
    ConversationEnded,
    CustomerVerified,
    Escalated,
    HandoffNote,
    KnowledgeGap,
    OperationCalled,
    TeamQuestionAsked,
    TicketsJoined,
    TurnResult,
)
from helpline.conversation.state import ConversationState
from helpline.conversation.verification import display_name
from helpline.store.models import Conversation, TeamNotice, TeamQuestion, Ticket
from helpline.store.repositories import (
    AuditLog,
    CallbackRepository,
    ConversationRepository,
    CustomerRepository,
    HandoffRepository,
    NewLine,
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
        # The conversation's ticket, read once a turn: the turn's context and its recording both need it.
        self._ticket: Ticket | None = None
        self._ticket_read = False

    def open_ticket(self, channel: str, now: datetime) -> Ticket:
        self._ticket = self.tickets.create(
            actor=self.actor, conversation_id=self.conversation.id, channel=channel, category="general",
            priority="normal", summary="New contact", status="open", now=now,
        )
        self._ticket_read = True
        return self._ticket

    def ticket(self) -> Ticket | None:
        if not self._ticket_read:
            found = self.tickets.list(actor=self.actor, conversation_id=self.conversation.id, limit=1)
            self._ticket, self._ticket_read = (found[0] if found else None), True
        return self._ticket

    def record_turn(
        self, state: ConversationState, customer_text: str | None, result: TurnResult, now: datetime,
        reply_meta: dict[str, Any] | None = None,
    ) -> HandoffView | None:
        """`reply_meta` marks the agent's lines, e.g. `unprompted` for what it said outside a customer's turn (a
        colleague's answer, a wait that ran out), which channels without a live session deliver on their own.
        Returns the hand-off the turn made, as recorded (None if it made none)."""
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
        lines = [NewLine("customer", customer_text, meta)] if customer_text is not None else []
        lines += [NewLine("agent", reply, dict(reply_meta or {})) for reply in result.replies]
        self.conversations.append_messages(conversation_id, lines, now=now)

        ticket = self.ticket()
        callback_booked = False
        handed_off: HandoffView | None = None
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
            elif isinstance(event, CallerIdentified):
                AuditLog(self.session).record(
                    actor=self.actor, action="read", entity="verification:caller", entity_id=event.customer_id,
                    customer_id=self.conversation.customer_id,
                    detail={"served": event.served, "name": event.name, "relationship": event.relationship},
                )
            elif isinstance(event, OperationCalled):
                AuditLog(self.session).record(
                    actor=self.actor, action="update" if event.changes_data else "read",
                    entity=f"operation:{event.name}", entity_id=str(next(iter(event.args.values()), "")),
                    customer_id=self.conversation.customer_id,
                    detail={"args": event.args, "ok": event.ok, "error": event.error},
                )
            elif isinstance(event, TicketsJoined) and ticket is not None:
                other = self.session.scalar(select(Ticket).where(Ticket.number == event.other_ticket_number))
                if other is not None and other.id != ticket.id and other.merged_into_id is None:
                    self.tickets.merge(other.id, ticket.id, actor=self.actor, now=now)
            elif isinstance(event, TeamQuestionAsked):
                question = TeamQuestion(conversation_id=conversation_id, ticket_id=ticket.id if ticket else None,
                                        question=event.question, asked_at=now)
                self.session.add(question)
                self.session.flush()
                self.session.add(TeamNotice(kind="question", ref_id=question.id))
            elif isinstance(event, Escalated):
                summary = event.summary
                handoff = HandoffRepository(self.session).create(
                    actor=self.actor, ticket_id=ticket.id if ticket else None, conversation_id=conversation_id,
                    tier=event.tier, customer_summary=summary["who"], issue=summary["issue"],
                    steps_tried=summary["steps_tried"], customer_wants=summary["customer_wants"],
                    mood=summary["mood"], urgency=summary["urgency"], now=now,
                )
                self.session.add(TeamNotice(kind="handoff", ref_id=handoff.id))  # the team chats hear of it too
                handed_off = HandoffView.of(handoff)
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
        if ticket is not None and ticket.merged_into_id is not None:
            ticket = None  # folded into another contact's ticket, which carries the outcome (no duplicate)
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
            if fields.status == "resolved":
                for joined in self.tickets.merged_into(ticket.id):  # closed with this contact's outcome
                    joined.resolution = f"Resolved on #{ticket.number} ({ticket.channel}): {fields.resolution}"[:2000]
        if any(isinstance(e, ConversationEnded) for e in result.events) or state.ended:
            self.conversations.end(conversation_id, actor=self.actor, now=now)
        return handed_off

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
