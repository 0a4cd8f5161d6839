"""Real `helpline worker` / `helpline serve` processes, a real SMTP sink, and a TCP relay that can cut a
process off from PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from helpline.outbound.ports import MessagePurpose, OutboundChannel, OutboundMessage
from helpline.outbound.queue import OutboundQueue
from helpline.store.db import Database
from helpline.store.models import OutboundMessageRecord
from tests.smtp_inbox import Inbox, free_port

ROOT = Path(__file__).resolve().parents[2]
HELPLINE = ROOT / ".venv" / "bin" / "helpline"
DEMO = ROOT / "examples" / "demo"
OUR_ADDRESS = "support@brightbean.test"
START_TIMEOUT = 240.0  # models load on start; two cores are shared with other test runs


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)


@dataclass
class Cli:
    """A running `helpline` command; its stderr (the log) goes to a file."""

    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_log(self, needle: str, timeout: float = START_TIMEOUT) -> None:
        def seen() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"process exited ({self.process.returncode}): {self.text()[-3000:]}")
            return needle in self.text()

        wait_until(seen, timeout, f"{needle!r} in the log")

    def terminate(self, timeout: float = 60.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@contextlib.contextmanager
def helpline(args: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[Cli]:
    environment = {**os.environ, **(env or {})}
    with log.open("wb") as stderr:
        process = subprocess.Popen([str(HELPLINE), *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
                                   env=environment)
    cli = Cli(process, log)
    try:
        yield cli
    finally:
        cli.kill()


def mail_env(smtp_port: int) -> dict[str, str]:
    return {"HELPLINE_SMTP_RELAY": f"127.0.0.1:{smtp_port}", "HELPLINE_SMTP_TLS": "none",
            "HELPLINE_EMAIL_ADDRESS": OUR_ADDRESS}


def queue_email(db: Database, to: str, subject: str, key: str) -> str:
    """A message in the send queue, as the planner or a person would leave it."""
    message = OutboundMessage(channel=OutboundChannel.EMAIL, to=to, text="Your ticket is resolved.",
                              purpose=MessagePurpose.RECAP, subject=subject)
    with db.session() as session:
        record = OutboundQueue(session).enqueue(message, dedupe_key=key, actor="test", now=datetime.now(UTC))
        assert record is not None
        return record.id


def outbound_row(db: Database, row_id: str) -> OutboundMessageRecord:
    with db.read_session() as session:
        record = session.get(OutboundMessageRecord, row_id)
        assert record is not None
        session.expunge(record)
        return record


@dataclass
class StallingInbox(Inbox):
    """An SMTP sink that holds the first delivery at RCPT (before any content is accepted) until released: a
    worker sending to it is stuck mid-job, and nothing has been delivered yet."""

    stall_first: bool = False
    stalled: threading.Event = field(default_factory=threading.Event)
    arrivals: list[float] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:  # the aiosmtpd hook
        if self.stall_first and not self.stalled.is_set():
            self.stalled.set()
            await asyncio.sleep(3600)  # until the client goes away
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrivals.append(time.time())
        return await super().handle_DATA(server, session, envelope)


@contextlib.contextmanager
def smtp_sink(stall_first: bool = False) -> Iterator[tuple[StallingInbox, int]]:
    inbox = StallingInbox(stall_first=stall_first)
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class TcpRelay:
    """Forwards a loopback port to PostgreSQL; ``cut()`` closes the port and every connection through it, so
    whoever connects through it finds the database unreachable."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> TcpRelay:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", self.port)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def cut(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._writers):
                writer.close()
            self._writers.clear()

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
