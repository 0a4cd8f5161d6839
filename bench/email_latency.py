"""Email latency on one node: the time from an email handed to Helpline's SMTP listener to its answer arriving at
an SMTP sink (the relay), p50/p95, and emails answered per minute with several senders at once.

    .venv/bin/python -m bench.email_latency [--emails 40] [--concurrency 8]

Everything runs in this process on loopback: the demo pack on a fresh SQLite database, the real listener
(aiosmtpd), the real sender (aiosmtplib) and an aiosmtpd sink. Each email asks one knowledge question and one
about payment methods (two requests: two engine turns), from its own sender (the per-sender limit is 10/hour).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from helpline.channels.email.service import EmailService, EmailSettings
from helpline.connectors.smtp_relay import SmtpRelay, SmtpTls
from helpline.pack.models import EmailChannelConfig
from helpline.runtime import build_runtime
from tests.smtp_inbox import SmtpTestServer

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo"
SUPPORT = "support@brightbean.example"
QUESTIONS = ("How do I descale my espresso machine?", "What payment methods do you accept?",
             "How long does shipping take?", "How do I pair the kettle with wifi?")


def _email(index: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Customer {index} <customer{index}@example.com>"
    message["To"] = SUPPORT
    message["Subject"] = "A couple of questions"
    message["Message-ID"] = f"<bench{index}@example.com>"
    first, second = QUESTIONS[index % 4], QUESTIONS[(index + 1) % 4]
    message.set_content(f"Hi,\n\n{first} Also, {second[0].lower()}{second[1:]}\n\nThanks,\nCustomer {index}\n")
    return message


async def _answered(sink: SmtpTestServer, message_id: str, timeout: float = 60.0) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with sink.inbox.lock:
            if any(m.message.get("In-Reply-To") == message_id for m in sink.inbox.messages):
                return time.perf_counter()
        await asyncio.sleep(0.005)
    raise TimeoutError(f"no answer to {message_id}")


async def _one(sink: SmtpTestServer, port: int, index: int) -> float:
    message = _email(index)
    started = time.perf_counter()
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port)
    return await _answered(sink, str(message["Message-ID"])) - started


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main(emails: int, concurrency: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="helpline-email-bench-"))
    runtime = build_runtime(DEMO, db_url=f"sqlite:///{folder / 'helpline.db'}",
                            records_url=f"sqlite:///{folder / 'records.db'}")
    with SmtpTestServer() as sink:
        settings = EmailSettings(address=SUPPORT, display_name="Brightbean", listen_port=0,
                                 relay=SmtpRelay("127.0.0.1", sink.port, SmtpTls.NONE, sender=SUPPORT),
                                 config=EmailChannelConfig(attachments_folder=str(folder / "attachments")))
        service = EmailService(runtime, settings)
        await service.start()
        assert service.listener is not None
        port = service.listener.port
        try:
            await _one(sink, port, 10_000)  # warm-up: first model calls
            latencies = [await _one(sink, port, index) for index in range(emails)]
            gate = asyncio.Semaphore(concurrency)

            async def limited(index: int) -> float:
                async with gate:
                    return await _one(sink, port, index)

            started = time.perf_counter()
            loaded = await asyncio.gather(*(limited(emails + index) for index in range(emails)))
            elapsed = time.perf_counter() - started
        finally:
            await service.stop()
    load = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"one at a time ({emails} emails, 2 requests each): p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {_percentile(latencies, 0.95) * 1000:.0f} ms")
    print(f"{concurrency} senders at once ({emails} emails): p50 {statistics.median(loaded) * 1000:.0f} ms, "
          f"p95 {_percentile(loaded, 0.95) * 1000:.0f} ms, {emails / elapsed * 60:.0f} emails/minute")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=8)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.emails, arguments.concurrency))
