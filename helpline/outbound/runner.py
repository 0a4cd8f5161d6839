"""Sends what the queue holds: plan (what the pack sends on its own), claim what is due, ask the customer's
contact preferences, send through the channel's ``MessageSender``, record the result. ``OutboundLoop`` runs
it every few seconds in ``helpline serve`` (a thread with its own event loop, like the retention loop)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from helpline.outbound.planner import ACTOR, Planner
from helpline.outbound.ports import (
    ContactPreferences,
    DeliveryResult,
    MessagePurpose,
    MessageSender,
    OutboundChannel,
    OutboundMessage,
)
from helpline.outbound.queue import OutboundQueue, RetryPolicy, message_of
from helpline.store.db import Database
from helpline.store.models import OutboundMessageRecord, Ticket

log = logging.getLogger(__name__)

DEFAULT_EVERY_SECONDS = 15.0
SEND_TIMEOUT_SECONDS = 60.0


def node_name() -> str:
    """Who holds a claim: the host and process, so a claim can be traced to the node that made it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def utc_now() -> datetime:
    return datetime.now(UTC)


class NoOptOuts:
    """Contact preferences when no channel keeps opt-outs (no SMS or email channel configured): every
    message is allowed. Any channel that records STOP or unsubscribes supplies its own store."""

    def allows(self, channel: OutboundChannel, address: str, purpose: MessagePurpose) -> bool:
        return True


@dataclass
class RunReport:
    planned: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    blocked: int = 0


class OutboundRunner:
    def __init__(self, db: Database, senders: Mapping[OutboundChannel, MessageSender],
                 preferences: ContactPreferences, planner: Planner | None = None, *, node: str | None = None,
                 policy: RetryPolicy | None = None, clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.senders = dict(senders)
        self.preferences = preferences
        self.planner = planner
        self.node = node or node_name()
        self.policy = policy or RetryPolicy()
        self.clock = clock

    async def run_once(self) -> RunReport:
        report = RunReport()
        if self.planner is not None:
            # planning reads the database: off the event loop
            planned = await asyncio.to_thread(self.planner.plan, self.clock())
            report.planned = planned.queued
        now = self.clock()
        with self.db.session() as session:  # the claim commits here, before anything is sent
            claimed = [(record.id, message_of(record, _ticket_number(session, record)))
                       for record in OutboundQueue(session).claim_due(
                           now, node=self.node, channels=list(self.senders), actor=ACTOR,
                           claim_timeout=self.policy.claim_timeout)]
        for row_id, message in claimed:
            if not self.preferences.allows(message.channel, message.to, message.purpose):
                with self.db.session() as session:
                    OutboundQueue(session).block(row_id, f"the customer opted out of {message.channel} messages",
                                                 node=self.node, now=self.clock(), actor=ACTOR)
                report.blocked += 1
                continue
            result = await self._send(message.channel, message)
            with self.db.session() as session:
                record = OutboundQueue(session).finish(row_id, result, node=self.node, now=self.clock(),
                                                       policy=self.policy, actor=ACTOR)
                status = record.status if record is not None else None
            if status == "sent":
                report.sent += 1
            elif status == "queued":
                report.retrying += 1
            elif status == "failed":
                report.failed += 1
        return report

    async def _send(self, channel: OutboundChannel, message: OutboundMessage) -> DeliveryResult:
        try:
            return await asyncio.wait_for(self.senders[channel].send(message), SEND_TIMEOUT_SECONDS)
        except TimeoutError:
            return DeliveryResult(delivered=False, error=f"the {channel} provider did not answer within "
                                                         f"{SEND_TIMEOUT_SECONDS:g} s")
        except Exception as exc:  # a sender must not raise; one that does is a retryable failure, named
            log.exception("outbound: %s sender raised", channel)
            return DeliveryResult(delivered=False, error=f"{type(exc).__name__} in the {channel} sender")


def _ticket_number(session: Session, record: OutboundMessageRecord) -> int | None:
    if not record.ticket_id:
        return None
    ticket = session.get(Ticket, record.ticket_id)
    return ticket.number if ticket is not None else None


class OutboundLoop:
    """Background thread for ``helpline serve``: runs the runner every few seconds until stopped."""

    def __init__(self, runner: OutboundRunner, every_seconds: float = DEFAULT_EVERY_SECONDS) -> None:
        self.runner = runner
        self.every_seconds = every_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="outbound", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=SEND_TIMEOUT_SECONDS)

    def _loop(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while not self._stop.wait(self.every_seconds):
                try:
                    report = loop.run_until_complete(self.runner.run_once())
                except Exception:  # the loop must outlive one failed pass; the next one retries
                    log.exception("outbound pass failed")
                    continue
                if report.sent or report.failed or report.blocked:
                    log.info("outbound: %d sent, %d retrying, %d failed, %d blocked", report.sent, report.retrying,
                             report.failed, report.blocked)
        finally:
            loop.close()
