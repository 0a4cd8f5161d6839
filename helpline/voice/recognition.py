"""Speech recognition, offline: Whisper (faster-whisper / CTranslate2) and pocketsphinx as a light fallback.

**Short encoder window.** Whisper's encoder is trained on 30-second windows and faster-whisper always
pads to 30 s, which costs ~0.9 s of encoder time on 2 cores whatever the utterance length. A caller's
turn lasts a few seconds, so `WhisperRecognizer` runs the encoder on a shorter window (CTranslate2
accepts any length up to 30 s): the utterance plus 3 s of quiet, at least 10 s, which costs ~0.13 s.
The benchmark (bench/voice/wer.py, `--models base,base-full`) found about the same word error rate as
the full window at about 40 % of the latency; a tighter window (utterance + 1 s) made the decoder
repeat itself and cost several points of WER. Decoding is one `generate` call with a small beam and no
temperature fallback: a retry would double the latency of exactly the turns that are already hard.

**Lead-in and re-decode.** Whisper misreads a word that starts the instant the audio does ("the
Espresso" → "Despresso", "Do you ship" → "D-Shet"), so a quarter second of silence goes before an
utterance whose speech starts in its first 0.2 s (free: it stays inside the 10 s window). Not before one that
starts quiet, as a call's utterances do (the VAD keeps a pre-roll): there the added silence changed what
Whisper heard. Held-out half of the benchmark, natural voices: 6.1 % → 3.7 % WER against the plain full
window's 4.5 % (docs/benchmarks.md), at no measurable compute cost. It also cured the early stop seen
before ("I want to return order number 456." → "I want to"). As a safety net, a
transcript far too short for the speech heard (`looks_truncated`: under 6 characters per voiced second)
is decoded again on the full 30 s window and the longer of the two kept: ~1 s more, on 1 of 450
benchmark utterances. Short truncations ("Can you repeat" for "Can you repeat that please?") pass it.

**Confidence** is exp(average token log-probability) × (1 − no-speech probability), lowered when the
text is a repetition loop (compression ratio > 2.4, Whisper's own test) or merely repeats words of the
vocabulary prompt (Whisper "hears" the prompt in noise). Below `min_confidence` the text is dropped,
so noise and garble reach the engine as an empty transcript with a low confidence ("sorry, I didn't
catch that") rather than as invented words.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpline.voice import models
from helpline.voice.audio import resample, rms, to_float
from helpline.voice.control import EarlyWords, SpellingExpected
from helpline.voice.correction import Correction
from helpline.voice.frames import Direction, Frame, Transcript, UserStoppedSpeaking, UtteranceMayHaveEnded
from helpline.voice.pipeline import Processor
from helpline.voice.ports import Recognition, SpeechRecognizer
from helpline.voice.spoken import normalize_spoken

log = logging.getLogger(__name__)
trace = logging.getLogger("helpline.voice.trace")

# Below this RMS (16-bit units, about -50 dBFS) an utterance is silence or line hiss: no model runs.
SILENCE_RMS = 100.0
_FRAMES_PER_SECOND = 100  # Whisper's log-mel hop is 10 ms
_MAX_FRAMES = 3000
_MAX_PROMPT_TOKENS = 120  # a longer prompt costs decoder time and invites the model to echo it
# Fluent speech is 12-25 characters of transcript per voiced second (ids and digits at the low end, since
# "B B one zero zero zero one" is written "BB-10001"); under 6 the decoder very likely stopped early.
_MIN_CHARS_PER_VOICED_SECOND = 6.0
_MIN_VOICED_SECONDS_TO_CHECK = 1.0  # "yes" and "no" are short whatever happened
_VOICED_BELOW_PEAK_DB = 30.0  # a 10 ms frame within 30 dB of the utterance's loudest counts as voiced
_ONSET_SECONDS = 0.2  # speech this early in a clip: its first syllable may have been cut, so a lead-in goes first


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _echoes_prompt(text: str, prompt: str) -> bool:
    """The transcript is nothing but the prompt's own words (a run of them, or mostly them)."""
    said, hinted = _words(text), _words(prompt)
    if not said or not hinted:
        return False
    n = len(said)
    if any(hinted[i : i + n] == said for i in range(len(hinted) - n + 1)):
        return True
    vocabulary = set(hinted)
    return n >= 3 and sum(w in vocabulary for w in said) / n >= 0.8


def _drop_repeats(text: str) -> str:
    """'Where is it? Where is it?' → 'Where is it?': a decoder that loops repeats whole sentences."""
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]
    kept: list[str] = []
    for sentence in sentences:
        key = _words(sentence)
        if kept and key and _words(kept[-1]) == key:
            continue
        kept.append(sentence)
    return " ".join(kept)


def voiced_frames(pcm: bytes, sample_rate: int) -> np.ndarray:
    """Which 10 ms frames of `pcm` are speech: within 30 dB of the loudest one, and above line hiss."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype=np.int16).astype(np.float32)
    frame = sample_rate // 100
    count = len(samples) // frame
    if count == 0:
        return np.zeros(0, dtype=bool)
    levels = np.sqrt(np.mean(samples[: count * frame].reshape(count, frame) ** 2, axis=1))
    floor = max(SILENCE_RMS, float(levels.max()) * 10 ** (-_VOICED_BELOW_PEAK_DB / 20))
    return levels > floor


def voiced_seconds(voiced: np.ndarray) -> float:
    """How long the speech lasts, from its `voiced_frames`: pauses between words do not count, so a slow or
    hesitant caller is not 'long'."""
    return float(np.count_nonzero(voiced)) / 100


def speech_at_onset(voiced: np.ndarray, within_seconds: float = _ONSET_SECONDS) -> bool:
    """Whether speech is already under way in the first `within_seconds` (a clip cut at the first syllable), from
    its `voiced_frames`. Audio that starts with a quiet stretch (the VAD's pre-roll on a call) needs no lead-in:
    there, silence added in front changed what Whisper heard."""
    return bool(voiced[: max(1, int(within_seconds * 100))].any())


def looks_truncated(text: str, voiced: float) -> bool:
    """Far too few characters for the speech heard: the decoder stopped before the caller did."""
    if voiced < _MIN_VOICED_SECONDS_TO_CHECK:
        return False
    return len("".join(text.split())) / voiced < _MIN_CHARS_PER_VOICED_SECOND


def whisper_confidence(avg_logprob: float, no_speech_prob: float, compression_ratio: float,
                       echoes_prompt: bool = False) -> float:
    confidence = math.exp(min(0.0, avg_logprob)) * (1.0 - no_speech_prob)
    if compression_ratio > 2.4:
        confidence *= 0.25
    if echoes_prompt:
        confidence *= 0.5
    return max(0.0, min(1.0, confidence))


def hints_prompt(hints: Sequence[str]) -> str:
    """The vocabulary as a short, transcript-like prompt ("Brightbean Coffee, BB-10001, Yirgacheffe.")."""
    seen: dict[str, None] = {}
    for hint in hints:
        cleaned = " ".join(str(hint).split())
        if cleaned and cleaned.lower() not in {k.lower() for k in seen}:
            seen[cleaned] = None
    return ", ".join(seen) + "." if seen else ""


@dataclass(frozen=True)
class WhisperResult:
    """Everything a Whisper decode says about one utterance (the benchmark and tests read it)."""

    text: str  # empty when the confidence fell below the floor
    raw_text: str  # what the model wrote, kept or not
    confidence: float
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    seconds: float  # wall-clock compute time
    redecoded: bool = False  # the first transcript looked truncated and the full window was tried


class WhisperRecognizer:
    """Whisper on the CPU (int8). One instance can serve every call: CTranslate2 is thread-safe and runs
    up to `num_workers` transcriptions in parallel; more wait their turn."""

    sample_rate = 16000

    def __init__(
        self,
        model: str = "base",
        *,
        cache_dir: Path | None = None,
        beam_size: int = 2,
        cpu_threads: int = 0,
        num_workers: int = 1,
        compute_type: str = "int8",
        min_confidence: float = 0.25,
        full_window: bool = False,
        margin_seconds: float = 3.0,
        min_window_seconds: float = 10.0,
        lead_in_seconds: float = 0.25,
        redecode_truncated: bool = True,
    ) -> None:
        models.offline_guard()
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        started = time.perf_counter()
        self.weights = models.whisper_weights(model, cache_dir)
        self.name = f"whisper-{self.weights.name}"
        self._model = WhisperModel(
            str(self.weights.path), device="cpu", compute_type=compute_type,
            cpu_threads=cpu_threads or min(4, os.cpu_count() or 1), num_workers=num_workers,
            local_files_only=True,
        )
        self._tokenizer = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual,
                                    task="transcribe", language="en")
        self._suppress = list(get_suppressed_tokens(self._tokenizer, (-1,)) or ())
        self.beam_size = beam_size
        self.min_confidence = min_confidence
        self.full_window = full_window
        self.margin_frames = int(margin_seconds * _FRAMES_PER_SECOND)
        self.min_window_frames = int(min_window_seconds * _FRAMES_PER_SECOND)
        self.lead_in_samples = int(lead_in_seconds * self.sample_rate)
        self.redecode_truncated = redecode_truncated
        self.redecodes = 0  # how many transcripts looked truncated (the benchmark reports it)
        self.load_seconds = time.perf_counter() - started

    # --- the port -----------------------------------------------------------------------------

    def transcribe(self, pcm: bytes, hints: Sequence[str] = ()) -> Recognition:
        result = self.recognize(pcm, hints)
        return Recognition(result.text, result.confidence)

    # --- details ------------------------------------------------------------------------------

    def recognize(self, pcm: bytes, hints: Sequence[str] = ()) -> WhisperResult:
        started = time.perf_counter()
        if not pcm or rms(pcm) < SILENCE_RMS:
            return WhisperResult("", "", 0.0, -10.0, 1.0, 0.0, time.perf_counter() - started)
        prompt_text = hints_prompt(hints)
        voiced = voiced_frames(pcm, self.sample_rate)  # once: for the lead-in and the truncation check
        lead_in = bytes(2 * self.lead_in_samples) if speech_at_onset(voiced) else b""
        features = self._model.feature_extractor(to_float(lead_in + pcm))
        content = features.shape[-1] - 1  # the extractor appends one frame of padding
        pieces = []
        for start in range(0, max(content, 1), _MAX_FRAMES):
            pieces.append(self._decode(features[:, start : min(start + _MAX_FRAMES, content)], prompt_text))
        redecoded = False
        if (self.redecode_truncated and not self.full_window and len(pieces) == 1
                and looks_truncated(pieces[0][0], voiced_seconds(voiced))):
            redecoded = True
            self.redecodes += 1
            again = self._decode(features[:, :content], prompt_text, full_window=True)
            if len(again[0]) > len(pieces[0][0]):
                pieces = [again]
        text = _drop_repeats(" ".join(p[0] for p in pieces if p[0]))
        tokens = sum(max(p[4], 1) for p in pieces)
        avg_logprob = sum(p[1] * max(p[4], 1) for p in pieces) / tokens
        no_speech = max(p[2] for p in pieces)
        ratio = _compression_ratio(text)
        confidence = whisper_confidence(avg_logprob, no_speech, ratio, _echoes_prompt(text, prompt_text))
        if not text:
            confidence = 0.0
        # Whisper's own no-speech rule, then our floor
        keep = bool(text) and not (no_speech > 0.6 and avg_logprob < -1.0) and confidence >= self.min_confidence
        return WhisperResult(text if keep else "", text, confidence, avg_logprob, no_speech, ratio,
                             time.perf_counter() - started, redecoded)

    def _decode(self, features: np.ndarray, prompt_text: str,
                full_window: bool = False) -> tuple[str, float, float, float, int]:
        import ctranslate2

        frames = features.shape[-1]
        if self.full_window or full_window:
            width = _MAX_FRAMES
        else:
            # Whole seconds plus a margin, so the encoder sees the end of speech followed by quiet.
            width = max(self.min_window_frames, math.ceil((frames + self.margin_frames) / _FRAMES_PER_SECOND)
                        * _FRAMES_PER_SECOND)
            width = min(_MAX_FRAMES, width)
        padded = np.zeros((features.shape[0], width), dtype=np.float32)
        padded[:, :frames] = features[:, :width]
        encoded = self._model.model.encode(ctranslate2.StorageView.from_array(padded[np.newaxis]), to_cpu=False)

        prompt: list[int] = []
        if prompt_text:
            prompt = [self._tokenizer.sot_prev, *self._tokenizer.encode(" " + prompt_text)[-_MAX_PROMPT_TOKENS:]]
        prompt += [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]
        # Fast speech is ~4 tokens a second; a bound stops a repetition loop from eating the turn.
        new_tokens = int(frames / _FRAMES_PER_SECOND * 8) + 16
        result = self._model.model.generate(
            encoded, [prompt], beam_size=self.beam_size, max_length=min(448, len(prompt) + new_tokens),
            return_scores=True, return_no_speech_prob=True, suppress_blank=True,
            suppress_tokens=self._suppress, length_penalty=1.0,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        text = self._tokenizer.decode(tokens).strip()
        # CTranslate2 returns the length-normalised score; recover faster-whisper's avg_logprob.
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        return text, float(avg_logprob), float(result.no_speech_prob), _compression_ratio(text), len(tokens)


_shared: dict[tuple[Any, ...], WhisperRecognizer] = {}
_shared_lock = threading.Lock()


def shared_whisper(model: str = "base", **options: Any) -> WhisperRecognizer:
    """One loaded Whisper per (model, options) in the process, for every call."""
    options = {k: v for k, v in options.items() if v is not None}  # cache_dir=None is the default, not a new key
    key = (model, *sorted(options.items()))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = WhisperRecognizer(model, **options)
        return _shared[key]


class SphinxRecognizer:
    """pocketsphinx with its bundled US English model: small and quick, far less accurate than Whisper.

    It ignores hints (adding pronunciations for product names needs a dictionary per pack). A decoder is
    not thread-safe, so calls take turns.
    """

    sample_rate = 16000
    name = "pocketsphinx"

    def __init__(self, min_confidence: float = 0.3) -> None:
        from pocketsphinx import Decoder

        started = time.perf_counter()
        self._decoder = Decoder(samprate=self.sample_rate, logfn=os.devnull)
        self._lock = threading.Lock()
        self.min_confidence = min_confidence
        self.load_seconds = time.perf_counter() - started

    def transcribe(self, pcm: bytes, hints: Sequence[str] = ()) -> Recognition:
        if not pcm or rms(pcm) < SILENCE_RMS:
            return Recognition("", 0.0)
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
            words = [(s.word, s.prob) for s in self._decoder.seg()]
        spoken = [(re.sub(r"\(\d+\)$", "", w), p) for w, p in words if not (w.startswith(("<", "[")) or w == "++")]
        if not spoken:
            return Recognition("", 0.0)
        text = " ".join(w for w, _ in spoken)
        confidence = float(np.mean([p for _, p in spoken]))
        return Recognition(text if confidence >= self.min_confidence else "", confidence)


def default_recognizer(prefer: str = "base", cache_dir: Path | None = None) -> SpeechRecognizer:
    """The best recogniser installed: Whisper base, else tiny.en, else pocketsphinx."""
    installed = models.installed_whisper_models()
    for name in [prefer, *installed]:
        if name in installed:
            try:
                return shared_whisper(name, cache_dir=cache_dir)
            except (models.ModelError, ImportError) as exc:
                log.warning("Whisper %s unavailable: %s", name, exc)
    try:
        return SphinxRecognizer()
    except ImportError as exc:
        raise models.ModelError(
            "no speech recogniser installed: install the voice extra (.venv/bin/pip install 'helpline[voice]')"
        ) from exc


Normalizer = Callable[[str], str]
Corrector = Callable[[str], Correction]


@dataclass(frozen=True)
class HeardTranscript(Transcript):
    """A transcript checked against the business's vocabulary: `text` is what was heard; `correction`
    says what the caller more likely meant and how sure that is (the call agent decides to use it, or to
    ask "did you say ...?")."""

    correction: Correction | None = None


@dataclass(frozen=True)
class Heard:
    """One utterance recognised: the recogniser's result, its normalised words and their vocabulary check."""

    recognition: Recognition
    text: str
    correction: Correction | None = None


class RecognitionProcessor(Processor):
    """UserStoppedSpeaking → Transcript. The recogniser runs in a worker thread, so the call's other
    stages (barge-in, keypad) keep moving while it works; everything else passes through."""

    def __init__(
        self,
        recognizer: SpeechRecognizer,
        hints: Callable[[], Sequence[str]] | Sequence[str] = (),
        normalize: Normalizer | None = None,
        name: str | None = None,
        correct: Corrector | None = None,
    ) -> None:
        """`correct` checks a transcript against the business's vocabulary (correction.py): its verdict
        travels with the transcript as a `HeardTranscript`. `normalize` replaces spoken.py's reading of the
        words (and then knows nothing of `SpellingExpected`)."""
        super().__init__(name)
        self.recognizer = recognizer
        self._hints = hints
        self._correct = correct
        self._normalize = normalize  # None: spoken.py's, which reads spelling-alphabet words by `_spelling`
        self._spelling = False  # the agent waits for an id (SpellingExpected, from the call agent)
        self._early: tuple[int, asyncio.Task[Heard]] | None = None
        self._latest_guess: int | None = None  # the VAD's last early guess, used at the end of the turn or not

    def hints(self) -> Sequence[str]:
        return self._hints() if callable(self._hints) else self._hints

    def _normalized(self, text: str) -> str:
        if self._normalize is not None:
            return self._normalize(text)
        return normalize_spoken(text, spelling=self._spelling)

    def _start(self, pcm: bytes, sample_rate: int, guess: int | None = None) -> asyncio.Task[Heard]:
        return asyncio.create_task(self._hear(resample(pcm, sample_rate, self.recognizer.sample_rate), guess))

    def _superseded(self, guess: int | None) -> bool:
        """An early guess whose words nobody will read: a later guess (the caller spoke on) has replaced it. (Not
        "no longer `_early`": the end of the turn takes the guess it uses out of `_early` before awaiting it.)"""
        return guess is not None and guess != self._latest_guess

    async def _hear(self, audio: bytes, guess: int | None) -> Heard:
        """Recognise, normalise and check against the vocabulary. For an early guess still standing, the words
        go ahead to the call agent (EarlyWords) so it can understand them before the pause ends the turn."""
        started = time.perf_counter()
        recognition = await asyncio.to_thread(self.recognizer.transcribe, audio, self.hints())
        recognised = time.perf_counter()
        text = self._normalized(recognition.text) if recognition.text else ""
        correction = None
        # The vocabulary check is Python on the GIL (tens to hundreds of ms on a long turn): not for a guess the
        # caller has already talked through, whose words are thrown away.
        if text and self._correct is not None and not self._superseded(guess):
            correction = await asyncio.to_thread(self._correct, text)  # it may search the knowledge base
        trace.debug("heard %d words: recogniser %.0f ms, vocabulary check %.0f ms%s", len(text.split()),
                    (recognised - started) * 1000, (time.perf_counter() - recognised) * 1000,
                    " (superseded guess)" if self._superseded(guess) else "")
        if guess is not None and text and self._early is not None and self._early[0] == guess:
            likely = correction.text if correction is not None and correction.changed and correction.sure else text
            await self.push(EarlyWords(likely, guess))
        return Heard(recognition, text, correction)

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, SpellingExpected):  # from the call agent below; the stages above have no use for it
            self._spelling = frame.on
            return
        if direction is Direction.DOWNSTREAM and isinstance(frame, UtteranceMayHaveEnded):
            # Start on the audio so far; if this pause is the end, the words are ready sooner.
            self._latest_guess = frame.guess
            self._early = (frame.guess, self._start(frame.pcm, frame.sample_rate, frame.guess))
            return
        if direction is Direction.DOWNSTREAM and isinstance(frame, UserStoppedSpeaking):
            early, self._early = self._early, None
            if early is not None and frame.guess is not None and early[0] == frame.guess:
                heard = await early[1]
            else:
                heard = await self._start(frame.pcm, frame.sample_rate)
            recognition, text = heard.recognition, heard.text
            trace.debug("recognised %d words conf %.2f early=%s", len(text.split()), recognition.confidence,
                        early is not None and frame.guess is not None and early[0] == frame.guess)
            if text and self._correct is not None:
                await self.push(HeardTranscript(text, recognition.confidence, frame.ended_at,
                                                correction=heard.correction), direction)
                return
            await self.push(Transcript(text, recognition.confidence, frame.ended_at), direction)
            return
        await self.push(frame, direction)
