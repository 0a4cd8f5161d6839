"""Understanding the caller's words ahead of the turn, while the closing pause runs out.

The recognition stage reports the early words (`EarlyWords`) before the pause has ended the turn; reading
them now means a turn of the same words hands that reading to the engine instead of understanding them
again, so the caller waits only for the engine's write. The call agent decides when a look-ahead is worth
starting (voice/call.py); this holds the one reading in flight and hands it over when the turn comes.
"""

from __future__ import annotations

import asyncio
import logging

from helpline.application.conversations import ConversationService, PreparedReading

log = logging.getLogger(__name__)


class LookAhead:
    """The early words being understood ahead, and their reading (at most one at a time: a newer start replaces it)."""

    def __init__(self, conversations: ConversationService, wait: float) -> None:
        self.conversations = conversations
        self._wait = wait  # at most this long for the reading once the turn has come
        self._ahead: tuple[str, asyncio.Future[PreparedReading | None]] | None = None

    def start(self, conversation_id: str, text: str) -> None:
        """Understand `text` in a worker thread now. Nothing is posted, said or recorded (the service drops the
        reading if anything happened on the conversation in between: another turn, a timer, a person taking
        over); words the caller talks on past are a wasted read, not a wrong answer."""
        understand = self.conversations.understand_ahead

        def read() -> PreparedReading | None:
            try:
                return understand(conversation_id, text)
            except Exception:
                log.debug("understanding ahead failed on conversation %s", conversation_id, exc_info=True)
                return None

        self._ahead = (text, asyncio.ensure_future(asyncio.to_thread(read)))

    async def take(self, text: str) -> PreparedReading | None:
        """The reading of these very words, once it is done (one still running is waited for rather than its work
        done twice); None when it read other words, or did not finish in time. Either way it is used up."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        said, work = ahead
        if said != text:
            return None
        await asyncio.wait({work}, timeout=self._wait)
        return work.result() if work.done() else None
