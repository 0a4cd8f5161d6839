"""The conversation service every channel uses: one turn in, replies out, everything recorded.

A turn runs the engine on the state loaded from the database, then stores the redacted transcript,
the new state, the ticket, any handoff or callback and the audit entries in one transaction, so a
crash or a restart never loses a conversation, a ticket or a promised callback.

Turns on one conversation run one at a time, across processes too (serialise.py). Understanding a
message (seconds, with a language model) happens *before* that transaction, on the state as last
committed: the short transaction then re-reads the state under the lock and uses that reading only if
the state is still the one it was made from, else understands again. So the database's write lock
(SQLite's is database-wide) is held for the bookkeeping, not for the models.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.application.bus import EventBus
from helpline.application.recorder import TurnRecorder, as_utc
from helpline.application.serialise import (
    TURN_WAIT_SECONDS,
    ConversationBusy,
    ConversationLocks,
    conversation_transaction,
)
from helpline.conversation.commands import Interpretation
from helpline.conversation.engine import Engine, Incident, TurnContext
from helpline.conversation.events import TurnResult
from helpline.conversation.incidents import IncidentKind
from helpline.conversation.ports import ClientIdentity
from helpline.conversation.state import ConversationState
from helpline.store.contact_history import StoredContactHistory
from helpline.store.db import Database
from helpline.store.models import Conversation, Message, Ticket
from helpline.store.repositories import AuditLog, ConversationRepository, IncidentRepository, TicketRepository
from helpline.store.throttle import AttemptLimiter
from helpline.understanding.redaction import (
    DEFAULT_REDACTOR,
    Redacted,
    RedactionCarry,
    mask_trailing_digits,
    redact,
    redacted_upstream,
    scrub_json,
    scrub_text,
)

log = logging.getLogger(__name__)

__all__ = ["ConversationBusy", "ConversationClosed", "ConversationNotFound", "ConversationService", "TurnView"]

MAX_MESSAGE_CHARS = 100_000
CARRY_MESSAGES = 4  # previous customer messages a card number split over several messages may start in
CRASH_REPLY = ("I'm sorry, something went wrong on my side. I've kept your message and your ticket, and a "
               "colleague will follow up if I can't.")


# Meta flag of an agent line said outside a customer's turn (silence, a colleague's answer): a channel without a
# live session (email, SMS) sends these itself, since no inbound message is waiting for them as a reply.
UNPROMPTED = "unprompted"


class ConversationNotFound(LookupError):
    pass


class ConversationClosed(RuntimeError):
    pass


STAFF_ONLY = {"visibility": "staff"}  # message meta: a whisper the customer never sees
NOTICE = {"notice": True}  # message meta: a system line the customer sees (a person joined, left)
# Customers answer in hours or days here: never reminded ("are you still there?") or closed for silence.
UNHURRIED_CHANNELS = ("email", "sms")


def customer_visible(role: str, meta: dict[str, Any] | None) -> bool:
    return (meta or {}).get("visibility") != "staff"


@dataclass
class TurnView:
    id: str
    replies: list[str]
    ended: bool
    state: dict[str, Any] = field(default_factory=dict)
    channel: str = ""  # the conversation's channel (for metrics); set by post()
    engine_failed: bool = False  # the engine raised and the customer got the apology


class TurnObserver(Protocol):
    """Told of every customer message posted (metrics: helpline/ops/metrics.py); must not raise."""

    def turn_handled(self, channel: str, seconds: float, engine_failed: bool) -> None: ...

    def turn_refused(self, error: BaseException) -> None: ...


def public_state(state: ConversationState, engine: Engine) -> dict[str, Any]:
    """What a client may see about the conversation (no customer record before verification)."""
    active = state.active
    procedure = engine.procedures.get(active.procedure_id) if active else None
    return {
        "verified": state.verified,
        "customer_id": state.customer_id,
        "procedure": active.procedure_id if active else None,
        "procedure_title": procedure.title if procedure else None,
        "assurance": state.assurance,
        "awaiting": ("code" if state.verification.code_pending else "verification" if state.verification.in_progress
                     else (active.awaiting if active else None)),
        "escalated": state.escalated,
        "escalated_tier": state.escalated_tier,  # the team handed to (a phone transfer asks its hours)
        "ended": state.ended,
        "sentiment": round(state.sentiment, 3),
        "turn": state.turn,
    }


@dataclass(frozen=True)
class PreparedReading:
    """A message understood outside the turn's transaction, with what it was understood against."""

    stored_state: dict[str, Any]
    redacted_text: str
    interpretation: Interpretation

    def still_valid(self, stored_state: dict[str, Any] | None, redacted_text: str) -> bool:
        """True when the state under the lock is the one the reading was made from (no turn in between)."""
        return self.redacted_text == redacted_text and (stored_state or {}) == self.stored_state


class ConversationService:
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

    def start(self, channel: str = "chat", actor: str = "system", contact: Mapping[str, str] | None = None,
              clients: Sequence[ClientIdentity] = ()) -> TurnView:
        """Start a conversation; `contact` is what the channel already knows (a caller's number), `clients`
        who is on the other end (an address, a widget or API key, a caller's number: verification limits)."""
        state = ConversationState()
        state.known.update({k: v for k, v in (contact or {}).items() if v})
        state.clients = list(clients)
        with self.db.session() as session:
            now = self.clock()
            conversation = ConversationRepository(session).create(channel=channel, actor=actor, now=now)
            recorder = TurnRecorder(session, conversation, actor=f"ai:conversation:{conversation.id}")
            ticket = recorder.open_ticket(channel, now)
            result = self.engine.greet(state, self._context(session, ticket, channel))
            recorder.record_turn(state, None, result, self.clock())
            view = TurnView(conversation.id, result.replies, False, public_state(state, self.engine))
        self.bus.publish(view.id, "started")
        return view

    def post(self, conversation_id: str, text: str, actor: str = "system") -> TurnView:
        started = time.perf_counter()
        try:
            view = self._post(conversation_id, text, actor)
        except Exception as exc:
            if self.observer is not None:
                self.observer.turn_refused(exc)
            raise
        if self.observer is not None:
            self.observer.turn_handled(view.channel, time.perf_counter() - started, view.engine_failed)
        self.bus.publish(conversation_id, "ended" if view.ended else "message")
        return view

    def _post(self, conversation_id: str, text: str, actor: str) -> TurnView:
        text = text[:MAX_MESSAGE_CHARS]
        if not self.exists(conversation_id):
            raise ConversationNotFound(conversation_id)
        with self._locks.hold(conversation_id):
            prepared = self._understand_ahead(conversation_id, text)
            with conversation_transaction(self.db, conversation_id, self.turn_wait_seconds) as session:
                return self._post_locked(session, conversation_id, text, actor, prepared)

    def _understand_ahead(self, conversation_id: str, text: str) -> PreparedReading | None:
        """Understand the message on the state as last committed, outside any write transaction (None
        when there is nothing to understand, or a card number spans messages: then it is done in the turn)."""
        with self.db.read_session() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.status != "active" or conversation.handled_by:
                return None
            previous = self._previous_customer_messages(session, conversation_id)
            redacted = DEFAULT_REDACTOR.redact(text, RedactionCarry.from_stored([m.text for m in previous]))
            stored_state = copy.deepcopy(dict(conversation.state or {}))
        state = ConversationState.from_json(copy.deepcopy(stored_state))
        if redacted.masks_previous or state.ended or not redacted.text.strip():
            return None
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
        recorder.record_turn(state, result.redacted_text, result, self.clock())
        return TurnView(conversation.id, result.replies, state.ended, public_state(state, self.engine),
                        conversation.channel, engine_failed)

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

    def end(self, conversation_id: str, actor: str = "system", reason: str = "ended") -> TurnView:
        view = self._end(conversation_id, actor, reason)
        self.bus.publish(conversation_id, "ended")
        return view

    def _end(self, conversation_id: str, actor: str, reason: str) -> TurnView:
        with self._turn(conversation_id) as session:
            repo = ConversationRepository(session)
            conversation = repo.get(conversation_id, actor=actor)
            if conversation is None:
                raise ConversationNotFound(conversation_id)
            state = ConversationState.from_json(conversation.state)
            if conversation.status != "active":
                return TurnView(conversation.id, [], True, public_state(state, self.engine))
            recorder = TurnRecorder(session, conversation, actor=f"ai:conversation:{conversation.id}")
            ticket = recorder.ticket()
            context = self._context(session, ticket, conversation.channel, conversation.id)
            result = self.engine.end(state, context, reason)
            state.ended = True
            recorder.record_turn(state, None, result, self.clock())
            return TurnView(conversation.id, result.replies, True, public_state(state, self.engine))

    def silence(self, conversation_id: str, final: bool) -> TurnView:
        """Called by a channel's timer when the customer has gone quiet."""
        view = self._silence(conversation_id, final)
        self.bus.publish(conversation_id, "ended" if view.ended else "message")
        return view

    def handoff_failed(self, conversation_id: str, phone: str | None = None) -> TurnView:
        """Called by a channel when a transfer to a person was not answered: a callback is booked."""
        view = self._apply(conversation_id, lambda state, context: self.engine.handle_handoff_failed(
            state, context, phone))
        self.bus.publish(conversation_id, "message")
        return view

    def engine_input(self, conversation_id: str,
                     handle: Callable[[ConversationState, TurnContext], TurnResult | None]) -> TurnView:
        """Something other than the customer's text moves the conversation on (a colleague's answer, a wait
        that ran out): run `handle` on the state under the turn's lock, record it, and tell the channels."""
        view = self._apply(conversation_id, handle)
        if view.replies:
            self.bus.publish(conversation_id, "ended" if view.ended else "message")
        return view

    def _silence(self, conversation_id: str, final: bool) -> TurnView:
        def handle(state: ConversationState, context: TurnContext) -> TurnResult | None:
            # Checked again under the lock: the sweeper read the state before it, and another node's
            # sweeper (or the customer) may have acted since; a customer is reminded or closed once.
            if state.ended or (not final and state.reprompted_turn == state.turn):
                return None
            return self.engine.handle_silence(state, context, final)

        return self._apply(conversation_id, handle)

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
            recorder.record_turn(state, None, result, self.clock(), reply_meta={UNPROMPTED: True})
            return TurnView(conversation.id, result.replies, state.ended, public_state(state, self.engine))

    def sweep_idle(
        self, reprompt_after: timedelta = timedelta(minutes=2), close_after: timedelta = timedelta(minutes=10)
    ) -> int:
        """Reprompt customers who went quiet, and close (keeping the ticket) those who left. Returns how
        many conversations were touched."""
        now = self.clock()
        with self.db.session() as session:
            active = ConversationRepository(session).list_active(actor="system", limit=500)
            idle = [(c.id, now - as_utc(c.last_activity_at), ConversationState.from_json(c.state)) for c in active
                    if c.channel not in UNHURRIED_CHANNELS]
            handled_by = {c.id: c.handled_by for c in active}
        touched = 0
        for conversation_id, quiet_for, state in idle:
            if handled_by.get(conversation_id):
                continue  # a person is in charge of this one; the AI does not nag or close it
            if quiet_for >= close_after:
                self.silence(conversation_id, final=True)
            elif quiet_for >= reprompt_after and state.reprompted_turn != state.turn:
                self.silence(conversation_id, final=False)
            else:
                continue
            touched += 1
        return touched

    def ticket_number(self, conversation_id: str) -> int | None:
        with self.db.session() as session:
            conversation = ConversationRepository(session).get(conversation_id, actor="system")
            if conversation is None:
                return None
            ticket = TurnRecorder(session, conversation, actor="system").ticket()
            return ticket.number if ticket else None

    # --- people in the conversation (console) -------------------------------------------------

    def _staff_turn(self, conversation_id: str, actor: str, kind: str, change: Callable[[Session, Any], None]) -> None:
        """Run a staff action on an active conversation in one transaction, then tell the live views."""
        with self._turn(conversation_id) as session:
            conversation = ConversationRepository(session).get(conversation_id, actor=actor)
            if conversation is None:
                raise ConversationNotFound(conversation_id)
            if conversation.status != "active":
                raise ConversationClosed(conversation_id)
            change(session, conversation)
        self.bus.publish(conversation_id, kind)

    def take_over(self, conversation_id: str, by: str, display_name: str, actor: str) -> None:
        """A person answers from now on; the AI stops replying until ``hand_back``."""
        def change(session: Session, conversation: Any) -> None:
            if conversation.handled_by == by:
                return
            conversation.handled_by = by
            ConversationRepository(session).append_message(
                conversation_id, role="system", text=f"{display_name} (a member of our team) has joined the chat.",
                meta={**NOTICE, "by": by}, actor=actor, now=self.clock())

        self._staff_turn(conversation_id, actor, "takeover", change)

    def hand_back(self, conversation_id: str, by: str, actor: str) -> None:
        """The AI answers again, picking up where it was (an escalated conversation routes again)."""
        def change(session: Session, conversation: Any) -> None:
            if not conversation.handled_by:
                return
            conversation.handled_by = None
            state = ConversationState.from_json(conversation.state)
            state.escalated = False
            repo = ConversationRepository(session)
            repo.save_state(conversation_id, state=state.to_json(),
                            current_procedure=state.active.procedure_id if state.active else None,
                            actor=actor, now=self.clock())
            persona = self.engine.pack.business.persona.name
            repo.append_message(conversation_id, role="system", text=f"You're back with {persona}, our virtual "
                                "assistant.", meta={**NOTICE, "by": by}, actor=actor, now=self.clock())

        self._staff_turn(conversation_id, actor, "handback", change)

    def staff_lines_since(self, conversation_id: str, after: int) -> tuple[list[tuple[int, str]], bool]:
        """What people said to the customer after message ``after``: their replies and the joined / left
        notices (never whispers), as (seq, text); and whether a person handles the conversation now. A phone
        call speaks these, since the caller cannot read the console's replies."""
        with self.db.read_session() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                return [], False
            rows = session.scalars(select(Message).where(
                Message.conversation_id == conversation_id, Message.seq > after,
                Message.role.in_(("human", "system"))).order_by(Message.seq))
            lines = [(m.seq, m.text) for m in rows if customer_visible(m.role, m.meta)
                     and (m.role == "human" or (m.meta or {}).get("notice"))]
            return lines, bool(conversation.handled_by)

    def last_seq(self, conversation_id: str) -> int:
        with self.db.read_session() as session:
            return ConversationRepository(session).last_seq(conversation_id)

    def whisper(self, conversation_id: str, by: str, text: str, actor: str) -> None:
        """A hint for the staff on this conversation; never shown to the customer."""
        text = text.strip()[:MAX_MESSAGE_CHARS]
        if not text:
            raise ValueError("a whisper needs some text")

        def change(session: Session, _conversation: Any) -> None:
            # Staff paste what customers tell them on the phone: whispers are redacted like the rest.
            ConversationRepository(session).append_message(conversation_id, role="system", text=redact(text)[0],
                                                           meta={**STAFF_ONLY, "by": by}, actor=actor,
                                                           now=self.clock())

        self._staff_turn(conversation_id, actor, "whisper", change)

    def human_reply(self, conversation_id: str, by: str, display_name: str, text: str, actor: str) -> None:
        """A person's reply to the customer (stored with role "human"); only by whoever handles it."""
        text = text.strip()[:MAX_MESSAGE_CHARS]
        if not text:
            raise ValueError("a reply needs some text")

        def change(session: Session, conversation: Any) -> None:
            if conversation.handled_by != by:
                raise PermissionError("take the conversation over (or accept it) before replying")
            ConversationRepository(session).append_message(
                conversation_id, role="human", text=redact(text)[0], meta={"by": by, "name": display_name},
                actor=actor, now=self.clock())

        self._staff_turn(conversation_id, actor, "message", change)

    def rate(self, conversation_id: str, score: int, actor: str) -> int | None:
        """Store the customer's 1-5 satisfaction rating on the conversation's ticket; returns its number."""
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise ValueError("a rating is a whole number from 1 to 5")
        with self.db.session() as session:
            conversation = ConversationRepository(session).get(conversation_id, actor=actor)
            if conversation is None:
                raise ConversationNotFound(conversation_id)
            ticket = TurnRecorder(session, conversation, actor=actor).ticket()
            if ticket is None:
                return None
            TicketRepository(session).update(ticket.id, actor=actor, csat=score, now=self.clock())
            number = ticket.number
        self.bus.publish(conversation_id, "rated")
        return number
