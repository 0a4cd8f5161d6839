"""The pack's fixed lines, synthesised once: a reply whose opening is known starts playing at once.

Most of what the agent says on the phone opens with words the pack fixes: "From our Smart Kettle article:",
"One moment while I check that.", "Sure, I can help with that." Synthesising such an opening costs piper
100-250 ms on 2 cores (more under load), and the caller hears nothing until it is done. Production IVRs
record these prompts once; `CachedSynthesizer` does the same. It remembers the audio of sentences by their
exact text and the voice that spoke them (model, speed, pause), so a cached sentence is the very audio the
voice would produce: the cache never changes what is said, only when it is ready.

What it keeps is the pack's own wording, never a caller's details: only sentences registered with `allow`
(the openings `pack_openings` derives from the pack's reply templates, its greeting and the article and
procedure titles) are stored, on first use or ahead of time by `prepare`, which a server runs in the background
at start-up while no call needs the voice. The store is an LRU bounded by bytes.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Protocol

from helpline.voice.speakable import speakable, split_sentences
from helpline.voice.synthesis import first_clause

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 32 * 1024 * 1024  # ~12 minutes of 22 kHz speech: every opening of a large pack, many times over
_PLACEHOLDER = re.compile(r"\{\{|\{%")
_FILLER_TAIL = " Placeholderwords follow here."  # stands for what a template's placeholders become


class SentenceSynthesizer(Protocol):
    """A voice that speaks one sentence at a time (piper and espeak-ng both do)."""

    sample_rate: int

    def speak_sentence(self, text: str) -> bytes: ...


def voice_key(synthesizer: object) -> str:
    """What makes two voices' audio of the same text differ: the synthesizer's own key, else its name and rate."""
    key = getattr(synthesizer, "cache_key", None)
    if isinstance(key, str) and key:
        return key
    return f"{getattr(synthesizer, 'name', type(synthesizer).__name__)}@{getattr(synthesizer, 'sample_rate', 0)}"


def _sentence_key(text: str) -> str:
    return " ".join(text.split())


class AudioCache:
    """Audio by (voice, sentence), least recently used dropped first once over `max_bytes`. Thread-safe.

    It also keeps when the voice it is shared with was last used, by any `CachedSynthesizer` over it: every
    wrapper of one loaded voice shares one cache (`SpeechModels.openings`), so a warm-up keeps away from a voice
    another wrapper (a call, an announcement to a person) is using, and only one warm-up runs at a time."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self._in_use = 0
        self._last_used = float("-inf")
        self.preparing = threading.Lock()  # held by the warm-up running on this voice

    def begin_use(self) -> None:
        with self._lock:
            self._in_use += 1

    def end_use(self) -> None:
        with self._lock:
            self._in_use -= 1
            self._last_used = time.monotonic()

    def busy(self, grace: float) -> bool:
        """The voice is speaking for someone, or did so less than `grace` seconds ago."""
        with self._lock:
            return self._in_use > 0 or time.monotonic() - self._last_used < grace

    def get(self, key: tuple[str, str]) -> bytes | None:
        with self._lock:
            pcm = self._entries.get(key)
            if pcm is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return pcm

    def __contains__(self, key: tuple[str, str]) -> bool:
        with self._lock:
            return key in self._entries

    def put(self, key: tuple[str, str], pcm: bytes) -> None:
        if not pcm or len(pcm) > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self._bytes -= len(old) if old is not None else 0
            self._entries[key] = pcm
            self._bytes += len(pcm)
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


class CachedSynthesizer:
    """A `SpeechSynthesizer` that answers the pack's fixed sentences from an `AudioCache`.

    Everything else goes to the voice underneath, unchanged and unremembered. `busy_grace` is how long after a
    call last used the voice `prepare` keeps away from it, so the warm-up never makes a caller wait for a sentence
    nobody asked for yet (piper runs one sentence at a time per process)."""

    def __init__(self, voice: SentenceSynthesizer, cache: AudioCache | None = None, busy_grace: float = 1.5) -> None:
        self.voice = voice
        self.cache = cache if cache is not None else AudioCache()  # an empty cache is falsy (len 0)
        self.sample_rate = voice.sample_rate
        self.name = str(getattr(voice, "name", type(voice).__name__))
        self.key = voice_key(voice)
        self.busy_grace = busy_grace
        self._allowed: set[str] = set()
        self._allowed_lock = threading.Lock()

    # --- what may be kept

    def allow(self, sentences: Iterable[str]) -> None:
        """Sentences whose audio may be kept (the pack's fixed wording)."""
        with self._allowed_lock:
            self._allowed.update(_sentence_key(s) for s in sentences if s.strip())

    def allowed(self, sentence: str) -> bool:
        with self._allowed_lock:
            return _sentence_key(sentence) in self._allowed

    # --- the port

    def speak_sentence(self, text: str) -> bytes:
        sentence = _sentence_key(text)
        keep = self.allowed(sentence)
        if keep:
            cached = self.cache.get((self.key, sentence))
            if cached is not None:
                return cached
        self.cache.begin_use()
        try:
            pcm = self.voice.speak_sentence(text)
        finally:
            self.cache.end_use()
        if keep:
            self.cache.put((self.key, sentence), pcm)
        return pcm

    def synthesize(self, text: str) -> Iterator[bytes]:
        for sentence in split_sentences(text):
            pcm = self.speak_sentence(sentence)
            if pcm:
                yield pcm

    def close(self) -> None:
        close = getattr(self.voice, "close", None)
        if callable(close):
            close()

    # --- ahead of time

    def _busy(self) -> bool:
        return self.cache.busy(self.busy_grace)

    def prepare(self, sentences: Iterable[str], stop: threading.Event | None = None) -> int:
        """Synthesise the allowed sentences not yet cached, one at a time, each only while no call is using the
        voice; returns how many were made. Stops early when `stop` is set."""
        stop = stop or threading.Event()
        while not self.cache.preparing.acquire(timeout=0.1):  # another warm-up of this voice goes first
            if stop.is_set():
                return 0
        try:
            return self._prepare(sentences, stop)
        finally:
            self.cache.preparing.release()

    def _prepare(self, sentences: Iterable[str], stop: threading.Event) -> int:
        made = 0
        for sentence in sentences:
            key = (self.key, _sentence_key(sentence))
            if not self.allowed(sentence) or key in self.cache:
                continue
            while self._busy():
                if stop.wait(0.1):
                    return made
            if stop.is_set():
                return made
            try:
                pcm = self.voice.speak_sentence(sentence)
            except Exception:
                log.warning("could not prepare %r", sentence[:60], exc_info=True)
                continue
            self.cache.put(key, pcm)
            made += 1
        return made


# --- the pack's openings ---------------------------------------------------------------------------


def first_chunk(spoken: str) -> str:
    """The first piece `SynthesisProcessor` synthesises of a line already made speakable."""
    head, tail = first_clause(spoken)
    sentences = split_sentences(head or tail)
    return sentences[0] if sentences else ""


def fixed_opening(template: str, names: dict[str, str]) -> str | None:
    """The first chunk of every line made from `template`, when the template fixes it (None when a placeholder
    comes first, so it depends on the conversation). `names` are values known in advance ("business.name")."""
    source = template
    for name, value in names.items():
        source = re.sub(r"\{\{\s*" + re.escape(name) + r"\s*\}\}", value.replace("\\", "\\\\"), source)
    found = _PLACEHOLDER.search(source)
    if found is None:
        return first_chunk(speakable(source)) or None
    prefix = speakable(source[: found.start()])
    if not prefix.strip():
        return None
    chunk = first_chunk(prefix + _FILLER_TAIL)
    # kept only when it lies wholly in the fixed part: the placeholder's words are never guessed
    inside = chunk and _FILLER_TAIL.split()[0] not in chunk.split() and _sentence_key(prefix).startswith(
        _sentence_key(chunk))
    return chunk if inside else None


def pack_openings(templates: Iterable[str], fixed: dict[str, str], titles: Iterable[str]) -> list[str]:
    """The opening chunk of each reply template, once for every title when it names `{{ title }}`; in order."""
    title_list = list(dict.fromkeys(titles))
    found: dict[str, None] = {}
    for template in templates:
        if re.search(r"\{\{\s*title\s*\}\}", template):
            variants = [{**fixed, "title": title} for title in title_list]
        else:
            variants = [fixed]
        for names in variants:
            opening = fixed_opening(template, names)
            if opening:
                found.setdefault(opening, None)
    return list(found)
