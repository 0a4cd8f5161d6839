"""Composes the outbound runner for ``helpline serve``: the senders the channels built (email, SMS), the
opt-out store every channel writes, the planner with the pack's settings and the business's customers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpline.outbound.audience import Audience
from helpline.outbound.planner import Planner
from helpline.outbound.ports import MessageSender, OutboundChannel
from helpline.outbound.queue import RetryPolicy
from helpline.outbound.runner import OutboundLoop, OutboundRunner
from helpline.runtime import Runtime
from helpline.store.opt_outs import StoredContactPreferences


def channel_senders(app_state: Any) -> dict[OutboundChannel, MessageSender]:
    """The senders the channels installed on the app: ``outbound_senders`` (a channel -> sender mapping any
    channel may fill), the SMS channel's outbox (it records delivery reports) and the email service's sender."""
    senders: dict[OutboundChannel, MessageSender] = dict(getattr(app_state, "outbound_senders", None) or {})
    outbox = getattr(getattr(app_state, "sms", None), "outbox", None)
    if OutboundChannel.SMS not in senders and outbox is not None:
        senders[OutboundChannel.SMS] = outbox
    email_sender = getattr(getattr(app_state, "email_service", None), "sender", None)
    if OutboundChannel.EMAIL not in senders and email_sender is not None:
        senders[OutboundChannel.EMAIL] = email_sender
    return senders


def build_outbound_loop(runtime: Runtime, senders: Mapping[OutboundChannel, MessageSender]) -> OutboundLoop:
    """The queue's runner: messages on channels without a sender stay queued (visible in the console)."""
    return OutboundLoop(build_outbound_runner(runtime, senders))


def build_outbound_runner(runtime: Runtime, senders: Mapping[OutboundChannel, MessageSender],
                          policy: RetryPolicy | None = None) -> OutboundRunner:
    """The runner alone (the background worker runs it on its own schedule, helpline/ops/worker.py);
    ``policy`` sets the retries and the claim timeout."""
    records = runtime.operations.sql.engine if runtime.operations.sql is not None else None
    planner = Planner(runtime.db, runtime.pack, Audience(runtime.db, runtime.pack, records))
    return OutboundRunner(runtime.db, senders, StoredContactPreferences(runtime.db), planner, policy=policy,
                          clock=runtime.conversations.clock)
