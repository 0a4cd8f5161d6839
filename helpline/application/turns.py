"""Applying a turn: one customer message in, the engine run, everything recorded, replies out.

A turn runs the engine on the state loaded from the database, then stores the redacted transcript,
the new state, the ticket, any handoff or callback and the audit entries in one transaction, so a
crash or a restart never loses a conversation, a ticket or a promised callback.

Turns on one conversation run one at a time, across processes too (serialise.py). Understanding a
message (seconds, with a language model) happens *before* that transaction, on the state as last
committed: the short transaction then re-reads the state under the lock and uses that reading only if
the state is still the one it was made from, else understands again. So the database's write lock
(SQLite's is database-wide) is held for the bookkeeping, not for the models.

``ConversationTurns`` holds what every part of the conversation service shares (the engine, the database, the
clock, the bus, the per-conversation lock) and applies turns; ``staff.py`` adds the staff's actions and
``conversations.py`` starting, ending and reading conversations.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.application.bus import EventBus
from helpline.application.handoffs import HandoffView
from helpline.application.recorder import TurnRecorder
from helpline.application.serialise import TURN_WAIT_SECONDS, ConversationLocks, conversation_transaction
from helpline.application.views import (
    UNPROMPTED,
    ConversationClosed,
    ConversationNotFound,
    TurnView,
    public_state,
    turn_event,
)
from helpline.conversation.commands import Interpretation
from helpline.conversation.engine import Engine, Incident, TurnContext
from helpline.conversation.events import TurnResult
from helpline.conversation.incidents import IncidentKind
from helpline.conversation.state import ConversationState
from helpline.store.contact_history import StoredContactHistory
from helpline.store.db import Database
from helpline.store.models import Conversation, Message, Ticket
from helpline.store.repositories import AuditLog, ConversationRepository, IncidentRepository
from helpline.store.throttle import AttemptLimiter
from helpline.understanding.redaction import (
    DEFAULT_REDACTOR,
    Redacted,
    RedactionCarry,
    mask_trailing_digits,
    redacted_upstream,
    scrub_json,
    scrub_text,
)

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 100_000
CARRY_MESSAGES = 4  # previous customer messages a card number split over several messages may start in
CRASH_REPLY = ("I'm sorry, something went wrong on my side. I've kept your message and your ticket, and a "
               "colleague will follow up if I can't.")


class TurnObserver(Protocol):
    """Told of every customer message posted (metrics: helpline/ops/metrics.py); must not raise."""

    def turn_handled(self, channel: str, seconds: float, engine_failed: bool) -> None: ...

    def turn_refused(self, error: BaseException) -> None: ...


@dataclass(frozen=True)
class PreparedReading:
    """A message understood outside the turn's transaction, with what it was understood against."""

    stored_state: dict[str, Any]
    redacted_text: str
    interpretation: Interpretation

    def still_valid(self, stored_state: dict[str, Any] | None, redacted_text: str) -> bool:
        """True when the state under the lock is the one the reading was made from (no turn in between)."""
        return self.redacted_text == redacted_text and (stored_state or {}) == self.stored_state


class ConversationTurns:
    """The shared parts of the conversation service, and the customer's turn (``post``)."""

    def __init__(self, engine: Engine, db: Database, clock: Callable[[], datetime] | None = None,
                 bus: EventBus | None = None, attempt_limiter: AttemptLimiter | None = None):
        self.engine = engine
        # verification attempts counted across conversations and processes (None: per conversation only)
        self.attempt_limiter = attempt_limiter
        self.db = db
        self.clock = clock or (lambda: datetime.now(UTC))
        # Live views and the widget learn of each committed change here (published after commit).
        self.bus = bus or EventBus()
        # The in-process fast path; the row lock in conversation_transaction serialises across processes.
        self._locks = ConversationLocks(TURN_WAIT_SECONDS)
        self.turn_wait_seconds = TURN_WAIT_SECONDS  # the bounded wait for a turn on another process
        self.observer: TurnObserver | None = None  # set by the app (helpline/ops/routes.py)

    @contextmanager
    def _turn(self, conversation_id: str) -> Iterator[Session]:
        """The conversation to ourselves: this process's lock, then the row lock in one transaction."""
        with self._locks.hold(conversation_id), \
                conversation_transaction(self.db, conversation_id, self.turn_wait_seconds) as session:
            yield session

    def exists(self, conversation_id: str) -> bool:
        """Whether the conversation is in the database (a cheap check made before taking its lock)."""
        with self.db.read_session() as session:
            return session.scalar(select(Conversation.id).where(Conversation.id == conversation_id)) is not None

    def _context(self, session: Session, ticket: Ticket | None, channel: str,
                 conversation_id: str | None = None) -> TurnContext:
        """`ticket`: this conversation's, as the turn already loaded it (its number, and whether it was joined into
        another contact's ticket)."""
        ticket_number = ticket.number if ticket is not None else None
        now = self.clock()
        incidents = [
            Incident(id=str(i.id), title=i.title, message=i.message, affected=tuple(i.affected or ()),
                     expected_fix=i.expected_fix, scope={k: tuple(v) for k, v in (i.scope or {}).items()},
                     kind=IncidentKind(i.kind or IncidentKind.OUTAGE), window_start=i.window_start,
                     window_end=i.window_end, messages=dict(i.messages or {}))
            for i in IncidentRepository(session).active(now)
        ]
        if conversation_id is None:
            return TurnContext(now=now, incidents=incidents, ticket_number=ticket_number, channel=channel)
        history = StoredContactHistory(session, conversation_id)
        return TurnContext(now=now, incidents=incidents, ticket_number=ticket_number, channel=channel,
                           contacts=history, joined_into=history.joined_into(ticket))

    def post(self, conversation_id: str, text: str, actor: str = "system",
             ahead: PreparedReading | None = None) -> TurnView:
        """`ahead`: `understand_ahead`'s reading of these words, used instead of understanding them again when
        nothing has changed on the conversation since it was made (else it is dropped)."""
        started = time.perf_counter()
        try:
            view = self._post(conversation_id, text, actor, ahead)
        except Exception as exc:
            if self.observer is not None:
                self.observer.turn_refused(exc)
            raise
        if self.observer is not None:
            self.observer.turn_handled(view.channel, time.perf_counter() - started, view.engine_failed)
        self.bus.publish(conversation_id, "ended" if view.ended else "message")
        return view

    def _post(self, conversation_id: str, text: str, actor: str, ahead: PreparedReading | None = None) -> TurnView:
        text = text[:MAX_MESSAGE_CHARS]
        # An unknown id is refused by the read ahead, before any write transaction (the lock map keeps no entry).
        with self._locks.hold(conversation_id):
            prepared = self._understand_ahead(conversation_id, text, ahead)
            with conversation_transaction(self.db, conversation_id, self.turn_wait_seconds) as session:
                return self._post_locked(session, conversation_id, text, actor, prepared)

    def understand_ahead(self, conversation_id: str, text: str) -> PreparedReading | None:
        """Understand `text` on the conversation's committed state now (the phone does this while the caller's
        closing pause runs out); `post(..., ahead=reading)` of the same words then uses the reading if nothing
        changed on the conversation since. Nothing is stored; an unknown conversation raises as `post` would."""
        return self._understand_ahead(conversation_id, text)

    def _understand_ahead(self, conversation_id: str, text: str,
                          reuse: PreparedReading | None = None) -> PreparedReading | None:
        """Understand the message on the state as last committed, outside any write transaction (None
        when there is nothing to understand, or a card number spans messages: then it is done in the turn).
        `reuse`, a reading made earlier, is returned instead when it was made of these words on this very
        state (no turn, timer or take-over since); the turn checks it again under its lock."""
        with self.db.read_session() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise ConversationNotFound(conversation_id)
            if conversation.status != "active" or conversation.handled_by:
                return None
            previous = self._previous_customer_messages(session, conversation_id)
            redacted = DEFAULT_REDACTOR.redact(text, RedactionCarry.from_stored([m.text for m in previous]))
            stored_state = copy.deepcopy(dict(conversation.state or {}))
        state = ConversationState.from_json(copy.deepcopy(stored_state))
        if redacted.masks_previous or state.ended or not redacted.text.strip():
            return None
        if reuse is not None and reuse.still_valid(stored_state, redacted.text):
            return reuse
        state.turn += 1  # as Engine.handle does before it interprets
        try:
            with redacted_upstream(redacted.kinds):
                interpretation = self.engine.interpret(state, redacted.text, self.clock())
        except Exception:
            # The turn understands it again inside the transaction, where a failure is answered politely.
            log.warning("understanding ahead failed on conversation %s", conversation_id, exc_info=True)
            return None
        return PreparedReading(stored_state, redacted.text, interpretation)

    def _post_locked(self, session: Session, conversation_id: str, text: str, actor: str,
                     prepared: PreparedReading | None) -> TurnView:
        repo = ConversationRepository(session)
        conversation = repo.get(conversation_id, actor=actor)
        if conversation is None:
            raise ConversationNotFound(conversation_id)
        if conversation.status != "active":
            raise ConversationClosed(conversation_id)
        stored_state = dict(conversation.state or {})
        # Redacted here, before the engine, logs or the database see it, with what the previous
        # customer messages ended with: a card number may be split over two messages.
        redacted = self._redact_customer_text(session, conversation, text)
        state = ConversationState.from_json(conversation.state)
        if conversation.handled_by:
            # A person has taken over: the AI stays silent; the message is stored (redacted) for them.
            repo.append_message(conversation_id, role="customer", text=redacted.text,
                                meta={"to_human": conversation.handled_by}, now=self.clock())
            return TurnView(conversation.id, [], False, public_state(state, self.engine), conversation.channel)
        recorder = TurnRecorder(session, conversation, actor=f"ai:conversation:{conversation.id}")
        ticket = recorder.ticket()
        context = self._context(session, ticket, conversation.channel, conversation.id)
        if self.attempt_limiter is not None:
            context.throttle = self.attempt_limiter.bind(
                session, context.now, actor=f"ai:conversation:{conversation.id}",
                on_alert=lambda: self.bus.publish(conversation_id, "verification_alert"))
        reading = (prepared.interpretation if prepared is not None and not redacted.masks_previous
                   and prepared.still_valid(stored_state, redacted.text) else None)
        engine_failed = False
        try:
            # The engine gets the clean text; its understander still learns what was removed.
            with redacted_upstream(redacted.kinds):
                result = self.engine.handle(state, redacted.text, context, interpretation=reading)
        except Exception:
            # The customer still gets an answer and nothing already recorded is lost.
            log.exception("engine failed on conversation %s", conversation_id)
            state = ConversationState.from_json(conversation.state)
            state.flags.append("engine_error")
            result = TurnResult(replies=[CRASH_REPLY], redacted_text=redacted.text)
            engine_failed = True
        handoff = recorder.record_turn(state, result.redacted_text, result, self.clock())
        return self._view(conversation, state, result, handoff, engine_failed=engine_failed)

    def _redact_customer_text(self, session: Session, conversation: Conversation, text: str) -> Redacted:
        """Redact a customer message in the light of the previous ones; when it completes a card number
        begun in them, mask those digits wherever they were stored: the earlier messages, the lines
        written since (an agent may have repeated them) and the saved state."""
        previous = self._previous_customer_messages(session, conversation.id)
        redacted = DEFAULT_REDACTOR.redact(text, RedactionCarry.from_stored([m.text for m in previous]))
        if not redacted.masks_previous:
            return redacted
        audit = AuditLog(session)
        first_seq: int | None = None
        # mask_previous lines up with the newest of the previous messages.
        for message, count in zip(reversed(previous), reversed(redacted.mask_previous), strict=False):
            if count:
                message.text = mask_trailing_digits(message.text, count)
                first_seq = message.seq
                audit.record(f"ai:conversation:{conversation.id}", "update", "message",
                             f"{conversation.id}:{message.seq}", conversation.customer_id,
                             {"redacted": "card_number", "split_over_messages": True})
        if first_seq is not None:
            later = session.scalars(select(Message).where(
                Message.conversation_id == conversation.id, Message.seq > first_seq, Message.role != "customer"))
            for message in later:
                message.text = scrub_text(message.text, redacted.fragments)
        conversation.state = scrub_json(dict(conversation.state or {}), redacted.fragments)
        return redacted

    @staticmethod
    def _previous_customer_messages(session: Session, conversation_id: str) -> list[Message]:
        """The last few customer messages, oldest first (a card number may have begun in them)."""
        return list(session.scalars(
            select(Message).where(Message.conversation_id == conversation_id, Message.role == "customer")
            .order_by(Message.seq.desc()).limit(CARRY_MESSAGES)
        ))[::-1]

    def _apply(self, conversation_id: str,
               handle: Callable[[ConversationState, TurnContext], TurnResult | None]) -> TurnView:
        """Run an engine input that has no customer text (silence, a failed handoff) and record it."""
        with self._turn(conversation_id) as session:
            conversation = ConversationRepository(session).get(conversation_id, actor="system")
            if conversation is None:
                raise ConversationNotFound(conversation_id)
            state = ConversationState.from_json(conversation.state)
            recorder = TurnRecorder(session, conversation, actor=f"ai:conversation:{conversation.id}")
            ticket = recorder.ticket()
            context = self._context(session, ticket, conversation.channel, conversation.id)
            result = handle(state, context)
            if result is None:  # nothing to do any more (done meanwhile): nothing recorded
                return TurnView(conversation.id, [], state.ended, public_state(state, self.engine))
            handoff = recorder.record_turn(state, None, result, self.clock(), reply_meta={UNPROMPTED: True})
            return self._view(conversation, state, result, handoff)

    def _view(self, conversation: Conversation, state: ConversationState, result: TurnResult,
              handoff: HandoffView | None, *, engine_failed: bool = False) -> TurnView:
        """The view of a recorded turn: the replies, the public state, the hand-off made and the events."""
        return TurnView(conversation.id, result.replies, state.ended, public_state(state, self.engine),
                        conversation.channel, engine_failed, handoff,
                        tuple(turn_event(e) for e in result.events))
