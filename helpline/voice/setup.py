"""Loads the speech models once per server and builds the services every call shares."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from helpline.conversation.wording import DEFAULT_REPLIES
from helpline.runtime import Runtime
from helpline.voice.call import VOICE_REPLIES
from helpline.voice.correction import NearMissCorrector, knowledge_judge
from helpline.voice.end_of_turn import SharedRecognitions
from helpline.voice.pipeline import Processor
from helpline.voice.ports import SpeechRecognizer, SpeechSynthesizer
from helpline.voice.recognition import RecognitionProcessor, default_recognizer
from helpline.voice.synthesis import SynthesisProcessor, default_synthesizer
from helpline.voice.synthesis_cache import AudioCache, CachedSynthesizer, pack_openings
from helpline.voice.transport import VoiceServices
from helpline.voice.vocabulary import Vocabulary

log = logging.getLogger(__name__)
# logged (info) when the background warm-up is over; bench.voice.latency waits for it, as a server up a while has it
OPENINGS_READY_LOG = "voice: reply openings synthesised ahead:"
MAX_HINTS = 60  # Whisper's prompt is short: the business's own words first


def vocabulary(runtime: Runtime) -> list[str]:
    """Words a caller of this business says that a general recogniser may not expect."""
    words: dict[str, None] = {runtime.pack.business.name: None}
    for product in runtime.products:
        words.setdefault(product.name, None)
    for procedure in runtime.pack.procedures.values():
        words.setdefault(procedure.title, None)
    return list(words)[:MAX_HINTS]


@dataclass
class SpeechModels:
    recognizer: SpeechRecognizer
    synthesizer: SpeechSynthesizer
    # the pack's fixed openings, synthesised once per voice and shared by every call (synthesis_cache.py)
    openings: AudioCache = field(default_factory=AudioCache)


# Said first on the most turns: fillers and "sorry?" lines, then knowledge answers, procedures and the rest.
_FIRST_PREPARED = ("voice_filler", "voice_not_caught", "kb_answer", "did_you_mean", "greeting")


def reply_openings(runtime: Runtime) -> list[str]:
    """The first chunk of every reply the pack can say whose opening it fixes, most often said first."""
    pack = runtime.pack
    replies = {**DEFAULT_REPLIES, **VOICE_REPLIES, **pack.replies}
    keys = [*(k for k in _FIRST_PREPARED if k in replies), *(k for k in replies if k not in _FIRST_PREPARED)]
    greeting = [pack.business.persona.greeting] if pack.business.persona.greeting else []
    templates = [*greeting, *(t for key in keys for t in replies[key])]
    persona = {f"persona.{k}": v for k, v in pack.business.persona.model_dump().items() if isinstance(v, str)}
    titles = [*(a.title for a in runtime.knowledge.articles.values()), *(p.title for p in pack.procedures.values())]
    return pack_openings(templates, {"business.name": pack.business.name, **persona}, titles)


def load_speech_models(recognizer: str = "base", voice: str = "piper") -> SpeechModels:
    """The best installed recogniser and voice (Whisper base and piper by default)."""
    return SpeechModels(default_recognizer(recognizer), default_synthesizer(voice))


def build_voice_services(runtime: Runtime, models: SpeechModels, hints: Sequence[str] | None = None,
                         prepare: bool = True) -> VoiceServices:
    """`prepare`: synthesise the pack's fixed openings in the background now (else on first use)."""
    words = list(hints) if hints is not None else vocabulary(runtime)
    corrector = NearMissCorrector(Vocabulary.from_runtime(runtime), judge=knowledge_judge(runtime.knowledge))
    # An end-of-turn check (end_of_turn.py) could read the early recognition's words through this; none is on by
    # default: both checks judged a pause inside a sentence finished (8-9 of 9 in bench.voice.end_of_turn) and, on
    # a call, cut "No, that's all. Goodbye." into three turns, one answered on its own. The VAD's 400 ms pause
    # ends a turn; recognition still starts at the first quiet window, so the words are ready when it does.
    recognizer = SharedRecognitions(models.recognizer)

    def recognition() -> Processor:
        return RecognitionProcessor(recognizer, words, correct=corrector.correct)

    voice = models.synthesizer
    ready = threading.Event()
    if hasattr(voice, "speak_sentence"):
        voice = cached = CachedSynthesizer(voice, models.openings)  # type: ignore[arg-type]
        openings = reply_openings(runtime)
        cached.allow(openings)
        if prepare:
            def prepare_openings() -> None:
                started = time.monotonic()
                try:
                    made = cached.prepare(openings)
                    log.info("%s %d in %.1f s", OPENINGS_READY_LOG, made, time.monotonic() - started)
                finally:
                    ready.set()

            # a daemon: a server stopping mid-way loses nothing but the rest of the warm-up
            threading.Thread(target=prepare_openings, name="voice:prepare-openings", daemon=True).start()
    if not (prepare and isinstance(voice, CachedSynthesizer)):
        ready.set()  # nothing to prepare

    def synthesis() -> Processor:
        return SynthesisProcessor(voice)

    return VoiceServices(conversations=runtime.conversations, pack=runtime.pack, recognition=recognition,
                         synthesis=synthesis, end_of_turn=None, openings_ready=ready, voice=voice)
