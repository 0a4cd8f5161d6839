"""Loads the speech models once per server and builds the services every call shares."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from helpline.runtime import Runtime
from helpline.voice.correction import NearMissCorrector, knowledge_judge
from helpline.voice.end_of_turn import SharedRecognitions
from helpline.voice.pipeline import Processor
from helpline.voice.ports import SpeechRecognizer, SpeechSynthesizer
from helpline.voice.recognition import RecognitionProcessor, default_recognizer
from helpline.voice.synthesis import SynthesisProcessor, default_synthesizer
from helpline.voice.transport import VoiceServices
from helpline.voice.vocabulary import Vocabulary

log = logging.getLogger(__name__)
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


def load_speech_models(recognizer: str = "base", voice: str = "piper") -> SpeechModels:
    """The best installed recogniser and voice (Whisper base and piper by default)."""
    return SpeechModels(default_recognizer(recognizer), default_synthesizer(voice))


def build_voice_services(runtime: Runtime, models: SpeechModels, hints: Sequence[str] | None = None) -> VoiceServices:
    words = list(hints) if hints is not None else vocabulary(runtime)
    corrector = NearMissCorrector(Vocabulary.from_runtime(runtime), judge=knowledge_judge(runtime.knowledge))
    # An end-of-turn check (end_of_turn.py) could read the early recognition's words through this; none is on by
    # default: both checks judged a pause inside a sentence finished (8-9 of 9 in bench.voice.end_of_turn) and, on
    # a call, cut "No, that's all. Goodbye." into three turns, one answered on its own. The VAD's 400 ms pause
    # ends a turn; recognition still starts at the first quiet window, so the words are ready when it does.
    recognizer = SharedRecognitions(models.recognizer)

    def recognition() -> Processor:
        return RecognitionProcessor(recognizer, words, correct=corrector.correct)

    def synthesis() -> Processor:
        return SynthesisProcessor(models.synthesizer)

    return VoiceServices(conversations=runtime.conversations, pack=runtime.pack, recognition=recognition,
                         synthesis=synthesis, end_of_turn=None)
