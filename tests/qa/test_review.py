"""Scoring real contacts (the demo pack through ConversationService, SQLite): stored on the ticket, claimed once
across workers, disputes, the worker's job and `helpline qa run`."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from helpline.cli.main import app
from helpline.ops.worker import JobName, WorkerSettings, background_jobs
from helpline.qa.review import CLAIM_TIMEOUT, QA_ACTOR, DisputeError, QaReviewer, dispute
from helpline.runtime import Runtime
from helpline.store.models import AuditEntry, Conversation, Ticket
from tests.conftest import DEMO, RuntimeFactory

NOW = datetime.fromisoformat("2026-11-20T10:00:00-06:00")
ANGRY = ("this is ridiculous, my order BB-10166 still hasn't arrived and nobody helps me", "Samuel Rogers 78681",
         "I want a manager now")


def converse(runtime: Runtime, *turns: str, end: bool = True) -> str:
    conversation_id = runtime.conversations.start("chat").id
    for text in turns:
        if runtime.conversations.post(conversation_id, text).ended:
            return conversation_id
    if end:
        runtime.conversations.end(conversation_id)
    return conversation_id


def ticket_of(runtime: Runtime, conversation_id: str) -> Ticket:
    with runtime.db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)).one()
        session.expunge(ticket)
        return ticket


def test_an_ended_contact_is_scored_once_and_an_active_one_waits(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    ended = converse(runtime, *ANGRY)
    active = converse(runtime, "what is your return policy?", end=False)
    reviewer = QaReviewer.for_pack(runtime.db, runtime.pack, clock=lambda: NOW)
    assert reviewer.run_once().scored == 1
    assert reviewer.run_once().scored == 0
    scored = ticket_of(runtime, ended)
    assert scored.qa_reviewed_at is not None and scored.qa_score is not None and 0 <= scored.qa_score <= 100
    by_criterion = {f["criterion"]: f for f in scored.qa_findings or []}
    assert by_criterion["escalation"]["result"] == "pass"
    assert isinstance(by_criterion["escalation"]["seq"], int)  # cites the line
    assert ticket_of(runtime, active).qa_reviewed_at is None
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == QA_ACTOR)) == 1


def test_a_claim_holds_off_other_workers_until_it_is_stale(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    converse(runtime, "what is your return policy?", "no that's all")
    first = QaReviewer.for_pack(runtime.db, runtime.pack, clock=lambda: NOW, node="node-a")
    assert len(first._claim(None, 10)) == 1  # node-a claims, then dies before scoring
    second = QaReviewer.for_pack(runtime.db, runtime.pack, clock=lambda: NOW, node="node-b")
    assert second.run_once().scored == 0
    later = QaReviewer.for_pack(runtime.db, runtime.pack, clock=lambda: NOW + CLAIM_TIMEOUT + timedelta(seconds=1),
                                node="node-b")
    assert later.run_once().scored == 1


def test_workers_racing_score_each_contact_once(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    for _ in range(6):
        converse(runtime, "what is your return policy?", "no that's all")
    reviewers = [QaReviewer.for_pack(runtime.db, runtime.pack, clock=lambda: NOW, node=f"node-{n}")
                 for n in range(3)]
    counts: list[int] = []
    start = threading.Barrier(len(reviewers))

    def work(reviewer: QaReviewer) -> None:
        start.wait()
        counts.append(reviewer.run_once().scored)

    threads = [threading.Thread(target=work, args=(r,)) for r in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(counts) == 6
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == QA_ACTOR)) == 6


def test_a_disputed_finding_stops_counting(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    # the agent offers a callback, the customer leaves before giving a number: no outcome, no next step
    conversation_id = converse(runtime, "is your website down? I can't check out", "ok thanks bye")
    QaReviewer.for_pack(runtime.db, runtime.pack, clock=lambda: NOW).run_once()
    with runtime.db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)).one()
        before = ticket.qa_score
        failed = [f for f in ticket.qa_findings or [] if f["result"] == "fail"]
        passed = [f for f in ticket.qa_findings or [] if f["result"] == "pass"]
        assert passed and failed and before is not None
        with pytest.raises(DisputeError, match="why"):
            dispute(session, ticket, passed[0]["id"], "console:sup@example.com", "  ", NOW)
        with pytest.raises(DisputeError, match="No finding"):
            dispute(session, ticket, "nope-1", "console:sup@example.com", "wrong", NOW)
        target = failed[0]
        after = dispute(session, ticket, target["id"], "console:sup@example.com", "the customer left", NOW)
    stored = ticket_of(runtime, conversation_id)
    disputed = next(f for f in stored.qa_findings or [] if f["id"] == target["id"])
    assert disputed["dispute"] == {"by": "console:sup@example.com", "why": "the customer left", "at": NOW.isoformat()}
    assert stored.qa_score == after
    assert after is not None and after > before


def test_the_worker_has_a_qa_job_that_scores(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    conversation_id = converse(runtime, *ANGRY)
    jobs = {job.name: job for job in background_jobs(runtime, {}, WorkerSettings())}
    async def once() -> None:
        await jobs[JobName.QA].run()

    asyncio.run(once())
    assert ticket_of(runtime, conversation_id).qa_score is not None


def test_cli_qa_run(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    converse(runtime, *ANGRY)
    result = CliRunner().invoke(app, ["qa", "run", "--pack", str(DEMO), "--db", runtime.db.url])
    assert result.exit_code == 0, result.output
    assert "1 contacts scored" in result.output
    again = CliRunner().invoke(app, ["qa", "run", "--pack", str(DEMO), "--db", runtime.db.url, "--since", "2026-11-01"])
    assert "0 contacts scored" in again.output
    bad = CliRunner().invoke(app, ["qa", "run", "--pack", str(DEMO), "--db", runtime.db.url, "--since", "yesterday"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_a_hand_off_nobody_takes_is_timed_on_the_conversations_clock(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)  # a Friday morning: the team is in, so the customer is handed over, not asked
    conversation_id = converse(runtime, "let me talk to a real person")  # for a number
    with runtime.db.session() as session:  # the customer gave up five minutes later, nobody having taken it
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.ended_at is not None
        conversation.ended_at += timedelta(minutes=5)
    QaReviewer.for_pack(runtime.db, runtime.pack, clock=lambda: NOW).run_once()
    escalation = [f for f in ticket_of(runtime, conversation_id).qa_findings or [] if f["criterion"] == "escalation"]
    assert [(f["result"], f["flag"]) for f in escalation] == [("fail", "left_waiting")]
    assert "300 s" in escalation[0]["note"] and isinstance(escalation[0]["seq"], int)
