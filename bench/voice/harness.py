"""Callers on the wire against a phone line in this process, with the business clock under our control.

`bench.voice.latency` measures `helpline serve` as its own process, on the real clock. This harness runs
the same `PhoneService` in-process, so a run can be pinned to opening hours (when an escalation rings a
person) or outside them (when it books a callback), and so a test can play many questions without a
server start. Callers are SIP user agents (Helpline's own stack) speaking espeak-ng questions; a turn is
*unanswered* when no voiced agent audio arrives within `answer_timeout` seconds of the question's end.

    .venv/bin/python -m bench.voice.harness --calls 1 --questions 8 --hours open
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.startup import free_port
from helpline.channels.phone import SipConfig, SipUserAgent
from helpline.channels.phone.service import PhoneService, PhoneSettings, Speaker
from helpline.runtime import PackModels, build_runtime
from helpline.voice.setup import SpeechModels, build_voice_services, load_speech_models

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
OPEN = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Chicago: the team is in
CLOSED = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # the same Tuesday, 22:00 the night before in Chicago
VOICES = ["en-us", "en-gb", "en-us+m3", "en-us+f2"]


@dataclass
class CallResult:
    latencies: list[float] = field(default_factory=list)  # inf: unanswered
    error: str = ""

    @property
    def unanswered(self) -> int:
        return sum(1 for v in self.latencies if v == float("inf"))


def _port_block(size: int) -> int:
    for _ in range(50):
        low = 20000 + free_port() % 20000
        if low + size < 65000:
            return low
    raise RuntimeError("no free port block")


@asynccontextmanager
async def phone_line(models: SpeechModels, when: datetime, pack_models: PackModels | None = None,
                     folder: Path | None = None) -> AsyncIterator[PhoneService]:
    """The demo pack's phone line on loopback; its business clock starts at `when` and runs in real time."""
    with tempfile.TemporaryDirectory() as tmp:
        base = folder or Path(tmp)
        started = time.monotonic()
        runtime = build_runtime(DEMO, db_url=f"sqlite:///{base / 'helpline.db'}",
                                records_url=f"sqlite:///{base / 'records.db'}", models=pack_models,
                                clock=lambda: when + timedelta(seconds=time.monotonic() - started))
        low = _port_block(200)
        config = SipConfig(host="127.0.0.1", port=free_port(socket.SOCK_DGRAM), rtp_ports=(low, low + 199))
        phone = PhoneService(build_voice_services(runtime, models), config, Speaker(models.synthesizer),
                             PhoneSettings(dial_callbacks=False, transfer_ring_seconds=5.0))
        await phone.start()
        try:
            yield phone
        finally:
            await phone.stop()
            runtime.db.engine.dispose()


async def play_calls(phone: PhoneService, questions: Sequence[str], calls: int, answer_timeout: float = 15.0,
                     sequential: bool = False) -> list[CallResult]:
    """`calls` callers (at once, or one after another) each ask `questions` in turn."""
    from bench.voice.latency import one_call, speech

    audio = [speech(q, VOICES[i % len(VOICES)]) for i, q in enumerate(questions)]
    low = _port_block(400)
    config = SipConfig(host="127.0.0.1", port=free_port(socket.SOCK_DGRAM), rtp_ports=(low, low + 399),
                       user="caller")
    host, port = phone.ua.address
    target = f"sip:helpline@{host}:{port}"
    results: list[CallResult] = []
    async with SipUserAgent(config) as ua:
        async def one() -> CallResult:
            try:
                return CallResult(await one_call(ua, target, audio, answer_timeout))
            except Exception as error:  # a call that failed to connect counts every question unanswered
                return CallResult([float("inf")] * len(audio), repr(error))

        if sequential:
            for _ in range(calls):
                results.append(await one())
        else:
            results = list(await asyncio.gather(*(one() for _ in range(calls))))
    return results


async def _main(calls: int, questions: int, hours: str, rounds: int) -> None:
    from bench.voice.latency import QUESTIONS

    models = load_speech_models("base", "piper")
    chosen = (QUESTIONS * 10)[:questions]
    async with phone_line(models, OPEN if hours == "open" else CLOSED) as phone:
        for _ in range(rounds):
            results = await play_calls(phone, chosen, calls)
            values = [v for r in results for v in r.latencies]
            answered = [v for v in values if v != float("inf")]
            print(f"{calls} concurrent call(s): {len(values)} turns, {len(values) - len(answered)} unanswered/failed, "
                  f"p50 {statistics.median(answered) * 1000 if answered else float('nan'):.0f} ms "
                  f"({hours} hours) {[round(v, 2) for v in values]} {[r.error for r in results if r.error]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--hours", choices=["open", "closed"], default="open")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(_main(args.calls, args.questions, args.hours, args.rounds))


if __name__ == "__main__":
    main()
