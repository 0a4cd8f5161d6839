"""Speech models' costs: load time, memory, time to first audio and real-time factors.

    .venv/bin/python -m bench.voice.speech              # print and update docs/benchmarks.md
    .venv/bin/python -m bench.voice.speech --no-write

Time to first audio is measured the way a call sees it: from an `AgentSpeech` entering
`SynthesisProcessor` to its first `AudioOut` leaving (speakable rewrite, sentence split, synthesis of
the first sentence), over replies of one to four sentences the engine really writes.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable, Sequence

from bench.report import memory_mb, percentile, write_section
from bench.voice.wer import phone_band, rss_mb
from helpline.voice.audio import resample, silence
from helpline.voice.frames import AgentSpeech, AudioOut, Direction, Frame, UtteranceDone
from helpline.voice.pipeline import Pipeline, Processor
from helpline.voice.ports import SpeechRecognizer, SpeechSynthesizer
from helpline.voice.synthesis import EspeakSynthesizer, PiperSynthesizer, SynthesisProcessor

REPLIES = [
    "Thanks for calling Brightbean Coffee. How can I help you today?",
    "I found order BB-10001. It was delivered on August 27th to 3369 Live Oak Blvd, Austin.",
    "Your refund of $40.99 is on its way. It usually takes 3-5 business days to appear on your card.",
    "Sure. Can you give me the email address on your account?",
    "The Espresso One is $349.00 and comes in black, white and red. Would you like me to place an order?",
    "I can book a callback for tomorrow at 10:30 AM. Is 512-555-0126 the best number to reach you? "
    "You'll get a text before we call. Anything else I can help with?",
    "One moment while I check that for you.",
    "Okay, I've cancelled your subscription. You won't be charged again.",
]


class _Sink(Processor):
    def __init__(self) -> None:
        super().__init__()
        self.first: dict[int, float] = {}
        self.done: set[int] = set()
        self.audio_seconds = 0.0

    async def receive(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, AudioOut):
            self.first.setdefault(frame.utterance, time.perf_counter())
            self.audio_seconds += len(frame.pcm) / 2 / frame.sample_rate
        elif isinstance(frame, UtteranceDone):
            self.done.add(frame.utterance)


async def _first_audio(synthesizer: SpeechSynthesizer, rounds: int) -> tuple[list[float], float, float]:
    sink = _Sink()
    pipeline = Pipeline([SynthesisProcessor(synthesizer), sink])
    await pipeline.start()
    waits, started_all = [], time.perf_counter()
    n = 0
    for _ in range(rounds):
        for reply in REPLIES:
            n += 1
            sent = time.perf_counter()
            await pipeline.send(AgentSpeech(reply, utterance=n))
            while n not in sink.done:
                await asyncio.sleep(0.002)
            waits.append(sink.first[n] - sent)
    elapsed = time.perf_counter() - started_all
    await pipeline.stop()
    return waits, elapsed, sink.audio_seconds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    lines = ["## Speech models: load, memory, time to first audio", ""]

    base_rss = rss_mb()
    from helpline.voice.recognition import SphinxRecognizer, WhisperRecognizer

    loads = []
    makers: list[tuple[str, Callable[[], SpeechRecognizer]]] = [
        ("Whisper base (int8)", lambda: WhisperRecognizer("base")),
        ("Whisper tiny.en (int8)", lambda: WhisperRecognizer("tiny.en")),
        ("pocketsphinx", SphinxRecognizer),
    ]
    for name, make in makers:
        before = rss_mb()
        started = time.perf_counter()
        try:
            recognizer = make()
        except Exception as exc:  # an optional model not installed
            loads.append(f"| {name} | not available ({exc}) | | |")
            continue
        load = time.perf_counter() - started
        probe = resample(phone_band(silence(100, 8000) + bytes(2) * 8000 * 3, 8000), 8000, 16000)
        recognizer.transcribe(probe)
        loads.append(f"| {name} | {load:.2f} s | +{rss_mb() - before:.0f} MB | in the server process |")
    lines += ["| model | load | memory (RSS) | where |", "|---|---|---|---|", *loads]

    piper = PiperSynthesizer()
    try:
        started = time.perf_counter()
        piper.warm_up()
        piper_load = time.perf_counter() - started
        timing = ["Time to first audio (AgentSpeech in → first AudioOut out of SynthesisProcessor), "
                  f"{len(REPLIES)} replies × {args.rounds}:", "",
                  "| voice | p50 | p95 | real-time factor |", "|---|---|---|---|"]
        voices: list[tuple[str, SpeechSynthesizer]] = [("piper joe", piper), ("espeak-ng en-us", EspeakSynthesizer())]
        for name, synthesizer in voices:
            waits, elapsed, audio = asyncio.run(_first_audio(synthesizer, args.rounds))
            timing.append(f"| {name} | {percentile(waits, 50) * 1000:.0f} ms | {percentile(waits, 95) * 1000:.0f} ms "
                          f"| {elapsed / audio:.3f} |")
        lines.append(f"| piper joe (en_US medium) | {piper_load:.2f} s (process start + voice) | "
                     f"{memory_mb(piper._all[0].process.pid):.0f} MB peak | its own process |")
        lines.append("| espeak-ng | none | a few MB per sentence | a process per sentence |")
        lines += ["", f"Server process RSS with the three recognisers loaded: {rss_mb():.0f} MB "
                  f"(the bench process itself started at {base_rss:.0f} MB).", "", *timing]
    finally:
        piper.close()
    lines += ["", "Run: `.venv/bin/python -m bench.voice.speech`."]
    print("\n".join(lines))
    if not args.no_write:
        write_section("voice-speech", "\n".join(lines))


if __name__ == "__main__":
    main()
