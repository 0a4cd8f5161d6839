"""Transferring an escalated call to a person: the escalation tier's side of the hand-over.

Whether the tier's team is in, the number to ring and the summary the person hears, marking the hand-off
taken when someone answers, and booking a callback when nobody does. The call agent (voice/call.py) decides
when to hand over and speaks to the caller; everything here is the engine's and the database's part, run
in worker threads so the call's audio never waits on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from helpline.application.conversations import ConversationService
from helpline.application.handoffs import latest_handoff, mark_taken
from helpline.conversation.hours import team_schedule
from helpline.pack.loader import BusinessPack
from helpline.voice.frames import TransferRequested

log = logging.getLogger(__name__)


class Transfer:
    """One call's transfer to the escalation tier; `ringing` while a person is being rung (the caller's silence
    is expected then)."""

    def __init__(self, conversations: ConversationService, pack: BusinessPack, channel: str,
                 conversation_id: Callable[[], str]) -> None:
        self.conversations = conversations
        self.pack = pack
        self.channel = channel
        self._conversation_id = conversation_id  # raises while the conversation has not started
        self.ringing = False

    def team_open(self, tier: str | None) -> bool:
        """The hours of the team the engine handed the call to, on this channel (its own, else the business's)."""
        return team_schedule(self.pack.business, tier, self.channel).is_open(self.conversations.clock())

    async def request(self) -> TransferRequested | None:
        """The transfer to ask the transport for (None: the tier has no number to ring)."""
        target, summary = await asyncio.to_thread(self._handoff)
        if not target:
            return None
        self.ringing = True
        return TransferRequested(target=target, summary=summary)

    def _handoff(self) -> tuple[str, str]:
        """The escalation tier's number and the summary the person will hear."""
        handoff = latest_handoff(self.conversations.db, self._conversation_id())
        if handoff is None:
            return "", ""
        tier = self.pack.business.escalation.tier(handoff.tier)
        steps = "; ".join(handoff.steps_tried[-3:])
        summary = (f"{handoff.customer_summary}. Issue: {handoff.issue}. Wants: {handoff.customer_wants}. "
                   f"Mood: {handoff.mood}, urgency {handoff.urgency}." + (f" Tried: {steps}." if steps else ""))
        return tier.sip_uri or tier.phone_extension or "", summary

    async def connected(self, target: str) -> None:
        """A person answered the transfer: the hand-off is taken (the dashboard's service level and
        abandonment count it, as they count one accepted in the console)."""
        try:
            await asyncio.to_thread(mark_taken, self.conversations.db, self._conversation_id(), target)
        except Exception:  # the call goes on with the person whatever the bookkeeping does
            log.exception("could not mark the hand-off of %s taken", self._conversation_id())

    async def failed(self, caller: str) -> list[str] | None:
        """Nobody picked up: the engine books a callback to the caller's number and says when; its replies
        (None when the callback could not be booked, and the caller hears the agent's own apology)."""
        self.ringing = False
        try:
            view = await asyncio.to_thread(self.conversations.handoff_failed, self._conversation_id(), caller or None)
        except Exception:
            log.exception("could not book a callback after a failed transfer")
            return None
        return list(view.replies)
