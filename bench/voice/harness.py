"""Callers on the wire against a phone line in this process, with the business clock under our control.

`bench.voice.latency` measures `helpline serve` as its own process, on the real clock. This harness runs
the same `PhoneService` in-process, so a run can be pinned to opening hours (when an escalation rings a
person) or outside them (when it books a callback), so a test can play many questions without a server
start, and so it can see inside the line:

- **per-stage times** of every answered turn (helpline/voice/control.py `TurnTimes`, collected from the
  `helpline.voice.timing` logger): the end-of-turn decision after the caller's last word, recognition, the
  engine, the first synthesised chunk, the hand-off to the wire, and the wire itself (to the caller's ear);
- **right answers**: each question has the knowledge article(s) or procedure(s) that answer it
  (bench/voice/questions.py); a question is answered right when a turn posted while it was being asked was
  answered from one of those articles or started one of those procedures, as the engine recorded it on the
  conversation's requests (not the reply's wording).

Callers are SIP user agents (Helpline's own stack), each with its own caller number so its conversation is
known; a turn is *unanswered* when no voiced agent audio arrives within `answer_timeout` seconds of the
question's end.

    .venv/bin/python -m bench.voice.harness --calls 1 --questions 8 --hours open [--set held-out] [--voices espeak]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.report import machine, percentile
from bench.startup import free_port
from bench.voice.answers import HELD_OUT_SETS, SETS, offered_id  # every round: dev … dev8 and held-out halves
from bench.voice.callers import Clip
from bench.voice.latency import CallRecord, one_call, speak_questions, summary
from bench.voice.questions import Question
from helpline.application.conversations import ConversationService, TurnView
from helpline.channels.phone import SipConfig, SipUserAgent
from helpline.channels.phone.service import PhoneService, PhoneSettings, Speaker
from helpline.runtime import PackModels, build_runtime
from helpline.voice.control import TurnTimes
from helpline.voice.end_of_turn import SharedRecognitions, SmartTurnModel, TranscriptTurnCheck
from helpline.voice.recognition import RecognitionProcessor
from helpline.voice.setup import SpeechModels, build_voice_services, load_speech_models, vocabulary
from helpline.voice.vad import VadSettings

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
OPEN = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Chicago: the team is in
CLOSED = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # the same Tuesday, 22:00 the night before in Chicago
log = logging.getLogger(__name__)
STAGES = ["end_of_turn", "recognition", "engine", "first_chunk", "to_wire", "wire"]


# --- what the engine did with each turn -----------------------------------------------------------


@dataclass
class EngineTurn:
    at: float  # time.monotonic() when the turn was posted
    answered_from: frozenset[str]  # article ids answered from, procedures started, in this turn
    text: str = ""  # what the recogniser heard (for the misses' report)
    offered: str | None = None  # the article or procedure a confirming question asked about, if the turn asked


class AnswerLog:
    """Wraps one ConversationService: which caller number each conversation is, and per posted turn which
    articles it was answered from and which procedures it started (read from the engine's state)."""

    def __init__(self, service: ConversationService) -> None:
        self.by_caller: dict[str, str] = {}  # caller number -> conversation id
        self.turns: dict[str, list[EngineTurn]] = defaultdict(list)
        self.ended_at: dict[str, float] = {}  # conversation id -> when a posted turn ended it (the line hangs up)
        self._local = threading.local()
        start, post, handle = service.start, service.post, service.engine.handle

        def logged_start(channel: str = "chat", actor: str = "system", contact: Any = None, *rest: Any,
                         **options: Any) -> TurnView:
            view = start(channel, actor, contact, *rest, **options)
            if contact and contact.get("phone"):
                self.by_caller[contact["phone"]] = view.id
            return view

        def logged_post(conversation_id: str, text: str, actor: str = "system", **options: Any) -> TurnView:
            self._local.turn = EngineTurn(time.monotonic(), frozenset(), text)
            try:
                view = post(conversation_id, text, actor, **options)
                if view.ended:
                    self.ended_at.setdefault(conversation_id, time.monotonic())
                return view
            finally:
                self.turns[conversation_id].append(self._local.turn)

        def logged_handle(state: Any, text: str, context: Any, interpretation: Any = None) -> Any:
            before = len(state.requests)
            result = handle(state, text, context, interpretation=interpretation)
            found = {tag for request in state.requests[before:] for tag in [request.procedure_id, *request.tags]}
            if state.active is not None:
                found.add(state.active.procedure_id)
            turn = getattr(self._local, "turn", None)
            if turn is not None:
                turn.answered_from = turn.answered_from | frozenset(found)
                turn.offered = offered_id(state)
            return result

        service.start = logged_start  # type: ignore[method-assign]
        service.post = logged_post  # type: ignore[method-assign]
        service.engine.handle = logged_handle  # type: ignore[method-assign]

    def right(self, caller: str, record: CallRecord, questions: Sequence[Question],
              after_confirming: bool = False) -> list[bool]:
        """Per question: was a turn posted while it was asked (until the next one) answered right? At once: before
        the caller answered a confirming question, if the agent asked one."""
        def counted(n: int, turns: list[EngineTurn]) -> list[EngineTurn]:
            confirmed = record.confirmed_at.get(n)
            return turns if after_confirming or confirmed is None else [t for t in turns if t.at < confirmed]

        return [bool(kept) and q.answered_right(frozenset().union(*(t.answered_from for t in kept)))
                for n, (q, turns) in enumerate(self.per_question(caller, record, questions))
                for kept in [counted(n, turns)]]

    def confirming_reply(self, caller: str, question: Question, yes: Clip, no: Clip,
                         heard_ask: tuple[float, list[str]] | None = None,
                         again: Clip | None = None) -> Clip | None:
        """What a caller who knows what they asked says to the agent's last question: to "is this about ...?" yes
        when it names an expected article or procedure, no otherwise; to the corrector's "did you say ...?"
        (`heard_ask`: when, and the words it put in, if it came after the engine's last turn) yes when they are
        words of the question, else the question said `again` (as callers do: "no, I said ..."), or a no when
        there is no clip of it; nothing when the agent asked nothing."""
        turns = self.turns.get(self.by_caller.get(caller, ""), [])
        if heard_ask is not None and (not turns or heard_ask[0] > turns[-1].at):
            said = {w.strip(".,?!").lower() for w in question.text.split()}
            if heard_ask[1] and all(w.lower() in said for m in heard_ask[1] for w in m.split()):
                return yes
            return again or no
        offered = turns[-1].offered if turns else None
        if offered is None:
            return None
        return yes if offered in question.expected else no

    def ended_during(self, caller: str, record: CallRecord) -> int | None:
        """The question (0-based) during which the engine ended this caller's conversation, when questions were
        still to come (asked into the closed line, or not asked because the caller saw the line hang up)."""
        ended = self.ended_at.get(self.by_caller.get(caller, ""))
        if ended is None:
            return None
        during = sum(1 for asked in record.asked_at if asked <= ended) - 1
        return during if 0 <= during < len(record.asked_at) + record.not_asked - 1 else None

    def per_question(self, caller: str, record: CallRecord,
                     questions: Sequence[Question]) -> list[tuple[Question, list[EngineTurn]]]:
        """Each question asked, with the turns posted while it was asked (until the next one)."""
        turns = self.turns.get(self.by_caller.get(caller, ""), [])
        marks = [*record.asked_at, float("inf")]
        return [(q, [t for t in turns if marks[i] <= t.at < marks[i + 1]])
                for i, q in enumerate(questions[:len(record.asked_at)])]


class LoggerWatch(logging.Handler):
    """A handler that reads one of the line's loggers while attached (`logger_name`, at DEBUG meanwhile)."""

    logger_name = ""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)

    @asynccontextmanager
    async def attached(self) -> AsyncIterator[LoggerWatch]:
        logger = logging.getLogger(self.logger_name)
        level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self)
        try:
            yield self
        finally:
            logger.removeHandler(self)
            logger.setLevel(level)


class CorrectionAsks(LoggerWatch):
    """The near-miss corrector's "did you say ...?" per conversation (the `helpline.voice.trace` logger): when it
    was asked and the words it put in, so the harness's caller can answer it."""

    logger_name = "helpline.voice.trace"

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, tuple[float, list[str]]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meant = getattr(record, "meant", None)
        if isinstance(meant, list):
            self.last[str(getattr(record, "conversation", ""))] = (time.monotonic(), [str(m) for m in meant])


class StageLog(LoggerWatch):
    """Collects each answered turn's stage times from the `helpline.voice.timing` logger, by call id."""

    logger_name = "helpline.voice.timing"

    def __init__(self) -> None:
        super().__init__()
        self.by_call: dict[str, list[TurnTimes]] = defaultdict(list)

    def emit(self, record: logging.LogRecord) -> None:
        times = getattr(record, "turn_times", None)
        if isinstance(times, TurnTimes):
            self.by_call[str(getattr(record, "call_id", ""))].append(times)

    def stages(self, record: CallRecord) -> list[dict[str, float]]:
        """Each answered question's stage times, with `wire`: the hand-off to the caller hearing it."""
        found = []
        for asked, until, latency in zip(record.asked_at, record.spoken_until, record.latencies, strict=False):
            if latency == float("inf"):
                continue
            heard = until + latency
            # the last turn answered before the caller heard the answer, of speech after the question began
            turns = [t for t in self.by_call.get(record.call_id, [])
                     if t.wire is not None and asked < t.speech_end and t.wire <= heard + 0.005]
            last_wire = turns[-1].wire if turns else None
            if last_wire is not None:
                turn = turns[-1]
                found.append({**turn.stages(), "wire": heard - last_wire, "filler": float(turn.filler)})
            else:
                log.warning("no stage times for a turn answered %.2f s after the question", latency)
        return found


# --- the line and its callers ---------------------------------------------------------------------


@dataclass
class CallResult:
    latencies: list[float] = field(default_factory=list)  # inf: unanswered
    error: str = ""
    record: CallRecord = field(default_factory=CallRecord)
    right: list[bool] = field(default_factory=list)
    right_after_confirming: list[bool] = field(default_factory=list)  # right once a confirming question was answered
    misses: list[str] = field(default_factory=list)  # the questions answered wrong, with what was heard
    stages: list[dict[str, float]] = field(default_factory=list)

    @property
    def unanswered(self) -> int:
        return sum(1 for v in self.latencies if v == float("inf"))


@dataclass
class Line:
    phone: PhoneService
    answers: AnswerLog


def _port_block(size: int) -> int:
    for _ in range(50):
        low = 20000 + free_port() % 20000
        if low + size < 65000:
            return low
    raise RuntimeError("no free port block")


@asynccontextmanager
async def phone_line(models: SpeechModels, when: datetime, pack_models: PackModels | None = None,
                     folder: Path | None = None, end_of_turn: str = "default",
                     vad: VadSettings | None = None, look_ahead: bool = True,
                     warm_openings: bool = True) -> AsyncIterator[Line]:
    """`end_of_turn`: "default" as `build_voice_services` sets it, "model" Smart Turn, "transcript" the early
    transcript's sentence end, "pause" the VAD's fixed pause alone. `warm_openings`: wait for the pack's openings
    to be synthesised first, as on a server that has been up a while (a test that only counts answers skips it:
    the warm-up is a minute of piper on 2 cores)."""
    with tempfile.TemporaryDirectory() as tmp:
        base = folder or Path(tmp)
        started = time.monotonic()
        runtime = build_runtime(DEMO, db_url=f"sqlite:///{base / 'helpline.db'}",
                                records_url=f"sqlite:///{base / 'records.db'}", models=pack_models,
                                clock=lambda: when + timedelta(seconds=time.monotonic() - started))
        answers = AnswerLog(runtime.conversations)
        low = _port_block(200)
        config = SipConfig(host="127.0.0.1", port=free_port(socket.SOCK_DGRAM), rtp_ports=(low, low + 199))
        services = build_voice_services(runtime, models, prepare=warm_openings)
        if end_of_turn == "transcript":
            shared, hints = SharedRecognitions(models.recognizer), vocabulary(runtime)
            services.recognition = lambda: RecognitionProcessor(shared, hints)
            services.end_of_turn = TranscriptTurnCheck(shared)
        elif end_of_turn != "default":
            services.end_of_turn = SmartTurnModel() if end_of_turn == "model" else None
        if vad is not None:
            services.settings = replace(services.settings, vad=vad)
        if not look_ahead:
            services.settings = replace(services.settings,
                                        agent=replace(services.settings.agent, look_ahead=False))
        # as on a server that has been up a while: the pack's openings are synthesised (a minute at most)
        await asyncio.to_thread(services.openings_ready.wait, 120)
        phone = PhoneService(services, config, Speaker(services.voice or models.synthesizer),
                             PhoneSettings(dial_callbacks=False, transfer_ring_seconds=5.0))
        await phone.start()
        try:
            yield Line(phone, answers)
        finally:
            await phone.stop()
            runtime.db.engine.dispose()


async def play_calls(line: Line, questions: Sequence[Question], calls: int, answer_timeout: float = 15.0,
                     sequential: bool = False, voices: str = "natural",
                     clips: Sequence[Clip] | None = None, first_caller: int = 0,
                     yes_no: tuple[Clip, Clip] | None = None) -> list[CallResult]:
    """`calls` callers (at once, or one after another) each ask `questions` in turn; each caller starts at a
    different question so concurrent callers do not ask the same thing at the same moment. Callers are numbered
    from `first_caller`: each number is one conversation in the line's answer log. With `yes_no` (the clips of a
    yes and a no) a caller answers a confirming question as one who knows what they asked would."""
    audio = list(clips) if clips is not None else await asyncio.to_thread(
        speak_questions, [q.text for q in questions], voices)
    host, port = line.phone.ua.address
    target = f"sip:helpline@{host}:{port}"
    stage_log = StageLog()
    correction_asks = CorrectionAsks()

    async def one(n: int) -> CallResult:
        order = [(n * 3 + i) % len(questions) for i in range(len(questions))]
        asked = [questions[i] for i in order]
        caller = f"+1555010{os.getpid() % 100:02d}{n + first_caller:02d}"
        low = _port_block(20)
        config = SipConfig(host="127.0.0.1", port=free_port(socket.SOCK_DGRAM), rtp_ports=(low, low + 19),
                           user=caller)
        result = CallResult()

        def reply(k: int, clips: tuple[Clip, Clip]) -> Clip | None:
            asked_about = correction_asks.last.get(line.answers.by_caller.get(caller, ""))
            return line.answers.confirming_reply(caller, asked[k], *clips, heard_ask=asked_about,
                                                 again=audio[order[k]])

        try:
            async with SipUserAgent(config) as ua:
                await one_call(ua, target, [audio[i] for i in order], answer_timeout, result.record,
                               None if yes_no is None else lambda k: reply(k, yes_no))
        except Exception as error:  # a call that failed counts every question not asked as unanswered
            result.error = repr(error)
            result.record.latencies += [float("inf")] * (len(asked) - len(result.record.latencies)
                                                         - result.record.not_asked)
        result.latencies = result.record.latencies
        ended = line.answers.ended_during(caller, result.record)
        if ended is not None and not result.error:
            later = len(result.record.asked_at) - ended - 1
            result.error = (f"the line ended the call at question {ended + 1} ({asked[ended].text!r}); "
                            f"{later} later questions went to a closed line, {result.record.not_asked} not asked")
        result.right = line.answers.right(caller, result.record, asked)
        result.right_after_confirming = line.answers.right(caller, result.record, asked, after_confirming=True)
        result.misses = [f"{q.text!r} heard {[t.text for t in turns]} answered from "
                         f"{[sorted(t.answered_from) for t in turns]}{' (right after confirming)' if ok else ''}"
                         for (q, turns), right, ok in zip(line.answers.per_question(caller, result.record, asked),
                                                          result.right, result.right_after_confirming, strict=True)
                         if not right]
        result.stages = stage_log.stages(result.record)
        return result

    async with stage_log.attached(), correction_asks.attached():
        if sequential:
            return [await one(n) for n in range(calls)]
        return list(await asyncio.gather(*(one(n) for n in range(calls))))


def report(calls: int, results: Sequence[CallResult]) -> str:
    """The summary line, then right answers and the median of each stage."""
    values = [v for r in results for v in r.latencies]
    right = [ok for r in results for ok in r.right]
    stages = [s for r in results for s in r.stages]
    parts = [summary(calls, values)]
    parts.append(f"right answers {sum(right)}/{len(right)} ({100 * sum(right) / max(len(right), 1):.0f} %)")
    if any(r.record.confirmed_at for r in results):
        confirmed = [ok for r in results for ok in r.right_after_confirming]
        parts.append(f"{sum(confirmed)}/{len(confirmed)} ({100 * sum(confirmed) / max(len(confirmed), 1):.0f} %) "
                     f"after a confirming question (asked {sum(len(r.record.confirmed_at) for r in results)})")
    medians = ", ".join(f"{name} {statistics.median(s[name] for s in stages if name in s) * 1000:.0f}"
                        for name in STAGES if any(name in s for s in stages))
    if stages:
        parts.append(f"stage p50 ms: {medians}; fillers {sum(int(s.get('filler', 0)) for s in stages)}")
    parts.append(f"not asked (the call had ended) {sum(r.record.not_asked for r in results)}")
    errors = [r.error for r in results if r.error]
    return ", ".join(parts) + (f"; errors {errors}" if errors else "")


async def _main(calls: int, questions: int, hours: str, rounds: int, chosen_set: str, voices: str,
                recognizer: str, end_of_turn: str, vad: VadSettings, look_ahead: bool = True,
                call_per_question: bool = False) -> None:
    models = load_speech_models(recognizer, "piper")
    chosen = (SETS[chosen_set] * 10)[:questions]
    clips = await asyncio.to_thread(speak_questions, [q.text for q in chosen], voices)
    yes, no = await asyncio.to_thread(speak_questions, ["Yes, that's it.", "No, not really."], voices)
    async with phone_line(models, OPEN if hours == "open" else CLOSED, end_of_turn=end_of_turn, vad=vad,
                          look_ahead=look_ahead) as line:
        for _ in range(rounds):
            if call_per_question:  # as callers do: one question, one call, nothing left over from the last
                # ... and answers a confirming question ("is this about …?") as one who knows what they asked
                results = [result for n, (question, clip) in enumerate(zip(chosen, clips, strict=True))
                           for result in await play_calls(line, [question], 1, clips=[clip], first_caller=n,
                                                          yes_no=(yes, no))]
            else:
                results = await play_calls(line, chosen, calls, clips=clips)
            print(f"{report(calls, results)} ({hours} hours, {chosen_set}, {voices} voices, end of turn "
                  f"{end_of_turn}, guess {vad.guess_ms} ms, check {vad.check_ms} ms, pause from {vad.pause_from}, "
                  f"look-ahead "
                  f"{'on' if look_ahead else 'off'}, load {os.getloadavg()[0]:.1f})",
                  flush=True)
            stages = [s for r in results for s in r.stages]
            for name in STAGES:
                values = [s[name] for s in stages if name in s]
                if values:
                    print(f"  {name:12s} p50 {statistics.median(values) * 1000:5.0f} ms  "
                          f"p95 {percentile(values, 95) * 1000:5.0f} ms")
            print(f"  latencies {[round(v, 2) for r in results for v in r.latencies]}")
            if chosen_set not in HELD_OUT_SETS:  # a held-out set's misses are counted, never shown
                for miss in sorted({m for r in results for m in r.misses}):
                    print(f"  wrong: {miss}")
    print(machine())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--hours", choices=["open", "closed"], default="open")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--set", choices=sorted(SETS), default="held-out", dest="chosen_set")
    parser.add_argument("--voices", choices=["natural", "espeak"], default="natural")
    parser.add_argument("--recognizer", default="base")
    parser.add_argument("--end-of-turn", choices=["default", "model", "transcript", "pause"], default="default")
    parser.add_argument("--guess-ms", type=int, default=VadSettings.guess_ms, help="quiet before recognition starts")
    parser.add_argument("--check-ms", type=int, default=VadSettings.check_ms, help="quiet before the end-of-turn check")
    parser.add_argument("--pause-from", choices=["score", "sound"], default=VadSettings.pause_from,
                        help="count the closing pause from Silero's quiet score or from the sound's end (vad.py)")
    parser.add_argument("--no-look-ahead", action="store_true",
                        help="don't understand the early words while the closing pause runs out")
    parser.add_argument("--call-per-question", action="store_true",
                        help="each question its own call, one after another (right answers as a first question; "
                             "in one long call a procedure an earlier question started is still running)")
    args = parser.parse_args()
    vad = VadSettings(guess_ms=args.guess_ms, check_ms=args.check_ms, pause_from=args.pause_from)
    asyncio.run(_main(args.calls, args.questions, args.hours, args.rounds, args.chosen_set, args.voices,
                      args.recognizer, args.end_of_turn, vad, not args.no_look_ahead, args.call_per_question))


if __name__ == "__main__":
    main()
