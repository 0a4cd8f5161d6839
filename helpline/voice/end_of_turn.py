"""Has the caller finished their turn? A turn-completion model on the audio, so the agent need not wait a
fixed pause.

The VAD alone ends a turn after `VadSettings.end_ms` (400 ms) of quiet: long enough not to cut a caller
who pauses at a comma, and all of it is dead air before the agent can answer. With a `TurnCompletion`
model the VAD asks, after a short hangover of quiet (`VadSettings.check_ms`), whether the audio so far
sounds like a finished turn (intonation, the last words' shape); "finished" ends the turn at once, "not
finished" changes nothing — the fixed pause still ends it, so the model can make a turn end sooner but
never hold a caller longer than it does without the model.

`SmartTurnModel` is Smart Turn v3.2 (pipecat-ai, BSD-2-Clause): a Whisper-tiny encoder and a classifier,
8 MB of ONNX run with onnxruntime on one thread, fed Whisper log-mel features of the last 8 s at 16 kHz
(computed with faster-whisper's extractor; the same numbers as Pipecat's vendored copy to 2e-7).

`TranscriptTurnCheck` judges from the words instead: the VAD starts recognition early, on a short pause
(`UtteranceMayHaveEnded`); when that early transcript ends a sentence, the turn is over. Through
`SharedRecognitions` it reads the result of the recognition the pipeline runs anyway, so it costs no compute.

Neither check is on by default (helpline/voice/setup.py): both judge pauses inside a sentence finished
("My espresso tastes really sour," ...), and on a call the transcript check cut a caller's "No, that's all.
Goodbye." into three turns. Measured on the benchmark's natural voices (`python -m bench.voice.end_of_turn`,
2 shared cores): Smart Turn cost 348 ms a check at p50 under load (115-140 ms on a quieter moment), competing
with Whisper for the same cores, and judged 178 of 192 finished questions finished where the transcript check
judged 191. Neither can answer sooner than the words are known, and the early recognition takes about as long
as the VAD's pause (~0.3 s of Whisper after the guess), so today either saves little; a faster recogniser
makes the check pay.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from helpline.voice import models
from helpline.voice.audio import resample
from helpline.voice.ports import Recognition, SpeechRecognizer

log = logging.getLogger(__name__)
MODEL_RATE = 16000
WINDOW_SECONDS = 8


class TurnCompletion(Protocol):
    """Scores how likely it is that the caller has finished their turn (0..1), from the turn's audio."""

    def probability(self, pcm: bytes, sample_rate: int) -> float: ...


class SmartTurnModel:
    """Smart Turn v3.2 on the CPU. One instance serves every call: a lock keeps one inference at a time
    (each is ~60-140 ms on one core; running them side by side would only slow recognition down)."""

    def __init__(self, path: Path | None = None, threads: int = 1) -> None:
        import onnxruntime as ort
        from faster_whisper.feature_extractor import FeatureExtractor

        self.path = path or models.smart_turn_model()
        options = ort.SessionOptions()
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session: Any = ort.InferenceSession(str(self.path), sess_options=options,
                                                  providers=["CPUExecutionProvider"])
        self._features = FeatureExtractor(feature_size=80, sampling_rate=MODEL_RATE, hop_length=160,
                                          chunk_length=WINDOW_SECONDS, n_fft=400)
        self._lock = threading.Lock()

    def features(self, pcm: bytes, sample_rate: int) -> np.ndarray:
        """(1, 80, 800) log-mel features of the last 8 s, zero-padded in front, waveform normalised."""
        audio = np.frombuffer(resample(pcm, sample_rate, MODEL_RATE), dtype="<i2").astype(np.float32) / 32768.0
        size = MODEL_RATE * WINDOW_SECONDS
        audio = audio[-size:] if audio.size > size else np.pad(audio, (size - audio.size, 0))
        audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        mel = self._features(audio, padding=0)[:, : size // 160]
        return np.ascontiguousarray(mel[np.newaxis], dtype=np.float32)

    def probability(self, pcm: bytes, sample_rate: int) -> float:
        features = self.features(pcm, sample_rate)
        with self._lock:
            output = self._session.run(None, {"input_features": features})
        return float(np.asarray(output[0]).ravel()[0])


# --- the transcript check ------------------------------------------------------------------------

# words a sentence cannot end on: a transcript ending on one was cut at a breath
_DANGLING = frozenset(re.findall(r"\w+", """
    a an the and or but so because if my your our their his her its to of for with in on at from about as than
    that which who what when where how is are was were be can could would will do does did i you we they it this
    these those some any"""))


def transcript_finished(text: str) -> bool:
    """Whisper writes a full stop or question mark where it hears a sentence end; a turn is not finished
    on a word that cannot end one ("can I return the." is a caller drawing breath)."""
    words = re.findall(r"[a-z']+", text.lower())
    return bool(words) and text.rstrip().endswith((".", "?", "!")) and words[-1] not in _DANGLING


class SharedRecognitions:
    """The pipeline's recogniser, remembering its last results by audio, so that the transcript check reads
    the words the early recognition already produced for the same audio instead of running Whisper again."""

    def __init__(self, recognizer: SpeechRecognizer, keep: int = 64) -> None:
        self.recognizer = recognizer
        self.sample_rate = recognizer.sample_rate
        self.name = getattr(recognizer, "name", "recognizer")
        self._keep = keep
        self._results: OrderedDict[bytes, Future[Recognition]] = OrderedDict()
        self._changed = threading.Condition()

    def transcribe(self, pcm: bytes, hints: Sequence[str] = ()) -> Recognition:
        key = hashlib.blake2b(pcm, digest_size=16).digest()
        with self._changed:
            future = self._results.get(key)
            owner = future is None
            if future is None:
                future = self._results[key] = Future()
                while len(self._results) > self._keep:
                    self._results.popitem(last=False)
                self._changed.notify_all()
        if owner:
            try:
                future.set_result(self.recognizer.transcribe(pcm, hints))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def result_for(self, pcm: bytes, timeout: float) -> Recognition | None:
        """The recognition of exactly this audio once it is ready (None if nobody recognises it in time)."""
        key = hashlib.blake2b(pcm, digest_size=16).digest()
        deadline = time.monotonic() + timeout
        with self._changed:
            while key not in self._results:
                left = deadline - time.monotonic()
                if left <= 0 or not self._changed.wait(left):
                    return None
            future = self._results[key]
        try:
            return future.result(max(deadline - time.monotonic(), 0.0))
        except Exception:
            return None


class TranscriptTurnCheck:
    """Finished when the early transcript of the audio so far ends a sentence (see `transcript_finished`).
    It costs nothing: the pipeline recognises that very audio anyway to have the words ready."""

    def __init__(self, recognitions: SharedRecognitions, wait_seconds: float = 0.6) -> None:
        self.recognitions = recognitions
        self.wait_seconds = wait_seconds

    def probability(self, pcm: bytes, sample_rate: int) -> float:
        audio = resample(pcm, sample_rate, self.recognitions.sample_rate)
        found = self.recognitions.result_for(audio, self.wait_seconds)
        return 1.0 if found is not None and transcript_finished(found.text) else 0.0


def default_turn_model() -> TurnCompletion | None:
    """Smart Turn if its file is installed and verified, else None (the VAD's fixed pause ends turns)."""
    try:
        return SmartTurnModel()
    except (models.ModelError, ImportError, OSError) as exc:
        log.warning("no turn-completion model (%s): turns end after the VAD's fixed pause", exc)
        return None
