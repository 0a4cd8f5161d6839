"""The background work of a Helpline deployment, composed once for ``helpline worker`` and ``helpline serve``.

Jobs: the outbound send queue (recaps, surveys, notices: ``outbound/``), team notices and giving up on team
questions nobody answered (``team/``), the retention job (``privacy/retention.py``), the idle-conversation
sweeper (reprompts, then closes, quiet chats) and QA scoring of ended contacts (``qa/``). Each claims its work
in the database (a conditional UPDATE, a claim timeout for a worker that died), so any number of workers may
run them. ``helpline serve`` runs them itself on a thread of its own (``EmbeddedWorker``, the single-node
default); with ``--no-worker`` it leaves them to ``helpline worker`` processes (``run_worker``). Phone callbacks
are dialled by the node with the SIP line (they need it), claimed once in the database.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from helpline.ops.jobs import DEFAULT_DRAIN_SECONDS, JobLoop, JobObserver, PeriodicJob, in_daemon_thread
from helpline.outbound.ports import MessageSender, OutboundChannel
from helpline.outbound.queue import RetryPolicy
from helpline.privacy.retention import DEFAULT_EVERY_SECONDS as RETENTION_EVERY_SECONDS
from helpline.privacy.retention import FIRST_RUN_AFTER_SECONDS as RETENTION_FIRST_AFTER_SECONDS
from helpline.privacy.retention import RetentionJob
from helpline.runtime import Runtime

log = logging.getLogger(__name__)


class JobName:
    OUTBOUND = "outbound"
    TEAM = "team"
    RETENTION = "retention"
    IDLE_SWEEP = "idle_sweep"
    QA = "qa"


@dataclass(frozen=True)
class WorkerSettings:
    """How often each job runs and how a stopping worker drains."""

    outbound_every_seconds: float = 15.0
    team_every_seconds: float = 5.0
    sweep_every_seconds: float = 15.0
    qa_every_seconds: float = 60.0
    retention_every_seconds: float = RETENTION_EVERY_SECONDS
    retention_first_after_seconds: float = RETENTION_FIRST_AFTER_SECONDS
    retry: RetryPolicy = field(default_factory=RetryPolicy)  # the send queue's retries and claim timeout
    drain_seconds: float = DEFAULT_DRAIN_SECONDS
    console_url: str = ""  # links in team-chat posts


def retention_job(runtime: Runtime) -> RetentionJob:
    from helpline.privacy.attachments import AttachmentFolder
    from helpline.privacy.recordings import RecordingStore

    business = runtime.pack.business
    return RetentionJob(runtime.db, business.retention,
                        recordings=RecordingStore(Path(business.call_recording.folder)),
                        attachments=AttachmentFolder(Path(business.email.attachments_folder)),
                        clock=runtime.conversations.clock)


def standalone_senders(runtime: Runtime) -> dict[OutboundChannel, MessageSender]:
    """The senders a worker builds itself (no web app): email through the SMTP relay when a relay and our
    address are known (``HELPLINE_SMTP_RELAY``, ``email.address``), SMS through the provider when its auth
    token is set. A channel without a sender keeps its messages queued for a node that has one."""
    from helpline.channels.email.sender import SmtpSender
    from helpline.channels.email.service import EmailSettings
    from helpline.channels.sms.settings import SmsSettings
    from helpline.channels.sms.setup import build_sms_channel

    business = runtime.pack.business
    senders: dict[OutboundChannel, MessageSender] = {}
    email = EmailSettings.resolve(business.email, business.name)
    if email.relay is not None and "@" in email.address:
        senders[OutboundChannel.EMAIL] = SmtpSender(email.relay, email.address, email.display_name)
    sms = SmsSettings.resolve(business.sms)
    if sms is not None:
        senders[OutboundChannel.SMS] = build_sms_channel(runtime, sms).outbox
    return senders


def background_jobs(runtime: Runtime, senders: Mapping[OutboundChannel, MessageSender],
                    settings: WorkerSettings) -> list[PeriodicJob]:
    """Every background job of a deployment, built from the runtime (the one place that wires them)."""
    from helpline.outbound.setup import build_outbound_runner
    from helpline.team.notices import TeamNotifier
    from helpline.team.questions import TeamQuestions
    from helpline.team.webhooks import team_chats

    business = runtime.pack.business
    runner = build_outbound_runner(runtime, senders, settings.retry)

    async def send_queue() -> None:
        report = await runner.run_once()
        if report.sent or report.failed or report.blocked:
            log.info("outbound: %d sent, %d retrying, %d failed, %d blocked", report.sent, report.retrying,
                     report.failed, report.blocked)

    notifier = TeamNotifier(runtime.db, business, team_chats(business.team.webhooks),
                            console_url=settings.console_url)
    questions = TeamQuestions(runtime.conversations)
    wait = timedelta(minutes=business.team.wait_minutes)

    async def team() -> None:
        await notifier.run_once()
        await in_daemon_thread(lambda: questions.give_up_waiting(wait))

    retention = retention_job(runtime)

    async def retain() -> None:
        report = await in_daemon_thread(retention.run)
        if report.changed():
            log.info("retention: %s; %d audit entries deleted; %d contacts kept for their callbacks",
                     report.erased.as_dict(), report.audit_entries_deleted, report.kept_for_callbacks)

    return [
        PeriodicJob(JobName.OUTBOUND, send_queue, settings.outbound_every_seconds),
        PeriodicJob(JobName.TEAM, team, settings.team_every_seconds),
        PeriodicJob(JobName.RETENTION, retain, settings.retention_every_seconds,
                    first_after_seconds=settings.retention_first_after_seconds),
        sweep_job(runtime, settings.sweep_every_seconds),
        qa_job(runtime, settings.qa_every_seconds),
    ]


def qa_job(runtime: Runtime, every_seconds: float) -> PeriodicJob:
    """Score ended contacts not yet scored (helpline/qa/), each claimed once across workers."""
    from helpline.qa.review import QaReviewer, pack_facts
    from helpline.qa.rubric import Rubric, RubricError, load_rubric

    try:
        rubric = load_rubric(runtime.pack.root)
    except RubricError as exc:  # a broken qa.yaml must not stop the other jobs: judge by the default rubric
        log.error("qa: %s; scoring with the default rubric", exc)
        rubric = Rubric()
    reviewer = QaReviewer(runtime.db, rubric, pack_facts(runtime.pack), clock=runtime.conversations.clock)

    async def review() -> None:
        report = await in_daemon_thread(reviewer.run_once)
        if report.scored:
            log.info("qa: %d contacts scored", report.scored)

    return PeriodicJob(JobName.QA, review, every_seconds, first_after_seconds=every_seconds)


def sweep_job(runtime: Runtime, every_seconds: float) -> PeriodicJob:
    """Reprompt customers who went quiet, close conversations they left (keeping the ticket)."""

    async def sweep() -> None:
        await in_daemon_thread(runtime.conversations.sweep_idle)

    return PeriodicJob(JobName.IDLE_SWEEP, sweep, every_seconds, first_after_seconds=every_seconds)


class EmbeddedWorker:
    """The jobs inside ``helpline serve``: on a thread with its own event loop, so a job's database work never
    holds up the HTTP server's loop."""

    def __init__(self, jobs: list[PeriodicJob], *, drain_seconds: float = DEFAULT_DRAIN_SECONDS,
                 observer: JobObserver | None = None) -> None:
        self.loop = JobLoop(jobs, drain_seconds=drain_seconds, observer=observer)
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="helpline-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._started.wait(timeout=10)

    def stop(self) -> None:
        """Take no new run, let the current ones finish (within the drain time), then return."""
        self.loop.stop()
        self._thread.join(timeout=self.loop.drain_seconds + 5)

    def _run(self) -> None:
        async def main() -> None:
            running = asyncio.create_task(self.loop.run())
            await asyncio.sleep(0)  # run() has set up its stop event: stop() works from now on
            self._started.set()
            await running

        asyncio.run(main())


async def run_worker(jobs: list[PeriodicJob], *, drain_seconds: float = DEFAULT_DRAIN_SECONDS,
                     observer: JobObserver | None = None) -> list[str]:
    """``helpline worker``: run the jobs until SIGTERM or SIGINT, then drain; returns the jobs abandoned at the
    end of the drain time (normally none)."""
    loop = JobLoop(jobs, drain_seconds=drain_seconds, observer=observer)
    running = asyncio.create_task(loop.run())
    await asyncio.sleep(0)
    event_loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        event_loop.add_signal_handler(signum, _stopper(loop, signum))
    await running
    return loop.abandoned


def _stopper(loop: JobLoop, signum: int) -> Callable[[], None]:
    def stop() -> None:
        log.info("%s: taking no new jobs; finishing the current ones (at most %g s)", signal.Signals(signum).name,
                 loop.drain_seconds)
        loop.stop()

    return stop


def idle_sweeper(runtime: Runtime, every_seconds: float) -> EmbeddedWorker:
    """Only the idle sweeper, for an app run without the CLI's worker (``create_app(sweep_every_seconds=…)``)."""
    return EmbeddedWorker([sweep_job(runtime, every_seconds)])
