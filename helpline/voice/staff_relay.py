"""Relaying a person's replies to the caller once they take the call over in the console.

They type; the caller hears it. Their replies (and the "… has joined" / "you're back with …" notices) are
spoken as they are committed, and while a person has the call the call agent keeps its fillers and prompts
quiet (`person_on_call`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from helpline.application.conversations import ConversationService


class StaffRelay:
    """Speaks what staff commit on one conversation until the call is over."""

    def __init__(self, conversations: ConversationService, say: Callable[[list[str]], Awaitable[object]]) -> None:
        self.conversations = conversations
        self._say = say  # the call agent's speaking: the lines are numbered and sent like its own
        self.person_on_call = False  # taken over in the console: a person answers, the AI stays quiet

    async def run(self, conversation_id: str, on_call: Callable[[], bool]) -> None:
        """Relay until `on_call` says the call is over (checked at least once a second)."""
        with self.conversations.bus.subscribe(conversation_id) as subscription:
            # subscribed first: a reply committed while this reads cannot fall between the two
            after = await asyncio.to_thread(self.conversations.last_seq, conversation_id)
            while on_call():
                if await subscription.get(timeout=1.0) is None:
                    continue
                lines, self.person_on_call = await asyncio.to_thread(
                    self.conversations.staff_lines_since, conversation_id, after)
                for seq, text in lines:
                    after = max(after, seq)
                    await self._say([text])
