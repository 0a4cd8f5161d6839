"""Prometheus metrics (``/metrics``): turns, their latency and errors, background jobs, queue depths.

Counters and histograms are this process's (each node is scraped on its own; sum them in queries). The queue
depths and active conversations are read from the shared database at scrape time, so every node reports the
same figure for them: take ``max`` across nodes, not ``sum``. Labels are drawn from fixed sets (channels, job
names, error kinds) and values are counts: no customer data, no conversation id, no address ever reaches a
metric.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from helpline.outbound.queue import OutboundStatus
from helpline.store.db import Database
from helpline.store.models import Callback, Conversation, OutboundMessageRecord, TeamQuestion
from helpline.store.validation import CHANNELS

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OTHER = "other"
# a chat turn is ~50 ms without a language model, seconds with one; a phone turn adds speech
TURN_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
JOB_BUCKETS = (0.01, 0.05, 0.25, 1.0, 5.0, 30.0, 120.0, 600.0)


class TurnError(StrEnum):
    """Why a customer's message got no normal answer."""

    ENGINE = "engine"  # the engine failed; the customer got an apology, the state was kept
    BUSY = "busy"  # another turn held the conversation too long: 503, the client retries
    CLOSED = "closed"  # the conversation had ended
    NOT_FOUND = "not_found"
    INTERNAL = "internal"  # anything else raised by the turn


def known_channel(channel: str) -> str:
    """A channel label from the fixed set (an unexpected value must not grow the metric without bound)."""
    return channel if channel in CHANNELS else OTHER


class Metrics:
    """This process's metrics, in a registry of its own (never prometheus_client's global one)."""

    def __init__(self, db: Database | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter("helpline_turns", "Customer messages the agent handled, by channel.", ["channel"],
                             registry=self.registry)
        self.turn_seconds = Histogram("helpline_turn_seconds", "Time to handle one customer message (understanding, "
                                      "engine, recording), by channel.", ["channel"], buckets=TURN_BUCKETS,
                                      registry=self.registry)
        self.turn_errors = Counter("helpline_turn_errors", "Customer messages that failed or were refused, by "
                                   "kind.", ["kind"], registry=self.registry)
        self.http_errors = Counter("helpline_http_server_errors", "HTTP responses with a 5xx status.",
                                   registry=self.registry)
        self.job_runs = Counter("helpline_job_runs", "Background job runs, by job and outcome (ok, failed).",
                                ["job", "outcome"], registry=self.registry)
        self.job_seconds = Histogram("helpline_job_seconds", "Duration of a background job run.", ["job"],
                                     buckets=JOB_BUCKETS, registry=self.registry)
        for kind in TurnError:  # every series exists from the start: rate() needs a zero before the first error
            self.turn_errors.labels(kind=str(kind))
        if db is not None:
            self.registry.register(DatabaseGauges(db, clock))

    # --- the conversation service's TurnObserver ---------------------------------------------------

    def turn_handled(self, channel: str, seconds: float, engine_failed: bool) -> None:
        label = known_channel(channel)
        self.turns.labels(channel=label).inc()
        self.turn_seconds.labels(channel=label).observe(seconds)
        if engine_failed:
            self.turn_errors.labels(kind=str(TurnError.ENGINE)).inc()

    def turn_refused(self, error: BaseException) -> None:
        self.turn_errors.labels(kind=str(turn_error_kind(error))).inc()

    # --- the background jobs' JobObserver ----------------------------------------------------------

    def job_ran(self, job: str, seconds: float, failed: bool) -> None:
        self.job_runs.labels(job=job, outcome="failed" if failed else "ok").inc()
        self.job_seconds.labels(job=job).observe(seconds)

    def exposition(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)


def turn_error_kind(error: BaseException) -> TurnError:
    from helpline.application.conversations import ConversationBusy, ConversationClosed, ConversationNotFound

    if isinstance(error, ConversationBusy):
        return TurnError.BUSY
    if isinstance(error, ConversationClosed):
        return TurnError.CLOSED
    if isinstance(error, ConversationNotFound):
        return TurnError.NOT_FOUND
    return TurnError.INTERNAL


class DatabaseGauges(Collector):
    """Queue depths and active conversations, counted in the shared database when scraped (aggregates only)."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def describe(self) -> list[Metric]:
        return []  # read at scrape time only: registering must not query the database

    def collect(self) -> Iterator[Metric]:
        outbound = GaugeMetricFamily("helpline_outbound_queued", "Messages in the send queue waiting to be sent "
                                     "(queued or being sent), by channel.", labels=["channel"])
        callbacks = GaugeMetricFamily("helpline_callbacks_due", "Promised phone callbacks that are due and not "
                                      "yet made.")
        questions = GaugeMetricFamily("helpline_team_questions_open", "Questions to the team not yet answered.")
        active = GaugeMetricFamily("helpline_conversations_active", "Conversations in progress, by channel.",
                                   labels=["channel"])
        up = GaugeMetricFamily("helpline_database_up", "1 when the database answered the metrics queries.")
        try:
            with self.db.read_session() as session:
                waiting = (OutboundStatus.QUEUED, OutboundStatus.SENDING)
                by_channel = dict(session.execute(
                    select(OutboundMessageRecord.channel, func.count())
                    .where(OutboundMessageRecord.status.in_([str(s) for s in waiting]))
                    .group_by(OutboundMessageRecord.channel)).tuples().all())
                due = session.scalar(select(func.count()).select_from(Callback).where(
                    Callback.status == "scheduled", Callback.due_at <= self.clock()))
                open_questions = session.scalar(select(func.count()).select_from(TeamQuestion).where(
                    TeamQuestion.status == "open"))
                conversations = dict(session.execute(
                    select(Conversation.channel, func.count()).where(Conversation.status == "active")
                    .group_by(Conversation.channel)).tuples().all())
        except Exception:  # a scrape during a database outage still answers, saying so
            log.warning("metrics: the database did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        for channel, count in _by_label(by_channel).items():
            outbound.add_metric([channel], count)
        callbacks.add_metric([], int(due or 0))
        questions.add_metric([], int(open_questions or 0))
        for channel, count in _by_label(conversations).items():
            active.add_metric([channel], count)
        up.add_metric([], 1)
        yield from (outbound, callbacks, questions, active, up)


def _by_label(counts: dict[str, int]) -> dict[str, int]:
    """Counts keyed by known channel labels (every known channel present, unknown ones summed as 'other')."""
    labelled = {channel: 0 for channel in CHANNELS}
    for channel, count in counts.items():
        label = known_channel(channel)
        labelled[label] = labelled.get(label, 0) + int(count)
    return labelled
