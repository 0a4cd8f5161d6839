"""Voice-to-voice latency on the wire, concurrent calls and memory per call.

`helpline serve` runs as its own process on the demo pack with its SIP line on loopback. Callers are
SIP user agents (Helpline's own stack, in this process) that dial it, wait for the greeting, then speak
support questions synthesised by espeak-ng. Latency is measured at the caller's end of the wire: from
the moment the last voiced sample of the question leaves the caller, to the first voiced RTP audio of
the agent's answer (a filler like "one moment" counts: it is what the caller hears).

Run: .venv/bin/python -m bench.voice.latency [--calls 1,2,4] [--questions 6]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import machine, memory_mb, percentile, write_section
from bench.startup import free_port, wait_healthy
from helpline.channels.phone import PhoneCall, SipConfig, SipUserAgent
from helpline.voice.audio import resample, rms
from helpline.voice.frames import AudioIn

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [
    "What are your opening hours?",
    "How many grind sizes does your grinder have?",
    "Can I control the kettle from my phone?",
    "Do you have decaf coffee?",
    "How long does the travel mug keep coffee warm?",
    "Can I make cold foam with the frother?",
    "How long do I leave cold brew steeping?",
    "Can I get my beans pre-ground?",
]
VOICED = 300.0  # RMS of a 20 ms frame above this is speech, not line noise or comfort silence
QUIET_AFTER_REPLY = 1.2  # the agent has finished once it has been quiet this long


def speech(text: str, voice: str = "en-us") -> bytes:
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "--stdout", text], capture_output=True,
                         check=True, timeout=30).stdout
    pcm = resample(wav[44:], 22050, 8000)
    # trim espeak's trailing silence so "end of speech" is the last voiced sample
    frames = [pcm[i:i + 320] for i in range(0, len(pcm), 320)]
    while frames and rms(frames[-1]) < VOICED:
        frames.pop()
    return b"".join(frames)


@dataclass
class Listener:
    """Watches the agent's audio on one call."""

    voiced_at: list[float] = field(default_factory=list)

    async def run(self, call: PhoneCall) -> None:
        async for frame in call.receive():
            if isinstance(frame, AudioIn) and rms(frame.pcm) >= VOICED:
                self.voiced_at.append(time.monotonic())

    def first_voiced_after(self, moment: float) -> float | None:
        return next((t for t in self.voiced_at if t > moment), None)

    def quiet_for(self, seconds: float) -> bool:
        last = self.voiced_at[-1] if self.voiced_at else 0.0
        return time.monotonic() - last >= seconds


async def wait_quiet(listener: Listener, started: float, timeout: float = 30.0) -> None:
    while time.monotonic() - started < timeout:
        if listener.voiced_at and listener.voiced_at[-1] > started and listener.quiet_for(QUIET_AFTER_REPLY):
            return
        await asyncio.sleep(0.05)


async def one_call(ua: SipUserAgent, target: str, questions: list[bytes], answer_timeout: float = 15.0) -> list[float]:
    call = await ua.call(target, timeout=15)
    listener = Listener()
    reader = asyncio.create_task(listener.run(call))
    latencies: list[float] = []
    try:
        await wait_quiet(listener, time.monotonic() - 0.01)  # the greeting
        for pcm in questions:
            await call.play(pcm)
            spoken_until = time.monotonic() + call.queued_seconds()
            await asyncio.sleep(call.queued_seconds())
            deadline = spoken_until + answer_timeout
            answer_at = None
            while time.monotonic() < deadline and answer_at is None:
                answer_at = listener.first_voiced_after(spoken_until)
                await asyncio.sleep(0.01)
            if answer_at is None:
                latencies.append(float("inf"))
                continue
            latencies.append(answer_at - spoken_until)
            await wait_quiet(listener, answer_at)
    finally:
        await call.hang_up()
        reader.cancel()
    return latencies


async def measure(concurrency: list[int], questions: int) -> str:
    http_port, sip_port = free_port(), free_port(socket.SOCK_DGRAM)
    rtp_low = 30000 + (os.getpid() % 1000) * 20
    with tempfile.TemporaryDirectory() as tmp:
        command = [str(ROOT / ".venv" / "bin" / "helpline"), "serve", "--pack", str(ROOT / "examples" / "demo"),
                   "--db", f"sqlite:///{tmp}/helpline.db", "--port", str(http_port), "--sip-port", str(sip_port),
                   "--rtp-ports", f"{rtp_low}-{rtp_low + 199}", "--log-level", "warning"]
        log_path = os.environ.get("HELPLINE_BENCH_SERVER_LOG")
        if log_path:
            command[-1] = os.environ.get("HELPLINE_BENCH_LOG_LEVEL", "info")
        server_log = open(log_path or os.devnull, "wb")  # noqa: SIM115 - closed with the server
        server = subprocess.Popen(command, cwd=tmp, stdout=subprocess.DEVNULL, stderr=server_log)
        try:
            wait_healthy(server, http_port, timeout=240)
            await asyncio.sleep(1.0)  # the SIP line starts just before the HTTP server
            idle_rss = memory_mb(server.pid, "VmRSS")
            audio = [speech(q, voice) for q, voice in zip(QUESTIONS[:questions],
                                                          ["en-us", "en-gb", "en-us+m3", "en-us+f2"] * 4,
                                                          strict=False)]
            caller_port = free_port(socket.SOCK_DGRAM)
            config = SipConfig(host="127.0.0.1", port=caller_port, rtp_ports=(rtp_low + 200, rtp_low + 399),
                               user="caller")
            rows = []
            async with SipUserAgent(config) as ua:
                target = f"sip:helpline@127.0.0.1:{sip_port}"
                for calls in concurrency:
                    results = await asyncio.gather(*(one_call(ua, target, audio) for _ in range(calls)),
                                                   return_exceptions=True)
                    failures = sum(1 for r in results if isinstance(r, BaseException))
                    values = [v for r in results if isinstance(r, list) for v in r]
                    answered = [v for v in values if v != float("inf")]
                    peak = memory_mb(server.pid, "VmRSS")
                    row = (calls, len(values), len(values) - len(answered) + failures,
                           statistics.median(answered) if answered else float("nan"),
                           percentile(answered, 95) if answered else float("nan"), peak)
                    print(f"{calls} concurrent call(s): {row[1]} turns, {row[2]} unanswered/failed, "
                          f"p50 {row[3] * 1000:.0f} ms, p95 {row[4] * 1000:.0f} ms, server RSS {peak:.0f} MB")
                    rows.append(row)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    per_call = ((rows[-1][5] - rows[0][5]) / (rows[-1][0] - rows[0][0])) if len(rows) > 1 else float("nan")
    lines = ["## Voice-to-voice latency and concurrent calls (`python -m bench.voice.latency`)", "",
             "`helpline serve` (demo pack, Whisper base int8, piper joe voice) as its own process; SIP callers on "
             "loopback speak espeak-ng questions (four voices) and the time is taken on the caller's side of the "
             "wire, from the last voiced sample of the question sent to the first voiced RTP packet of the answer.",
             "",
             "| concurrent calls | turns | unanswered | p50 | p95 | server RSS |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {c} | {n} | {u} | {p50 * 1000:.0f} ms | {p95 * 1000:.0f} ms | {mem:.0f} MB |"
              for c, n, u, p50, p95, mem in rows]
    lines += ["", f"Server RSS idle with the speech models loaded: {idle_rss:.0f} MB; "
                  f"about {per_call:.0f} MB more per added call. Goals: p50 ≤ 700 ms, p95 ≤ 1,200 ms, < 2 GB.",
              "", machine()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", default="1,2,4", help="concurrency levels, comma-separated")
    parser.add_argument("--questions", type=int, default=6)
    args = parser.parse_args()
    section = asyncio.run(measure([int(c) for c in args.calls.split(",")], args.questions))
    write_section("voice-latency", section)


if __name__ == "__main__":
    main()
