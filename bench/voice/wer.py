"""Word error rate of the speech recognisers on phone-band support utterances.

    .venv/bin/python -m bench.voice.wer                        # Whisper base, every voice; updates docs/benchmarks.md
    .venv/bin/python -m bench.voice.wer --models base,base-full,tiny.en,sphinx
    .venv/bin/python -m bench.voice.wer --limit 10 --no-write  # a quick look
    .venv/bin/python -m bench.voice.wer --part dev --no-write --dump /tmp/dev.jsonl  # tune on dev only

Utterance lines are split once, with a fixed seed, into a dev half (look at its errors, tune on it) and a
held-out half (report it once, never tune on it); `--part` picks one. Every voice speaks the same lines,
so no line is in both halves.

Each line of bench/voice/utterances.txt is rewritten by `speakable` (as the agent's own voice would read
it: "BB-10001" → "B B, one zero zero zero one") and spoken by several voices: piper's joe and espeak-ng
voices and variants at different speeds. The audio is band-limited to the phone — resampled to 8 kHz and
round-tripped through G.711 mu-law — then given to the recogniser at its own rate, with the demo pack's
vocabulary (business and product names, an order id) as hints.

Normalisation before counting errors (the same for reference and hypothesis): `normalize_spoken` (spoken
digits, spelled letters and emails become "456", "BB10001", "john.smith@example.com", so "four five six"
and "456" match), money symbols as words ("$45" → "45 dollars"), thousands separators dropped, a few
contractions expanded ("where's" → "where is"), US spelling for the handful of British words used, case
and punctuation removed except inside emails, dashes inside ids removed ("BB-10001" = "BB10001"),
number words that `normalize_spoken` leaves alone become digits ("one kilogram" = "1 kilogram"),
"3pm" = "3 pm", "good bye" = "goodbye".
An id or email is one word: getting one digit wrong is one error, as it is for the caller.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import memory_mb, percentile, write_section
from helpline.voice.audio import pcm_to_ulaw, resample, ulaw_to_pcm
from helpline.voice.ports import SpeechRecognizer
from helpline.voice.speakable import speakable
from helpline.voice.spoken import normalize_spoken

ROOT = Path(__file__).resolve().parents[2]
UTTERANCES = Path(__file__).resolve().parent / "utterances.txt"
PRODUCTS = ROOT / "examples" / "demo" / "data" / "products.csv"
PHONE_RATE = 8000
SPLIT_SEED = 14  # issue 14; never change it, or the held-out half stops being held out
PARTS = ("all", "dev", "heldout")

_CONTRACTIONS = {
    "i'm": "i am", "i'd": "i would", "i've": "i have", "i'll": "i will", "it's": "it is", "that's": "that is",
    "what's": "what is", "where's": "where is", "there's": "there is", "here's": "here is", "who's": "who is",
    "how's": "how is", "don't": "do not", "doesn't": "does not", "didn't": "did not", "can't": "cannot",
    "won't": "will not", "isn't": "is not", "wasn't": "was not", "aren't": "are not", "you're": "you are",
    "we're": "we are", "they're": "they are", "let's": "let us", "haven't": "have not", "hasn't": "has not",
}
_NUMBERS = {w: i for i, w in enumerate([
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"])}
_SPELLING = {"colour": "color", "colours": "colors", "kilogramme": "kilogram", "ok": "okay", "cancelled": "canceled"}


def normalize_for_wer(text: str) -> list[str]:
    import re

    text = normalize_spoken(text)
    text = re.sub(r"\$\s?(\d[\d,]*(?:\.\d+)?)", r"\1 dollars", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"(?i)(?<=\d)(am|pm)\b", r" \1", text)  # "3pm" = "3 pm"
    text = re.sub(r"(?i)\bgood bye\b", "goodbye", text)
    text = text.lower().replace("’", "'")
    words: list[str] = []
    for raw in text.split():
        token = raw.strip(".,!?;:\"()[]")
        if "@" not in token:
            token = re.sub(r"(?<=\w)-(?=\w)", "", token)  # BB-10001 = BB10001, e-mail = email
            token = re.sub(r"[^\w']", " ", token)
        for word in token.split():
            word = _SPELLING.get(word, word)
            word = _CONTRACTIONS.get(word, word)
            words.extend(str(_NUMBERS[w]) if w in _NUMBERS else w for w in word.split())
    return [w.strip("'") for w in words if w.strip("'")]


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


# --- voices ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Voice:
    name: str
    natural: bool  # a neural voice (piper) rather than formant synthesis (espeak-ng)
    speak: Callable[[str], tuple[bytes, int]]  # text → (16-bit PCM, rate)


def espeak_voice(voice: str, speed: int) -> Voice:
    def speak(text: str) -> tuple[bytes, int]:
        done = subprocess.run(["espeak-ng", "--stdout", "-v", voice, "-s", str(speed), "--", text],
                              capture_output=True, timeout=30, check=True)
        with wave.open(io.BytesIO(done.stdout)) as wav:
            return wav.readframes(wav.getnframes()), wav.getframerate()

    return Voice(f"espeak-ng {voice}, {speed} wpm", False, speak)


def pitch_shift(pcm: bytes, rate: int, cents: int) -> bytes:
    """Another speaker from the same voice: sox moves the pitch, keeping the tempo."""
    done = subprocess.run(["sox", "-t", "raw", "-r", str(rate), "-e", "signed", "-b", "16", "-c", "1", "-",
                           "-t", "raw", "-", "pitch", str(cents)], input=pcm, capture_output=True, timeout=60,
                          check=True)
    return done.stdout


ESPEAK_VOICES = [("en-us", 150), ("en-us+m3", 165), ("en-us+f2", 140), ("en-gb+m3", 150), ("en-us+f4", 175)]
PIPER_VARIANTS = [("piper joe", 1.0, 0), ("piper joe, faster (length 0.85)", 0.85, 0),
                  ("piper joe, slower (length 1.15)", 1.15, 0), ("piper joe, deeper (sox pitch -300)", 1.0, -300),
                  ("piper joe, higher (sox pitch +400)", 1.0, 400)]


def voices(include_piper: bool = True) -> tuple[list[Voice], Callable[[], None]]:
    found = [espeak_voice(v, s) for v, s in ESPEAK_VOICES]
    synthesizers = []
    if include_piper:
        from helpline.voice.synthesis import PiperSynthesizer

        by_scale = {}
        for _, scale, _ in PIPER_VARIANTS:
            if scale not in by_scale:
                by_scale[scale] = PiperSynthesizer(pause_seconds=0.0, length_scale=None if scale == 1.0 else scale)
                synthesizers.append(by_scale[scale])
        piper_voices = []
        for name, scale, cents in PIPER_VARIANTS:
            def speak(text: str, synth: PiperSynthesizer = by_scale[scale], cents: int = cents) -> tuple[bytes, int]:
                pcm = b"".join(synth.synthesize(text))
                return (pitch_shift(pcm, synth.sample_rate, cents) if cents else pcm), synth.sample_rate

            piper_voices.append(Voice(name, True, speak))
        found = piper_voices + found

    def close() -> None:
        for synth in synthesizers:
            synth.close()

    return found, close


def phone_band(pcm: bytes, rate: int) -> bytes:
    """What a caller's voice sounds like after the phone network: 8 kHz, G.711 mu-law."""
    return ulaw_to_pcm(pcm_to_ulaw(resample(pcm, rate, PHONE_RATE)))


# --- recognisers ----------------------------------------------------------------------------------


def recognizer(name: str) -> tuple[SpeechRecognizer, float]:
    from helpline.voice.recognition import SphinxRecognizer, WhisperRecognizer

    started = time.perf_counter()
    made: SpeechRecognizer
    if name == "base":
        made = WhisperRecognizer("base")
    elif name == "base-full":  # plain Whisper base, the accuracy goal's reference: no lead-in silence
        made = WhisperRecognizer("base", full_window=True, lead_in_seconds=0.0)
    elif name == "base-full-lead":
        made = WhisperRecognizer("base", full_window=True)
    elif name == "base-plain":  # the shortened window as it was before the lead-in and the re-decode
        made = WhisperRecognizer("base", lead_in_seconds=0.0, redecode_truncated=False)
    elif name == "base-beam5":
        made = WhisperRecognizer("base", beam_size=5)
    elif name == "base-beam1":
        made = WhisperRecognizer("base", beam_size=1)
    elif name == "base-full-beam1":
        made = WhisperRecognizer("base", full_window=True, beam_size=1, lead_in_seconds=0.0)
    elif name == "tiny.en":
        made = WhisperRecognizer("tiny.en")
    elif name == "sphinx":
        made = SphinxRecognizer()
    else:
        raise SystemExit(f"unknown model {name}")
    return made, time.perf_counter() - started


def vocabulary() -> list[str]:
    with PRODUCTS.open(encoding="utf-8") as fh:
        products = sorted({row["product"] for row in csv.DictReader(fh)})
    return ["Brightbean Coffee", *products, "order BB-10001"]


# --- the run --------------------------------------------------------------------------------------


@dataclass
class Score:
    errors: int = 0
    words: int = 0
    audio_seconds: float = 0.0
    compute_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    worst: list[tuple[int, str, str]] = field(default_factory=list)
    redecoded: int = 0  # utterances Whisper decoded twice (the first transcript looked truncated)

    @property
    def wer(self) -> float:
        return self.errors / self.words if self.words else 0.0

    @property
    def rtf(self) -> float:
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else 0.0

    def add(self, reference: str, hypothesis: str, audio: float, compute: float, confidence: float) -> None:
        ref, hyp = normalize_for_wer(reference), normalize_for_wer(hypothesis)
        errors = edit_distance(ref, hyp)
        self.errors += errors
        self.words += len(ref)
        self.audio_seconds += audio
        self.compute_seconds += compute
        self.latencies.append(compute)
        self.confidences.append(confidence)
        if errors:
            self.worst.append((errors, reference, hypothesis))

    def merge(self, other: Score) -> None:
        self.errors += other.errors
        self.words += other.words
        self.audio_seconds += other.audio_seconds
        self.compute_seconds += other.compute_seconds
        self.latencies += other.latencies
        self.confidences += other.confidences
        self.worst += other.worst
        self.redecoded += other.redecoded


def split_utterances(lines: Sequence[str], part: str) -> list[str]:
    """`part` of `lines` in file order: half the lines (chosen by a fixed seed) are dev, the rest held-out."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}: one of {', '.join(PARTS)}")
    if part == "all":
        return list(lines)
    dev = set(random.Random(SPLIT_SEED).sample(range(len(lines)), len(lines) // 2))
    return [line for i, line in enumerate(lines) if (i in dev) == (part == "dev")]


def load_utterances(limit: int | None = None, part: str = "all") -> list[str]:
    lines = [ln.strip() for ln in UTTERANCES.read_text(encoding="utf-8").splitlines()]
    found = split_utterances([ln for ln in lines if ln and not ln.startswith("#")], part)
    return found[:limit] if limit else found


def rss_mb() -> float:
    """This process's RSS now."""
    return memory_mb(os.getpid(), "VmRSS")


def _ms(values: Sequence[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.0f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--models", default="base", help="comma list: base, base-full, base-full-lead, "
                        "base-plain, base-beam1, base-full-beam1, base-beam5, tiny.en, sphinx")
    parser.add_argument("--limit", type=int, default=None, help="only the first N utterances")
    parser.add_argument("--part", choices=PARTS, default="all",
                        help="dev: the half to tune on; heldout: the half to report once; all: both")
    parser.add_argument("--dump", type=Path, default=None,
                        help="write every utterance's reference, hypothesis, errors and compute time (JSON lines)")
    parser.add_argument("--no-piper", action="store_true")
    parser.add_argument("--natural-only", action="store_true", help="only piper's voices (the WER goal's rows)")
    parser.add_argument("--no-hints", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--show-errors", type=int, default=8)
    args = parser.parse_args(argv)

    texts = load_utterances(args.limit, args.part)
    hints = [] if args.no_hints else vocabulary()
    speakers, close = voices(include_piper=not args.no_piper)
    if args.natural_only:
        speakers = [v for v in speakers if v.natural]
    audio: dict[str, list[bytes]] = {}
    try:
        for voice in speakers:
            audio[voice.name] = [phone_band(*voice.speak(speakable(text))) for text in texts]
            print(f"spoke {len(texts)} utterances with {voice.name}", file=sys.stderr)
    finally:
        close()
    seconds = sum(len(c) for clips in audio.values() for c in clips) / 2 / PHONE_RATE

    sections = []
    summary = []
    dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    for model in [m.strip() for m in args.models.split(",")]:
        rec, load = recognizer(model)
        # one untimed utterance first: the first inference pays for memory allocation
        rec.transcribe(resample(audio[speakers[0].name][0], PHONE_RATE, rec.sample_rate), hints)
        rows: list[tuple[Voice, Score]] = []
        for voice in speakers:
            score = Score()
            for text, clip in zip(texts, audio[voice.name], strict=True):
                pcm = resample(clip, PHONE_RATE, rec.sample_rate)
                redecodes = getattr(rec, "redecodes", 0)
                started = time.perf_counter()
                result = rec.transcribe(pcm, hints)
                compute = time.perf_counter() - started
                redecoded = getattr(rec, "redecodes", 0) > redecodes
                score.add(text, result.text, len(clip) / 2 / PHONE_RATE, compute, result.confidence)
                score.redecoded += redecoded
                if dump:
                    errors = edit_distance(normalize_for_wer(text), normalize_for_wer(result.text))
                    dump.write(json.dumps({"model": model, "voice": voice.name, "reference": text,
                                           "hypothesis": result.text, "errors": errors,
                                           "seconds": round(compute, 4),
                                           "redecoded": redecoded}) + "\n")
            rows.append((voice, score))
            print(f"{model:10} {voice.name:36} WER {score.wer:6.1%}  RTF {score.rtf:.3f}  "
                  f"p50 {_ms(score.latencies, 50)} ms", file=sys.stderr)
        groups = {"natural voices (piper)": Score(), "robotic voices (espeak-ng)": Score(), "all voices": Score()}
        for voice, score in rows:
            groups["natural voices (piper)" if voice.natural else "robotic voices (espeak-ng)"].merge(score)
            groups["all voices"].merge(score)
        total = groups["all voices"]
        summary.append((model, load, groups))
        lines = [f"### {model}", "",
                 f"Load {load:.1f} s. Real-time factor {total.rtf:.3f}; compute per utterance "
                 f"p50 {_ms(total.latencies, 50)} ms, p95 {_ms(total.latencies, 95)} ms; "
                 f"decoded twice (looked truncated): {total.redecoded} of {len(total.latencies)}.", "",
                 "| voice | WER | RTF | p50 ms | p95 ms |", "|---|---|---|---|---|"]
        for voice, score in rows:
            lines.append(f"| {voice.name} | {score.wer:.1%} | {score.rtf:.3f} | {_ms(score.latencies, 50)} "
                         f"| {_ms(score.latencies, 95)} |")
        for name, score in groups.items():
            if score.words:
                lines.append(f"| **{name}** | **{score.wer:.1%}** | {score.rtf:.3f} | {_ms(score.latencies, 50)} "
                             f"| {_ms(score.latencies, 95)} |")
        sections.append("\n".join(lines))
        for errors, ref, hyp in sorted(total.worst, reverse=True)[: args.show_errors]:
            print(f"   {errors} errors: {ref!r} -> {hyp!r}", file=sys.stderr)

    if dump:
        dump.close()
    print()
    for model, load, groups in summary:
        figures = "  ".join(f"{name.split(' (')[0]} {score.wer:.1%}" for name, score in groups.items() if score.words)
        total = groups["all voices"]
        print(f"{model:10} WER {figures}  RTF {total.rtf:.3f}  p50 {_ms(total.latencies, 50)} ms  "
              f"p95 {_ms(total.latencies, 95)} ms  re-decoded {total.redecoded}  load {load:.1f} s")
    if args.no_write or args.part != "all":
        return
    body = "\n".join([
        "## Speech recognition: word error rate on the phone",
        "",
        f"{len(texts)} support utterances (`bench/voice/utterances.txt`: ids, emails, products, returns, numbers) "
        f"spoken by {len(speakers)} voices ({seconds / 60:.0f} minutes of audio), band-limited to 8 kHz G.711 "
        f"mu-law, transcribed {'with' if hints else 'without'} the demo pack's vocabulary as hints. The natural "
        "voices are piper's joe at three speeds and two pitches (sox); the robotic ones are espeak-ng voices "
        "and variants, which Whisper finds much harder than people (formant synthesis, no human prosody). "
        "Normalisation: spoken digits, letters and emails as the engine reads them, case, punctuation, "
        "contractions, number words as digits (see the module docstring). Goal: WER ≤ 15 % with Whisper base. "
        f"Run: `.venv/bin/python -m bench.voice.wer --models {args.models}`.",
        "",
        "Reading the figures: the natural voices are one speaker in five variants, so their WER is optimistic "
        "for real callers; the espeak-ng voices are a pessimistic bound. `base` is the recogniser Helpline runs "
        "(short encoder window, lead-in silence, re-decode of truncated transcripts: see "
        "helpline/voice/recognition.py), `base-full` plain Whisper base on its 30-second window (the accuracy "
        "goal's reference), `base-plain` the short window without the lead-in or re-decode. Memory and load "
        "times: the next section.",
        "",
        *[section + "\n" for section in sections],
    ])
    write_section("voice-wer", body)


if __name__ == "__main__":
    main()
