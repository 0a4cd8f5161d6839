"""Telling the team: each question and hand-off is posted to the pack's team chats, as a durable job.

A notice row is written in the turn's transaction (application/recorder.py); `TeamNotifier.run_once` claims pending
ones with one conditional UPDATE each (store/claims.py: several nodes never post one twice), writes the text —
masked unless the pack lets customer data reach the chat — posts it, and retries with backoff when a chat refuses.
Card numbers and secrets were redacted before anything was stored, so they cannot reach a chat.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import phonenumbers
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from helpline.pack.models import BusinessConfig
from helpline.store.claims import Claims
from helpline.store.db import Database
from helpline.store.models import Handoff, TeamNotice, TeamQuestion, Ticket
from helpline.team.webhooks import TeamChat, TeamPost

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CLAIM_TIMEOUT = timedelta(minutes=2)
# A notice is posted by one node at a time; the claim is released once posted or put off for a retry.
NOTICE_CLAIMS = Claims(TeamNotice, TeamNotice.id, TeamNotice.claimed_by, TeamNotice.claimed_at)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_contacts(text: str, region: str) -> str:
    """Emails and phone numbers out of a text bound for a chat outside Helpline."""
    text = EMAIL.sub("[email]", text)
    for match in reversed(list(phonenumbers.PhoneNumberMatcher(text, region))):
        text = text[:match.start] + "[phone]" + text[match.end:]
    return text


@dataclass
class TeamNotifier:
    db: Database
    business: BusinessConfig
    chats: list[TeamChat]
    console_url: str = ""  # e.g. https://help.example.com — links in the posts point to the console
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    node: str = socket.gethostname()

    async def run_once(self) -> int:
        """Post what is pending; returns how many notices were posted."""
        posted = 0
        for notice_id, message in self._claim():
            errors = [error for error in await asyncio.gather(*(chat.post(message) for chat in self.chats)) if error]
            self._finish(notice_id, errors)
            posted += not errors
        return posted

    def _claim(self) -> list[tuple[str, TeamPost]]:
        now = self.clock()
        free = NOTICE_CLAIMS.free(now, CLAIM_TIMEOUT)
        claimed: list[tuple[str, TeamPost]] = []
        with self.db.session() as session:
            candidates = (select(TeamNotice.id).where(
                TeamNotice.posted_at.is_(None), TeamNotice.attempts < MAX_ATTEMPTS,
                or_(TeamNotice.next_attempt_at.is_(None), TeamNotice.next_attempt_at <= now), free)
                .order_by(TeamNotice.created_at).limit(20))
            for notice in NOTICE_CLAIMS.claim_rows(session, candidates, still=TeamNotice.posted_at.is_(None) & free,
                                                   node=self.node, now=now):
                message = self._message(session, notice)
                if message is None or not self.chats:  # what it was about is gone (erased), or no chat to tell
                    notice.posted_at = now
                    continue
                claimed.append((notice.id, message))
        return claimed

    def _finish(self, notice_id: str, errors: list[str]) -> None:
        now = self.clock()
        with self.db.session() as session:
            notice = session.get(TeamNotice, notice_id)
            if notice is None:
                return
            NOTICE_CLAIMS.release(notice)
            if not errors:
                notice.posted_at = now
                return
            notice.attempts += 1
            notice.last_error = "; ".join(errors)[:1000]
            notice.next_attempt_at = now + timedelta(seconds=min(30 * 2 ** notice.attempts, 3600))
            log.warning("team notice %s not posted (attempt %d): %s", notice_id, notice.attempts, notice.last_error)

    def _message(self, session: Session, notice: TeamNotice) -> TeamPost | None:
        share = self.business.team.share_customer_data

        def safe(text: str) -> str:
            return text if share else mask_contacts(text, self.business.phone_region)

        if notice.kind == "question":
            question = session.get(TeamQuestion, notice.ref_id)
            if question is None:
                return None
            ticket = session.get(Ticket, question.ticket_id) if question.ticket_id else None
            where = f" (ticket #{ticket.number})" if ticket is not None else ""
            return TeamPost(f"A customer is waiting for an answer{where}", f"“{safe(question.question)}”\n"
                            "Answer in the console's inbox and the agent passes it on.",
                            self._link("/console/inbox"))
        handoff = session.get(Handoff, notice.ref_id)
        if handoff is None:
            return None
        lines = [f"Issue: {safe(handoff.issue)}"]
        if share and handoff.customer_summary:
            lines.insert(0, f"Customer: {handoff.customer_summary}")
        if handoff.customer_wants:
            lines.append(f"Wants: {safe(handoff.customer_wants)}")
        lines.append(f"Mood: {handoff.mood or 'calm'} · urgency: {handoff.urgency or 'normal'}")
        return TeamPost(f"Hand-off to {handoff.tier}", "\n".join(lines), self._link("/console/inbox"))

    def _link(self, path: str) -> str | None:
        return f"{self.console_url.rstrip('/')}{path}" if self.console_url else None


async def keep_the_team_in_the_loop(notifier: TeamNotifier, give_up_waiting: Callable[[], int],
                                    every_s: float = 5.0) -> None:
    """`helpline serve`'s background task: post pending notices, and give up on questions nobody answered in
    time (the customer is offered a callback). Runs until cancelled; one failed round never stops it."""
    while True:
        try:
            await notifier.run_once()
            await asyncio.to_thread(give_up_waiting)
        except Exception:
            log.exception("team notices round failed")
        await asyncio.sleep(every_s)
