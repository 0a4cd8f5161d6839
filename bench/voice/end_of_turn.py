"""Does a turn-completion check pay on this CPU? Smart Turn v3.2 against a transcript check, offline.

Every benchmark question is spoken by the natural callers (bench/voice/callers.py). Two kinds of moments:

- **finished**: the whole question followed by `check_ms` of quiet: a check that says "finished" here lets
  the turn end `end_ms - check_ms` sooner (400 → 160 ms of waiting);
- **mid-question pauses**: the audio up to a pause of at least `check_ms` inside the question (a comma, a
  breath): a check that says "finished" here cuts the caller off and answers half a question.

For each check: Smart Turn's probability (≥ 0.5 = finished) and its time per check; the transcript check
(Whisper base on the same audio — the early recognition the pipeline runs anyway — "finished" when the
text ends a sentence and its last word cannot end one: "the", "and", "my", ...).

    .venv/bin/python -m bench.voice.end_of_turn [--set all] [--voices natural]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from bench.report import machine, percentile
from bench.voice.answers import HELD_OUT_SETS, SETS
from bench.voice.callers import PHONE_RATE, caller_voices
from helpline.voice.audio import resample, silence
from helpline.voice.end_of_turn import SmartTurnModel, transcript_finished

CHECK_MS = 200  # helpline/voice/vad.py VadSettings.check_ms


def pauses(pcm: bytes, min_ms: int = CHECK_MS) -> list[int]:
    """Byte offsets where a quiet stretch of at least `min_ms` starts between the first and last voiced 10 ms
    (line noise before the first word is not a pause in the question)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    block = PHONE_RATE // 100
    levels = np.sqrt(np.mean(samples[: samples.size // block * block].reshape(-1, block) ** 2, axis=1))
    quiet = levels < 0.05 * float(levels.max())
    voiced = np.flatnonzero(~quiet)
    if not voiced.size:
        return []
    found, run = [], 0
    for i in range(int(voiced[0]), int(voiced[-1]) + 1):
        run = run + 1 if quiet[i] else 0
        if run == min_ms // 10:
            found.append((i - run + 1) * block * 2)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--set", default="all", help=f"comma-separated, of {sorted(SETS)}")
    parser.add_argument("--voices", default="natural", choices=["natural", "espeak"])
    parser.add_argument("--no-whisper", action="store_true")
    args = parser.parse_args()
    model = SmartTurnModel()
    whisper = None
    if not args.no_whisper:
        from helpline.voice.recognition import WhisperRecognizer

        whisper = WhisperRecognizer("base")
    quiet = silence(CHECK_MS, PHONE_RATE)
    finished: list[tuple[float, bool, str]] = []  # (smart turn p, transcript says finished, the transcript)
    mid: list[tuple[float, bool, str]] = []
    times: list[float] = []
    with caller_voices(args.voices) as voices:
        for voice in voices:
            for question in [q for name in args.set.split(",") for q in SETS[name]]:
                clip = voice.speak(question.text)
                speech = clip.pcm[: len(clip.pcm) - int(clip.tail_seconds * PHONE_RATE) * 2]
                moments = [(speech + quiet, True)] + [(speech[:at] + quiet, False) for at in pauses(speech)]
                for audio, done in moments:
                    started = time.perf_counter()
                    p = model.probability(audio, PHONE_RATE)
                    times.append(time.perf_counter() - started)
                    heard = whisper.transcribe(resample(audio, PHONE_RATE, 16000)).text if whisper else ""
                    if done:
                        finished.append((p, transcript_finished(heard), heard))
                    else:
                        mid.append((p, transcript_finished(heard), heard))
    print(f"Smart Turn v3.2, {len(times)} checks: {statistics.median(times) * 1000:.0f} ms p50, "
          f"{percentile(times, 95) * 1000:.0f} ms p95 per check (1 thread), load {os.getloadavg()[0]:.1f}")
    rules: dict[str, Callable[[float, bool, str], bool]] = {
        "Smart Turn": lambda p, by_text, heard: p >= 0.5,
    }
    if whisper is not None:
        rules["transcript"] = lambda p, by_text, heard: by_text
        rules["transcript asks (ends '?')"] = lambda p, by_text, heard: heard.rstrip().endswith("?")
        rules["Smart Turn and transcript asks"] = lambda p, by_text, heard: p >= 0.5 and heard.rstrip().endswith("?")
    for name, rule in rules.items():
        said_done = sum(1 for row in finished if rule(*row))
        cut = sum(1 for row in mid if rule(*row))
        print(f"{name}: finished questions judged finished {said_done}/{len(finished)}; "
              f"mid-question pauses judged finished (a cut-off caller) {cut}/{len(mid)}")
    shown = not HELD_OUT_SETS & set(args.set.split(","))  # a held-out set's words are never printed
    for p, by_text, heard in mid if shown else []:
        if p >= 0.5 or by_text:
            print(f"  cut at a pause: smart turn {p:.2f}, transcript {'finished' if by_text else '-'}: {heard!r}")
    print(machine())


if __name__ == "__main__":
    main()
