"""`helpline worker` as a process: it sends what the queue holds through a real SMTP server, stops cleanly on
SIGTERM, and a job it was in the middle of when killed (-9) is taken over by another worker after the claim
timeout and sent once. On a SQLite file and on PostgreSQL."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from helpline.store.db import Database
from tests.ops.conftest import (
    START_TIMEOUT,
    helpline,
    mail_env,
    outbound_row,
    queue_email,
    smtp_sink,
    wait_until,
)
from tests.store.conftest import POSTGRES_URL, postgres_admin, with_search_path

CLAIM_TIMEOUT_SECONDS = 4


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of the worker's own: a SQLite file, or a fresh PostgreSQL schema (dropped after,
    with the business tables' schema beside it)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'helpline.db'}"
    else:
        admin = postgres_admin()
        schema = f"helpline_ops_{secrets.token_hex(5)}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = with_search_path(POSTGRES_URL, schema)
    database = Database(url)
    database.migrate()
    database.dispose()
    try:
        yield url
    finally:
        if request.param == "postgres":
            with admin.begin() as conn:
                for name in (schema, f"{schema}_business"):
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            admin.dispose()


def worker_args(url: str, *extra: str) -> list[str]:
    return ["worker", "--db", url, "--poll-seconds", "0.5", *extra]


def test_worker_sends_the_queued_email_and_exits_0_on_sigterm(database_url: str, tmp_path: Path) -> None:
    db = Database(database_url)
    row_id = queue_email(db, "ann@example.com", "Your ticket #12 is resolved", key=f"recap:{secrets.token_hex(4)}")
    with smtp_sink() as (inbox, port), \
            helpline(worker_args(database_url), tmp_path / "worker.log", mail_env(port)) as worker:
        wait_until(lambda: len(inbox.messages) == 1, START_TIMEOUT, "the email at the SMTP server")
        wait_until(lambda: outbound_row(db, row_id).status == "sent", 30, "the row marked sent")
        assert worker.terminate() == 0
        log = worker.text()
    mail = inbox.messages[0]
    assert mail.to == ["ann@example.com"]
    assert mail.message["Subject"] == "Your ticket #12 is resolved"
    assert "Your ticket is resolved." in mail.body
    assert "SIGTERM: taking no new jobs" in log and "worker stopped" in log
    assert "Traceback" not in log
    db.dispose()


def test_a_job_killed_mid_send_is_taken_over_after_the_claim_timeout_and_sent_once(database_url: str,
                                                                                    tmp_path: Path) -> None:
    db = Database(database_url)
    row_id = queue_email(db, "bo@example.com", "How did we do?", key=f"survey:{secrets.token_hex(4)}")
    claim = ["--claim-timeout", str(CLAIM_TIMEOUT_SECONDS)]
    with smtp_sink(stall_first=True) as (inbox, port):
        with helpline(worker_args(database_url, *claim), tmp_path / "a.log", mail_env(port)) as first:
            wait_until(inbox.stalled.is_set, START_TIMEOUT, "the first worker to be mid-send")
            claimed = outbound_row(db, row_id)
            assert claimed.status == "sending"
            assert claimed.claimed_by is not None and claimed.claimed_by.endswith(f":{first.process.pid}")
            first.kill()  # SIGKILL: no chance to release the claim
        assert inbox.messages == []  # nothing was delivered by the killed worker
        assert outbound_row(db, row_id).status == "sending"  # still claimed by the dead worker

        with helpline(worker_args(database_url, *claim), tmp_path / "b.log", mail_env(port)) as second:
            wait_until(lambda: len(inbox.messages) == 1, START_TIMEOUT, "the email sent by the second worker")
            wait_until(lambda: outbound_row(db, row_id).status == "sent", 30, "the row marked sent")
            time.sleep(2)  # a few more polls: nothing is sent again
            assert second.terminate() == 0
    assert len(inbox.messages) == 1
    assert inbox.messages[0].to == ["bo@example.com"]
    assert claimed.claimed_at is not None
    # taken over only once the first worker's claim was older than the claim timeout
    assert inbox.arrivals[0] >= claimed.claimed_at.timestamp() + CLAIM_TIMEOUT_SECONDS
    db.dispose()
