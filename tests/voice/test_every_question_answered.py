"""Callers on the wire ask questions over concurrent calls, and every question gets an answer (issue 14).

The real line in-process (SIP, RTP, Silero, Whisper base, the demo pack's engine, piper), callers speaking
espeak-ng questions. The full 50-question run (4 calls x 13 questions) is a benchmark, not a test: each
answer is a paragraph the caller listens to the end of, about 4 minutes on 2 cores at load 1-3
(`python -m bench.voice.harness --calls 4 --questions 13`, figures in docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio

from bench.voice.harness import OPEN, STAGES, phone_line, play_calls
from bench.voice.questions import HELD_OUT
from helpline.voice.setup import SpeechModels
from tests.voice.speech_models import piper, whisper

QUESTIONS = [HELD_OUT[0], HELD_OUT[3], HELD_OUT[7]]


def test_every_question_over_concurrent_calls_is_answered_and_timed_by_stage() -> None:
    async def scenario():  # type: ignore[no-untyped-def]
        # openings not warmed first: this test counts answers; tests/voice/test_synthesis_cache.py has the warm-up
        async with phone_line(SpeechModels(whisper(), piper()), OPEN, warm_openings=False) as line:
            return await play_calls(line, QUESTIONS, calls=2, answer_timeout=15.0, voices="espeak")

    results = asyncio.run(scenario())
    assert [r.error for r in results] == ["", ""]
    assert [len(r.latencies) for r in results] == [3, 3]
    assert sum(r.unanswered for r in results) == 0, [r.latencies for r in results]
    # every answered turn is broken down into the benchmark's stages, each taking a plausible time
    stages = [s for r in results for s in r.stages]
    assert len(stages) == 6
    for turn in stages:
        assert set(STAGES) <= set(turn)
        assert all(-0.01 <= turn[name] < 10 for name in STAGES), turn
    # the engine's answers are read per question (which article), not from the reply's words
    assert all(len(r.right) == 3 for r in results)
