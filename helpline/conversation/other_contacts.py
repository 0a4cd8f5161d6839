"""One customer across channels (the seeds' concurrent-contacts exercise).

Once a customer is verified, their other open contacts (an email thread, an earlier chat, an SMS) are named — "I can
also see your email from Monday about …" — and, when they say it is the same issue, that ticket is folded into this
one (`TicketsJoined`): one ticket, closed with this contact's outcome, no duplicate follow-up. A contact whose ticket
was folded into another says so first when the customer comes back to it, so a stale email thread never contradicts
what a call already did. Nothing about another contact is said before verification.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from helpline.conversation.commands import Affirm, Deny, Interpretation
from helpline.conversation.events import CustomerVerified, TicketsJoined
from helpline.conversation.steps import Steps
from helpline.conversation.turn import Turn

SAME_ISSUE_OFFER = "same_issue:"  # + the other ticket's number: "is today's call about the same thing?"
CHANNEL_WORDS = {"email": "email", "sms": "text message", "chat": "chat", "phone": "call", "voice": "call",
                 "api": "message"}


class OtherContacts(Steps):
    def _mention_other_contacts(self, turn: Turn) -> None:
        """Right after verification: name the customer's other open contacts (the most recent one is asked about)."""
        state = turn.state
        contacts = turn.context.contacts
        if (contacts is None or state.customer is None or state.other_contacts_told
                or not any(isinstance(e, CustomerVerified) for e in turn.events)):
            return
        state.other_contacts_told = True
        others = [c for c in contacts.open_elsewhere(state.customer) if c.ticket_number != turn.context.ticket_number]
        if not others:
            return
        latest = max(others, key=lambda c: c.opened_at)
        words: dict[str, Any] = {
            "channel": CHANNEL_WORDS.get(latest.channel, "message"), "number": latest.ticket_number,
            "summary": latest.summary, "when": self._when(turn, latest.opened_at),
            "this_channel": CHANNEL_WORDS.get(turn.context.channel, "message")}
        current = state.active.procedure_id if state.active is not None else None
        if current is not None and latest.summary == self.procedures[current].title:
            # the same request (a ticket's summary is its procedure's title): one ticket, without asking
            turn.events.append(TicketsJoined(latest.ticket_number))
            self._say(turn, "other_contact_same", **words)
            state.steps_taken.append(f"Joined ticket #{latest.ticket_number} ({latest.channel}): the same request")
            return
        awaiting = state.active is not None and state.active.awaiting is not None
        if awaiting or state.pending_offer not in (None, "anything_else"):
            # a question is open already: say it, don't stack a second question on it
            self._say(turn, "other_contact_noted", **words)
        else:
            self._say(turn, "other_contact_open", **words)
            state.pending_offer = f"{SAME_ISSUE_OFFER}{latest.ticket_number}"
        state.steps_taken.append(f"Customer also has ticket #{latest.ticket_number} open ({latest.channel})")

    def _answer_same_issue(self, turn: Turn, it: Interpretation, offer: str) -> bool:
        number = int(offer.removeprefix(SAME_ISSUE_OFFER))
        if it.has(Affirm):
            turn.events.append(TicketsJoined(number))
            turn.state.steps_taken.append(f"Joined ticket #{number} into this contact (same issue)")
            self._say(turn, "other_contact_joined", number=number)
            return True
        if it.has(Deny):
            self._say(turn, "other_contact_separate", number=number)
            turn.state.pending_offer = "anything_else"
            return True
        return False

    def _tell_joined(self, turn: Turn) -> bool:
        """Back on a contact whose ticket was folded into another: say what was done there, once, and drop what this
        contact was in the middle of (the other contact took it over). True when told."""
        joined = turn.context.joined_into
        state = turn.state
        if joined is None or state.joined_told:
            return False
        state.joined_told = True
        for run in [r for r in (state.active, *state.suspended) if r is not None]:
            self._finish_procedure(turn, run, "unresolved", f"continued on ticket #{joined.ticket_number}")
        state.active = None
        state.suspended.clear()
        self._say(turn, "joined_elsewhere", number=joined.ticket_number,
                  channel=CHANNEL_WORDS.get(joined.channel, "message"), resolution=joined.resolution,
                  resolved=joined.status == "resolved")
        self._say(turn, "anything_else")
        state.pending_offer = "anything_else"
        return True

    def _when(self, turn: Turn, moment: datetime) -> str:
        local = moment.astimezone(ZoneInfo(self.pack.business.timezone))
        today = turn.context.now.astimezone(local.tzinfo).date()
        if local.date() == today:
            return "earlier today"
        return f"on {local.strftime('%A')}" if (today - local.date()).days < 7 else f"on {local.strftime('%B %-d')}"
