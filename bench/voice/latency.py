"""Voice-to-voice latency on the wire, concurrent calls and memory per call.

`helpline serve` runs as its own process on the demo pack with its SIP line on loopback. Callers are
SIP user agents (Helpline's own stack, in this process) that dial it, wait for the greeting, then speak
support questions: natural voices (piper joe at three speeds and sox pitch, tempo and line-noise variants,
see bench/voice/callers.py) for the headline figures, espeak-ng with `--voices espeak` as a stress row.
Latency is measured at the caller's end of the wire: from the moment the last voiced sample of the question
leaves the caller, to the first voiced RTP audio of the agent's answer (a filler like "one moment" counts:
it is what the caller hears). Per-stage times and the share of right answers need the line in-process:
`python -m bench.voice.harness`.

Run: .venv/bin/python -m bench.voice.latency [--calls 1,2,4] [--questions 6] [--voices natural|espeak]
     [--set dev4 [--min-words 8]]   # a dev set's questions (long rambling ones: --min-words); never a held-out set
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import machine, memory_mb, percentile, write_section
from bench.startup import free_port, wait_healthy
from bench.voice.callers import VOICED, Clip, caller_voices
from bench.voice.questions import DEV
from helpline.channels.phone import PhoneCall, SipConfig, SipUserAgent
from helpline.voice.audio import rms
from helpline.voice.frames import AudioIn
from helpline.voice.setup import OPENINGS_READY_LOG

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [q.text for q in DEV]
QUIET_AFTER_REPLY = 1.2  # the agent has finished once it has been quiet this long


def summary(calls: int, latencies: list[float], failures: int = 0) -> str:
    """The line our checks read: `N concurrent call(s): T turns, U unanswered/failed, p50 X ms, p95 Y ms`."""
    answered = [v for v in latencies if v != float("inf")]
    p50 = statistics.median(answered) * 1000 if answered else float("nan")
    p95 = percentile(answered, 95) * 1000 if answered else float("nan")
    return (f"{calls} concurrent call(s): {len(latencies)} turns, {len(latencies) - len(answered) + failures} "
            f"unanswered/failed, p50 {p50:.0f} ms, p95 {p95:.0f} ms")


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


async def wait_quiet(listener: Listener, started: float, call: PhoneCall, timeout: float = 30.0) -> None:
    """Until the agent has spoken since `started` and been quiet a while (or the call has ended)."""
    while time.monotonic() - started < timeout and not call.ended:
        if listener.voiced_at and listener.voiced_at[-1] > started and listener.quiet_for(QUIET_AFTER_REPLY):
            return
        await asyncio.sleep(0.05)


async def sleep_while_up(call: PhoneCall, seconds: float) -> None:
    """Sleep `seconds`, or less when the call ends meanwhile."""
    with contextlib.suppress(TimeoutError):
        await call.wait_ended(timeout=max(seconds, 0.0))


@dataclass
class CallRecord:
    """One caller's questions: when each was asked, when its last word left, how long until the answer."""

    call_id: str = ""
    caller: str = ""
    asked_at: list[float] = field(default_factory=list)
    spoken_until: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # inf: unanswered
    # Questions the caller never got to ask in full because the call had ended (the agent hung up, e.g. after a
    # goodbye): not turns, so neither answered nor unanswered, but reported beside the summary.
    not_asked: int = 0
    end_reason: str = ""  # why the call ended before the questions ran out ("hangup": the agent's BYE)
    # question index -> when the caller began answering the agent's confirming question ("is this about …?")
    confirmed_at: dict[int, float] = field(default_factory=dict)


async def say(call: PhoneCall, clip: Clip) -> float:
    """Play `clip` into the call and wait while it is said; returns when its words ended (before the line noise
    that follows them)."""
    await call.play(clip.pcm)
    spoken_until = time.monotonic() + call.queued_seconds() - clip.tail_seconds
    await sleep_while_up(call, spoken_until - time.monotonic())
    return spoken_until


async def first_answer(listener: Listener, call: PhoneCall, after: float, timeout: float) -> float | None:
    """When the agent's voice was first heard after `after`; None when nothing came within `timeout` or the line
    hung up first."""
    deadline = after + timeout
    while time.monotonic() < deadline:
        answer_at = listener.first_voiced_after(after)
        if answer_at is not None or call.ended:
            return answer_at
        await asyncio.sleep(0.01)
    return None


async def one_call(ua: SipUserAgent, target: str, questions: list[Clip], answer_timeout: float = 15.0,
                   record: CallRecord | None = None,
                   reply: Callable[[int], Clip | None] | None = None) -> list[float]:
    """Ask `questions` one after another, each once the agent has finished answering the one before. When the
    agent hangs up, the caller stops: a question cut off or never started counts in `record.not_asked`; one
    fully asked and not answered before the hang-up is unanswered. `reply(n)`, once the answer to question n has
    been heard, gives what the caller says to it, if anything ("yes" to a confirming question): said and its
    answer awaited, when in `record.confirmed_at`, not counted among the latencies."""
    call = await ua.call(target, timeout=15)
    record = record if record is not None else CallRecord()
    record.call_id = call.call_id
    listener = Listener()
    reader = asyncio.create_task(listener.run(call))
    try:
        await wait_quiet(listener, time.monotonic() - 0.01, call)  # the greeting
        for n, clip in enumerate(questions):
            if call.ended:
                record.not_asked, record.end_reason = len(questions) - n, call.end_reason
                break
            asked_at = time.monotonic()
            spoken_until = await say(call, clip)
            if call.ended and time.monotonic() < spoken_until:  # hung up on while saying it: never asked in full
                record.not_asked, record.end_reason = len(questions) - n, call.end_reason
                break
            record.asked_at.append(asked_at)
            record.spoken_until.append(spoken_until)
            answer_at = await first_answer(listener, call, spoken_until, answer_timeout)
            if answer_at is None:
                record.latencies.append(float("inf"))
                continue
            record.latencies.append(answer_at - spoken_until)
            await wait_quiet(listener, answer_at, call)
            said = reply(n) if reply is not None and not call.ended else None
            if said is not None:
                record.confirmed_at[n] = time.monotonic()
                answer_at = await first_answer(listener, call, await say(call, said), answer_timeout)
                if answer_at is not None:
                    await wait_quiet(listener, answer_at, call)
    finally:
        await call.hang_up()
        reader.cancel()
    return record.latencies


def not_asked_line(records: list[CallRecord]) -> str:
    """The questions the callers never asked because the call had ended, apart from the summary's turns."""
    ended = [r for r in records if r.not_asked]
    where = "; ".join(f"call {r.call_id[:8]} after {len(r.asked_at)} question(s), {r.not_asked} left ({r.end_reason})"
                      for r in ended)
    return f"  not asked (the call had ended): {sum(r.not_asked for r in records)} question(s)" + \
        (f": {where}" if where else "")


def speak_questions(questions: list[str], kind: str) -> list[Clip]:
    """Each question in the next voice of the set, round robin."""
    with caller_voices(kind) as voices:
        return [voices[i % len(voices)].speak(q) for i, q in enumerate(questions)]


async def wait_for_openings(server_log: Path, timeout: float) -> None:
    """Until the server says its background warm-up of the pack's openings is over (a server up a while has them;
    a call meanwhile competes with the warm-up for the CPU)."""
    deadline = time.monotonic() + timeout
    while OPENINGS_READY_LOG not in server_log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            print(f"the openings warm-up did not finish within {timeout:.0f} s; measuring anyway", flush=True)
            return
        await asyncio.sleep(0.5)


def chosen_questions(set_name: str | None, min_words: int = 0) -> list[str]:
    """The questions to play: DEV's by default, else a dev set's (bench/voice/answers.py), those of at least
    `min_words` words. Held-out sets are refused: they are run once, by the integrator, for the report."""
    if set_name is None:
        texts = QUESTIONS
    else:
        from bench.voice.answers import HELD_OUT_SETS, SETS  # the answers benchmark's sets load the engine's imports

        if set_name in HELD_OUT_SETS or set_name not in SETS:
            raise SystemExit(f"--set {set_name}: only a dev set ({', '.join(dev_sets())})")
        texts = [q.text for q in SETS[set_name]]
    chosen = [t for t in texts if len(t.split()) >= min_words]
    if not chosen:
        raise SystemExit(f"no question of {min_words} words or more")
    return chosen


def dev_sets() -> list[str]:
    from bench.voice.answers import HELD_OUT_SETS, SETS

    return sorted(name for name in SETS if name not in HELD_OUT_SETS and name != "all")


async def measure(concurrency: list[int], questions: int, voices: str = "natural", warm: bool = True,
                  texts: list[str] | None = None) -> str:
    http_port, sip_port = free_port(), free_port(socket.SOCK_DGRAM)
    rtp_low = 30000 + (os.getpid() % 1000) * 20
    with tempfile.TemporaryDirectory() as tmp:
        command = [str(ROOT / ".venv" / "bin" / "helpline"), "serve", "--pack", str(ROOT / "examples" / "demo"),
                   "--db", f"sqlite:///{tmp}/helpline.db", "--port", str(http_port), "--sip-port", str(sip_port),
                   "--rtp-ports", f"{rtp_low}-{rtp_low + 199}", "--log-level", "warning"]
        # info: the line saying the openings warm-up is over is logged at info
        command[-1] = os.environ.get("HELPLINE_BENCH_LOG_LEVEL", "info")
        log_path = Path(os.environ.get("HELPLINE_BENCH_SERVER_LOG") or Path(tmp) / "server.log")
        server_log = log_path.open("wb")
        server = subprocess.Popen(command, cwd=tmp, stdout=subprocess.DEVNULL, stderr=server_log)
        try:
            wait_healthy(server, http_port, timeout=240)
            await asyncio.sleep(1.0)  # the SIP line starts just before the HTTP server
            if warm:
                await wait_for_openings(log_path, timeout=240)
            idle_rss = memory_mb(server.pid, "VmRSS")
            pool = texts or QUESTIONS
            audio = speak_questions((pool * (questions // len(pool) + 1))[:questions], voices)
            caller_port = free_port(socket.SOCK_DGRAM)
            config = SipConfig(host="127.0.0.1", port=caller_port, rtp_ports=(rtp_low + 200, rtp_low + 399),
                               user="caller")
            rows = []
            async with SipUserAgent(config) as ua:
                target = f"sip:helpline@127.0.0.1:{sip_port}"
                for calls in concurrency:
                    records = [CallRecord() for _ in range(calls)]
                    results = await asyncio.gather(*(one_call(ua, target, audio, record=record)
                                                     for record in records), return_exceptions=True)
                    failures = sum(1 for r in results if isinstance(r, BaseException))
                    values = [v for r in results if isinstance(r, list) for v in r]
                    not_asked = sum(r.not_asked for r in records)
                    answered = [v for v in values if v != float("inf")]
                    peak = memory_mb(server.pid, "VmRSS")
                    row = (calls, len(values), len(values) - len(answered) + failures,
                           statistics.median(answered) if answered else float("nan"),
                           percentile(answered, 95) if answered else float("nan"), peak, not_asked)
                    print(f"{summary(calls, values, failures)}, server RSS {peak:.0f} MB, {voices} voices", flush=True)
                    print(not_asked_line(records), flush=True)
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
             f"loopback speak the questions ({voices} voices, bench/voice/callers.py) and the time is taken on the "
             "caller's side of the wire, from the last voiced sample of the question sent to the first voiced RTP "
             "packet of the answer" + (", once the server's background warm-up of the pack's reply openings is over."
                                        if warm else "; calls start as soon as the server answers (`--cold`)."),
             "",
             "| concurrent calls | turns | unanswered | p50 | p95 | server RSS |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {c} | {n} | {u} | {p50 * 1000:.0f} ms | {p95 * 1000:.0f} ms | {mem:.0f} MB |"
              for c, n, u, p50, p95, mem, _ in rows]
    lines += [f"\n{c} concurrent call(s): {k} question(s) not asked, the line had hung up first (not counted as "
              "turns)." for c, *_, k in rows if k]
    lines += ["", f"Server RSS idle with the speech models loaded: {idle_rss:.0f} MB; "
                  f"about {per_call:.0f} MB more per added call. Goals: 0 unanswered; 1 call p50 ≤ 600 ms and "
                  "p95 ≤ 900 ms; 4 calls p50 ≤ 800 ms; < 2 GB.",
              "", machine()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", default="1,2,4", help="concurrency levels, comma-separated")
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--voices", choices=["natural", "espeak"], default="natural")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--cold", action="store_true",
                        help="call at once, while the server still synthesises the pack's openings in the background")
    parser.add_argument("--set", dest="question_set", default=None,
                        help="play a dev set's questions (dev, dev2 ... dev5) instead of the first benchmark's")
    parser.add_argument("--min-words", type=int, default=0,
                        help="only the questions of at least this many words (long, rambling turns)")
    args = parser.parse_args()
    texts = chosen_questions(args.question_set, args.min_words)
    section = asyncio.run(measure([int(c) for c in args.calls.split(",")], args.questions, args.voices,
                                  warm=not args.cold, texts=texts))
    if args.no_write:
        print(section)
        return
    write_section("voice-latency", section)


if __name__ == "__main__":
    main()
