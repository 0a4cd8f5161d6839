"""The conversation service every channel uses: start a conversation, post a turn, end it, read it.

``ConversationService`` is what the channels, the console and the API hold. Its duties live in three layers:
``turns.py`` applies a turn (one at a time per conversation, across processes; understanding ahead of the write
transaction), ``staff.py`` the staff's actions (take over, hand back, whisper, reply), and this module starting,
ending and reading conversations, engine inputs without customer text (silence, a failed transfer, a colleague's
answer) and the idle sweeper.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from helpline.application.recorder import TurnRecorder, as_utc
from helpline.application.serialise import ConversationBusy
from helpline.application.staff import StaffActions
from helpline.application.turns import CRASH_REPLY, MAX_MESSAGE_CHARS, PreparedReading, TurnObserver
from helpline.application.views import (
    NOTICE,
    STAFF_ONLY,
    UNPROMPTED,
    ConversationClosed,
    ConversationNotFound,
    TurnEvent,
    TurnView,
    customer_visible,
    public_state,
)
from helpline.conversation.engine import TurnContext
from helpline.conversation.events import TurnResult
from helpline.conversation.ports import ClientIdentity
from helpline.conversation.state import ConversationState
from helpline.store.repositories import ConversationRepository, TicketRepository

__all__ = ["CRASH_REPLY", "MAX_MESSAGE_CHARS", "NOTICE", "STAFF_ONLY", "UNPROMPTED", "ConversationBusy",
           "ConversationClosed", "ConversationNotFound", "ConversationService", "PreparedReading", "TurnEvent",
           "TurnObserver", "TurnView", "customer_visible", "public_state"]

# Customers answer in hours or days here: never reminded ("are you still there?") or closed for silence.
UNHURRIED_CHANNELS = ("email", "sms")


class ConversationService(StaffActions):
    """Start, post to, end and read conversations; the staff's actions come with it (staff.py)."""

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
            handoff = recorder.record_turn(state, None, result, self.clock())
            view = self._view(conversation, state, result, handoff)
        self.bus.publish(view.id, "started")
        return view

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
            handoff = recorder.record_turn(state, None, result, self.clock())
            return self._view(conversation, state, result, handoff)

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

    def last_seq(self, conversation_id: str) -> int:
        with self.db.read_session() as session:
            return ConversationRepository(session).last_seq(conversation_id)

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
