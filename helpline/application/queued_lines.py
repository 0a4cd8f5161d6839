"""Lines a conversation gains outside a reply to the customer (a console person's reply, a colleague's answer the
agent relays), sent by the channels without a live session (email, SMS) through the durable send queue.

Every node hears the bus notice for such a line, so each line is claimed once: it becomes a send-queue row under a
key naming the conversation and the line (``<prefix>:<conversation>:<seq>``; a second node's insert of the same
key is a no-op), and the node that queued it claims the row at once (``OutboundQueue.claim_queued``, the
conditional UPDATE of store/claims.py) and sends it; the row then records the outcome, and the console's Outbound
page shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from helpline.outbound.ports import DeliveryResult, OutboundMessage
from helpline.outbound.queue import OutboundQueue, RetryPolicy, message_of
from helpline.store.db import Database


@dataclass(frozen=True)
class QueuedLine:
    """A transcript line this node claimed and should send now."""

    row_id: str  # the send queue's row: finish it with the outcome
    seq: int  # the transcript line
    message: OutboundMessage


def line_key(prefix: str, conversation_id: str, seq: int) -> str:
    return f"{prefix}:{conversation_id}:{seq}"


def queue_line(session: Session, message: OutboundMessage, seq: int, *, key: str, node: str, now: datetime,
               actor: str, ticket_id: str | None, customer_id: str | None) -> QueuedLine | None:
    """Queue the line's message under ``key`` and claim it for ``node``, in the caller's transaction (commit right
    after, so the other nodes see the claim). None when another node queued or claimed it first: that node sends
    it."""
    queue = OutboundQueue(session)
    record = queue.enqueue(message, dedupe_key=key, actor=actor, now=now, ticket_id=ticket_id,
                           customer_id=customer_id)
    if record is None or not queue.claim_queued(record.id, node=node, now=now):
        return None
    return QueuedLine(record.id, seq, message_of(record, message.ticket_number))


def line_queued(session: Session, key: str) -> bool:
    """Whether the line was queued already (by this node or another)."""
    return OutboundQueue(session).exists(key)


def finish_line(db: Database, row_id: str, result: DeliveryResult, *, node: str, now: datetime,
                policy: RetryPolicy, actor: str, blocked: bool = False) -> None:
    """Record the send's outcome on the line's row: sent, queued again after the policy's backoff, failed, or
    ``blocked`` (the customer opted out: kept with why, never sent). A row another node took over meanwhile is
    left to it."""
    with db.session() as session:
        queue = OutboundQueue(session)
        if blocked and not result.delivered:
            queue.block(row_id, result.error or "opted out", node=node, now=now, actor=actor)
        else:
            queue.finish(row_id, result, node=node, now=now, policy=policy, actor=actor)
