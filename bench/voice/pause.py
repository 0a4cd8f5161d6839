"""The end-of-turn stage the audio alone implies: the VAD on every question in every natural voice, no event loop.

`bench.voice.harness` times the stage on a live line (the caller's audio over RTP, the pause counted on the
transport's clock). This runs the same `VoiceActivityProcessor` on the same clips with exact 20 ms arrival times,
so it says what the VAD's settings cost by themselves (and how often a pause inside a question ends the turn),
apart from anything the machine's load or the rest of the call adds:

- *end of turn*: from the caller's last sound (`UserStoppedSpeaking.ended_at`) to the VAD's decision;
- *cut*: a question the VAD ended more than once (a pause inside it taken for the end).

`--gap-ms`: a caller whose phone stops sending after its last word (silence suppression; the harness's callers
without line noise do) is only known to be quiet once the jitter buffer's depth has passed (60 ms, so ~40 ms more
than a phone that keeps sending); 0 models a phone that keeps sending.

    .venv/bin/python -m bench.voice.pause [--set dev] [--pause-from score,sound] [--end-ms 400]
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.report import machine, percentile
from bench.voice.callers import Clip, caller_voices
from bench.voice.questions import SETS
from helpline.voice.frames import AudioIn, UserStoppedSpeaking
from helpline.voice.vad import VadSettings, VoiceActivityProcessor

FRAME_BYTES = 320  # 20 ms at 8 kHz, as the RTP session hands the caller's audio on
QUIET_AFTER_SECONDS = 1.2


@dataclass(frozen=True)
class PauseResult:
    end_of_turn: float  # seconds from the last sound to the decision, of the question's last utterance
    utterances: int  # 1 unless a pause inside the question ended a turn


def run_vad(clip: Clip, settings: VadSettings, gap_seconds: float = 0.0) -> PauseResult:
    """One question through a fresh VAD, then quiet; `gap_seconds` of nothing before the quiet when the clip
    ends at its last word (no line noise after it)."""
    vad = VoiceActivityProcessor(8000, settings)
    at, stops = 0.0, 0
    for start in range(0, len(clip.pcm) - FRAME_BYTES + 1, FRAME_BYTES):
        events = vad.feed(AudioIn(clip.pcm[start:start + FRAME_BYTES], 8000, received_at=at))
        stops += sum(isinstance(e, UserStoppedSpeaking) for e in events)
        at += 0.02
    if clip.tail_seconds == 0:
        at += gap_seconds
    for _ in range(int(QUIET_AFTER_SECONDS / 0.02)):
        events = vad.feed(AudioIn(b"\x00\x00" * (FRAME_BYTES // 2), 8000, received_at=at))
        stops += sum(isinstance(e, UserStoppedSpeaking) for e in events)
        at += 0.02
    delays = vad.metrics.end_of_speech
    return PauseResult(delays[-1] if delays else float("nan"), stops)


def natural_clips(texts: Sequence[str]) -> list[Clip]:
    """Every text in every natural caller voice."""
    with caller_voices("natural") as voices:
        return [voice.speak(text) for text in texts for voice in voices]


def summary(results: Sequence[PauseResult]) -> str:
    delays = [r.end_of_turn for r in results if r.utterances]
    cut = sum(r.utterances > 1 for r in results)
    return (f"{len(results)} questions: end of turn p50 {statistics.median(delays) * 1000:.0f} ms, "
            f"p95 {percentile(delays, 95) * 1000:.0f} ms; cut in two or more {cut}; not heard "
            f"{sum(r.utterances == 0 for r in results)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--set", default="dev", help=f"comma-separated, of {sorted(SETS)}")
    parser.add_argument("--pause-from", default="score,sound", help="comma-separated: score, sound")
    parser.add_argument("--end-ms", default=str(VadSettings.end_ms), help="comma-separated")
    parser.add_argument("--gap-ms", type=int, default=40, help="see the module's note; 0: a phone that keeps sending")
    args = parser.parse_args()
    texts = [q.text for name in args.set.split(",") for q in SETS[name]]
    clips = natural_clips(texts)
    for pause_from in args.pause_from.split(","):
        for end_ms in (int(v) for v in args.end_ms.split(",")):
            settings = VadSettings(pause_from=pause_from, end_ms=end_ms)  # type: ignore[arg-type]
            results = [run_vad(clip, settings, args.gap_ms / 1000) for clip in clips]
            print(f"pause from {pause_from}, end_ms {end_ms}, gap {args.gap_ms} ms, set {args.set}: "
                  f"{summary(results)}", flush=True)
    print(machine(), f"(load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
