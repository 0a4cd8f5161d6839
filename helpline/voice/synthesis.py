"""Speech synthesis, offline: piper (the joe voice) in its own process, espeak-ng as the fallback.

**Licence boundary.** piper-tts is GPL-3 and Helpline is Apache-2.0, so Helpline never imports `piper`:
`PiperSynthesizer` runs piper's own, unmodified command line (`python -m piper`) as a separate,
long-lived process and talks to it only through a pipe and files (see docs/licensing.md).

**Why the output-directory mode.** piper's CLI reads one line of text at a time from stdin. With
`--output-raw` it streams PCM with nothing marking where one line's audio ends, so a reader cannot tell
"this sentence is done" from "piper is still working". With `--output-dir` it writes each line to its
own WAV file and logs "Wrote <path>" when the file is closed: a clean end-of-sentence signal, and the
voice model stays loaded between sentences (loading it costs ~1 s; a sentence ~0.2-0.5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import logging
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

from helpline.voice import models
from helpline.voice.audio import trim_leading_silence
from helpline.voice.control import CallMetrics
from helpline.voice.frames import AgentSpeech, AudioOut, CallEnded, Direction, Frame, Interruption, UtteranceDone
from helpline.voice.pipeline import Processor
from helpline.voice.ports import SpeechSynthesizer
from helpline.voice.speakable import speakable, split_sentences

log = logging.getLogger(__name__)

_SPEAKABLE_LINE = re.compile(r"[A-Za-z0-9]")  # piper crashes on a line with nothing to pronounce
_WROTE = re.compile(r"Wrote (.+\.wav)\s*$")


def _wav_pcm(data: bytes) -> tuple[bytes, int]:
    with wave.open(io.BytesIO(data)) as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError("expected 16-bit mono audio")
        return wav.readframes(wav.getnframes()), wav.getframerate()


def _silence(seconds: float, rate: int) -> bytes:
    return b"\x00\x00" * int(seconds * rate)


# --- piper, across a process boundary ------------------------------------------------------------


def piper_command() -> list[str] | None:
    """How to start piper's CLI, or None if piper-tts is not installed (found without importing it)."""
    if importlib.util.find_spec("piper") is not None:
        return [sys.executable, "-m", "piper"]
    found = shutil.which("piper")
    return [found] if found else None


class _PiperProcess:
    """One `python -m piper` process: lines in on stdin, one WAV file out per line."""

    def __init__(self, command: list[str], voice: models.PiperVoiceFiles, workdir: Path,
                 options: list[str], startup_timeout: float) -> None:
        self.outdir = Path(tempfile.mkdtemp(prefix="piper-", dir=workdir))
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        self.process = subprocess.Popen(
            [*command, "-m", str(voice.model), "-c", str(voice.config), "--output-dir", str(self.outdir), *options],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
            text=True, encoding="utf-8", bufsize=1,
        )
        self.written: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_log, name=f"piper-log-{self.process.pid}", daemon=True)
        self._reader.start()
        self.startup_timeout = startup_timeout
        self.lines = 0

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            match = _WROTE.search(line)
            if match:
                self.written.put(match.group(1))
            elif line.strip():
                log.debug("piper: %s", line.rstrip())
        self.written.put(None)  # piper exited

    def speak(self, text: str, timeout: float) -> tuple[bytes, int]:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        # the first line also waits for piper to load its voice
        wait = timeout + (self.startup_timeout if self.lines == 0 else 0.0)
        self.lines += 1
        path = self.written.get(timeout=wait)
        if path is None:
            raise RuntimeError(f"piper exited with code {self.process.poll()}")
        file = Path(path) if Path(path).is_absolute() else self.outdir / Path(path).name
        try:
            return _wav_pcm(file.read_bytes())
        finally:
            file.unlink(missing_ok=True)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin:
                self.process.stdin.close()  # piper ends when its input ends
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)
        shutil.rmtree(self.outdir, ignore_errors=True)


def _shut_down(workers: list[_PiperProcess], workdir: Path) -> None:
    for worker in workers:
        worker.close()
    workers.clear()
    shutil.rmtree(workdir, ignore_errors=True)


class PiperSynthesizer:
    """The piper voice en_US-joe-medium (22.05 kHz), in `processes` long-lived piper processes shared by
    every call. Each sentence takes whichever process is free, so calls interleave sentence by sentence."""

    name = "piper"

    def __init__(
        self,
        voice: models.PiperVoiceFiles | None = None,
        *,
        processes: int = 1,
        length_scale: float | None = None,
        pause_seconds: float = 0.15,
        sentence_timeout: float = 30.0,
        startup_timeout: float = 60.0,
        command: list[str] | None = None,
    ) -> None:
        command = command or piper_command()
        if command is None:
            raise models.ModelError("piper-tts is not installed; install the voice extra "
                                    "(.venv/bin/pip install 'helpline[voice]')")
        self.voice = voice or models.piper_voice()
        self.sample_rate = self.voice.sample_rate
        self.pause_seconds = pause_seconds
        self.sentence_timeout = sentence_timeout
        self._command = command
        self._options = ["--length-scale", str(length_scale)] if length_scale else []
        self._startup_timeout = startup_timeout
        self._workdir = Path(tempfile.mkdtemp(prefix="helpline-tts-", dir="/dev/shm" if os.path.isdir("/dev/shm")
                                              else None))
        self._idle: queue.Queue[_PiperProcess] = queue.Queue()
        self._all: list[_PiperProcess] = []
        self._lock = threading.Lock()
        self._closed = False
        # a synthesizer dropped without close() (a test, a crash in set-up) still ends its processes
        self._finalizer = weakref.finalize(self, _shut_down, self._all, self._workdir)
        for _ in range(processes):
            self._idle.put(self._spawn())
        self.lines_sent = 0  # sentences handed to piper (tests check the synthesis is lazy)

    def _spawn(self) -> _PiperProcess:
        worker = _PiperProcess(self._command, self.voice, self._workdir, self._options, self._startup_timeout)
        with self._lock:
            self._all.append(worker)
        return worker

    def warm_up(self) -> float:
        """Load the voice in every process now rather than on a caller's first sentence; returns seconds."""
        started = time.perf_counter()
        workers = [self._idle.get() for _ in range(len(self._all))]
        try:
            for worker in workers:
                worker.speak("Hello.", self.sentence_timeout)
        finally:
            for worker in workers:
                self._idle.put(worker)
        return time.perf_counter() - started

    @property
    def cache_key(self) -> str:
        """What decides the audio of a sentence: the voice model, its options (speed) and the pause after it."""
        return f"piper:{self.voice.model.name}:{' '.join(self._options)}:{self.pause_seconds}"

    def speak_sentence(self, text: str) -> bytes:
        line = " ".join(text.split())
        if not _SPEAKABLE_LINE.search(line) or self._closed:
            return b""
        try:
            worker = self._idle.get(timeout=self.sentence_timeout * 4)
        except queue.Empty as exc:
            raise RuntimeError("every piper process stayed busy") from exc
        try:
            self.lines_sent += 1
            pcm, rate = worker.speak(line, self.sentence_timeout)
            if rate != self.sample_rate:
                raise RuntimeError(f"piper spoke at {rate} Hz, expected {self.sample_rate}")
            return pcm + _silence(self.pause_seconds, self.sample_rate)
        except (queue.Empty, RuntimeError, OSError, ValueError, EOFError, wave.Error) as exc:
            # a stuck or dead piper is replaced, and the call goes on without this sentence
            log.warning("piper failed on %r: %s; restarting it", line[:60], exc)
            with self._lock:
                if worker in self._all:
                    self._all.remove(worker)
            worker.process.kill()
            worker.close()
            if not self._closed:  # a sentence still in flight as the server shuts down must not start a new piper
                worker = self._spawn()
            return b""
        finally:
            if not self._closed:
                self._idle.put(worker)

    def synthesize(self, text: str) -> Iterator[bytes]:
        for sentence in split_sentences(text):
            pcm = self.speak_sentence(sentence)
            if pcm:
                yield pcm

    def close(self) -> None:
        self._closed = True
        with self._lock:
            self._finalizer()

    def __enter__(self) -> PiperSynthesizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- espeak-ng ------------------------------------------------------------------------------------


class EspeakSynthesizer:
    """espeak-ng (apt) run once per sentence: robotic but tiny, instant and always there."""

    name = "espeak-ng"
    sample_rate = 22050

    def __init__(self, voice: str = "en-us", speed: int = 165, pitch: int | None = None,
                 pause_seconds: float = 0.1, timeout: float = 20.0, executable: str | None = None) -> None:
        found = executable or shutil.which("espeak-ng")
        if found is None:
            raise models.ModelError("espeak-ng is not installed (apt-get install espeak-ng)")
        self.executable = found
        self.voice, self.speed, self.pitch = voice, speed, pitch
        self.pause_seconds = pause_seconds
        self.timeout = timeout
        self.lines_sent = 0

    @property
    def cache_key(self) -> str:
        return f"espeak-ng:{self.voice}:{self.speed}:{self.pitch}:{self.pause_seconds}"

    def speak_sentence(self, text: str) -> bytes:
        line = " ".join(text.split())
        if not _SPEAKABLE_LINE.search(line):
            return b""
        command = [self.executable, "--stdout", "-v", self.voice, "-s", str(self.speed)]
        if self.pitch is not None:
            command += ["-p", str(self.pitch)]
        self.lines_sent += 1
        # "--" so a sentence starting with "-" is never read as an option
        done = subprocess.run([*command, "--", line], capture_output=True, timeout=self.timeout, check=True)
        pcm, rate = _wav_pcm(done.stdout)
        if rate != self.sample_rate:
            from helpline.voice.audio import resample

            pcm = resample(pcm, rate, self.sample_rate)
        return pcm + _silence(self.pause_seconds, self.sample_rate)

    def synthesize(self, text: str) -> Iterator[bytes]:
        for sentence in split_sentences(text):
            pcm = self.speak_sentence(sentence)
            if pcm:
                yield pcm


def default_synthesizer(prefer: str = "piper", processes: int = 1) -> SpeechSynthesizer:
    """piper with the joe voice if installed and verified, else espeak-ng."""
    if prefer == "piper":
        try:
            return PiperSynthesizer(processes=processes)
        except models.ModelError as exc:
            log.warning("piper unavailable (%s); speaking with espeak-ng", exc)
    return EspeakSynthesizer()


# --- the pipeline stage ---------------------------------------------------------------------------

_CLAUSE_END = re.compile(r"[,;:](?=\s)")
FIRST_CLAUSE_MIN_WORDS = 3  # "Sure," alone is too short to be worth its own chunk (and sounds clipped)


def first_clause(text: str) -> tuple[str, str]:
    """The reply's opening clause and the rest: the first chunk synthesised is as short as a clause, so the
    caller hears the agent start while the rest is still being synthesised ("From our Smart Kettle article:"
    then "Yes. The kettle connects to ..."). ("", text) when the first sentence has no clause to cut."""
    first_sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    for match in _CLAUSE_END.finditer(first_sentence):
        head, tail = text[: match.end()].strip(), text[match.end():].strip()
        if len(head.split()) >= FIRST_CLAUSE_MIN_WORDS and len(tail.split()) >= 2:
            return head, tail
    return "", text


def _clauses(synthesizer: SpeechSynthesizer, text: str) -> Iterator[bytes]:
    head, tail = first_clause(text)
    if head:
        yield from synthesizer.synthesize(head)
    yield from synthesizer.synthesize(tail)



class SynthesisProcessor(Processor):
    """AgentSpeech → AudioOut chunks (one a sentence, pushed as each is ready) → UtteranceDone.

    An Interruption (or the call ending) bumps a generation counter: the utterance in hand stops at the
    next sentence boundary, its remaining sentences are never synthesised, the sentence being
    synthesised at that moment is dropped, and no UtteranceDone follows for it.
    """

    def __init__(self, synthesizer: SpeechSynthesizer, to_speech: Callable[[str], str] = speakable,
                 name: str | None = None) -> None:
        super().__init__(name)
        self.synthesizer = synthesizer
        self._to_speech = to_speech
        self._generation = 0
        self.first_audio_seconds: list[float] = []  # AgentSpeech in → first AudioOut out, per utterance
        self.metrics: CallMetrics | None = None  # run_call sets it: the turn's stage times

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, Interruption | CallEnded):
            self._generation += 1
            await self.push(frame, direction)
            return
        if direction is Direction.DOWNSTREAM and isinstance(frame, AgentSpeech):
            await self._speak(frame)
            return
        await self.push(frame, direction)

    async def _speak(self, frame: AgentSpeech) -> None:
        generation = self._generation
        started = time.perf_counter()
        turn = self.metrics.turn if self.metrics is not None else None
        if turn is not None and turn.transcript is not None and turn.reply is None:
            turn.reply, turn.filler = time.monotonic(), frame.filler
        else:
            turn = None  # not the first line of an answer
        chunks = _clauses(self.synthesizer, self._to_speech(frame.text))
        first = True
        try:
            while True:
                chunk = await asyncio.to_thread(next, chunks, None)
                if generation != self._generation:
                    return
                if chunk is None:
                    break
                if first:
                    # the voice's quiet lead-in would only delay the caller hearing the reply
                    chunk = trim_leading_silence(chunk, self.synthesizer.sample_rate)
                    self.first_audio_seconds.append(time.perf_counter() - started)
                    if turn is not None:
                        turn.first_chunk = time.monotonic()
                    first = False
                await self.push(AudioOut(chunk, self.synthesizer.sample_rate, frame.utterance))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                # After a cancellation the worker thread may still be inside the generator: it then ends
                # with its current sentence and is collected; closing it now would raise.
                with contextlib.suppress(ValueError):
                    await asyncio.to_thread(close)
        await self.push(UtteranceDone(frame.utterance))
