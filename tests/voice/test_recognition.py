import asyncio
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from helpline.understanding.entities import EntityExtractor
from helpline.voice.audio import silence
from helpline.voice.correction import Correction
from helpline.voice.frames import (
    Frame,
    KeypadDigit,
    Transcript,
    UserStoppedSpeaking,
    UtteranceMayHaveEnded,
)
from helpline.voice.pipeline import Pipeline
from helpline.voice.ports import Recognition
from helpline.voice.recognition import RecognitionProcessor, hints_prompt, whisper_confidence
from helpline.voice.speakable import speakable
from helpline.voice.spoken import normalize_spoken
from tests.voice.fakes import Collect
from tests.voice.speech_models import HINTS, PHONE_RATE, caller, sphinx, whisper, wideband


def test_whisper_base_understands_a_caller_on_the_phone() -> None:
    result = whisper().recognize(wideband(caller("I want to return order number four five six")), HINTS)
    text = normalize_spoken(result.text).lower()
    assert "return" in text and "order" in text and "456" in text, result
    assert result.confidence > 0.5, result
    assert result.seconds < 10


def test_silence_and_noise_give_no_words() -> None:
    quiet = whisper().recognize(wideband(silence(2000, PHONE_RATE)), HINTS)
    assert quiet.text == "" and quiet.confidence == 0.0
    rng = np.random.default_rng(7)
    hiss = (rng.standard_normal(2 * 16000) * 3000).astype("<i2").tobytes()
    noisy = whisper().recognize(hiss, HINTS)
    assert noisy.text == "" or noisy.confidence < 0.3, noisy
    hum = (np.sin(np.arange(32000) * 2 * np.pi * 120 / 16000) * 4000).astype("<i2").tobytes()
    assert whisper().recognize(hum, HINTS).text == ""


def test_confidence_rules() -> None:
    assert whisper_confidence(-0.1, 0.02, 1.0) > 0.85
    assert whisper_confidence(-1.5, 0.5, 1.0) < 0.15
    assert whisper_confidence(-0.1, 0.02, 3.0) < whisper_confidence(-0.1, 0.02, 1.0) / 3  # a repetition loop
    assert whisper_confidence(-0.1, 0.02, 1.0, echoes_prompt=True) < 0.5
    assert hints_prompt(["Espresso One", "espresso one", " Travel  Mug "]) == "Espresso One, Travel Mug."
    assert hints_prompt([]) == ""


def test_pocketsphinx_is_a_light_fallback() -> None:
    recognizer = sphinx()
    heard = recognizer.transcribe(wideband(caller("I want to return my order")))
    assert heard.confidence > 0 and ("order" in heard.text or heard.text == "")
    assert recognizer.transcribe(wideband(silence(1000, PHONE_RATE))).text == ""


def test_the_processor_turns_an_utterance_into_a_normalised_transcript() -> None:
    async def scenario() -> list[Frame]:
        sink = Collect()
        pipeline = Pipeline([RecognitionProcessor(whisper(), hints=lambda: HINTS), sink])
        await pipeline.start()
        ended = time.monotonic()
        await pipeline.send(KeypadDigit("5"))
        await pipeline.send(UserStoppedSpeaking(caller("I want to return order number four five six"), PHONE_RATE,
                                                ended_at=ended))
        await pipeline.send(UserStoppedSpeaking(silence(500, PHONE_RATE), PHONE_RATE, ended_at=ended))
        for _ in range(600):
            if len(sink.seen) == 3:
                break
            await asyncio.sleep(0.05)
        await pipeline.stop()
        return sink.seen

    seen = asyncio.run(scenario())
    assert seen[0] == KeypadDigit("5")
    spoken, quiet = seen[1], seen[2]
    assert isinstance(spoken, Transcript) and isinstance(quiet, Transcript)
    assert "456" in spoken.text and "return" in spoken.text, spoken
    assert spoken.ended_at > 0 and spoken.source == "speech"
    assert quiet.text == "" and quiet.confidence == 0.0


def test_an_order_id_survives_the_round_trip() -> None:
    """What the agent would read out (speakable), said by a caller, heard over the phone, normalised,
    then found by the engine's entity extractor."""
    said = speakable("My order is BB-12345.")
    assert "one two three four five" in said
    heard = whisper().transcribe(wideband(caller(said)), HINTS)
    extractor = EntityExtractor({"order_id": r"(?i)\bBB[- ]?\d{5}\b"})
    found = {(e.type, e.value) for e in extractor.extract(normalize_spoken(heard.text))}
    assert ("order_id", "BB-12345") in found, heard


def test_the_default_recogniser_is_the_shared_whisper_base() -> None:
    from helpline.voice.recognition import default_recognizer

    assert default_recognizer() is whisper()


class CountingRecognizer:
    """The real Whisper, counting how often it is asked."""

    def __init__(self) -> None:
        self.inner = whisper()
        self.sample_rate = self.inner.sample_rate
        self.heard: list[int] = []

    def transcribe(self, pcm: bytes, hints: Sequence[str] = ()) -> Recognition:
        self.heard.append(len(pcm))
        return self.inner.transcribe(pcm, hints)


def test_an_early_guess_confirmed_by_the_end_of_speech_is_transcribed_once() -> None:
    speech = caller("I want to return order number four five six")

    async def scenario(confirm: bool) -> tuple[list[Frame], list[int]]:
        counting = CountingRecognizer()
        sink = Collect()
        pipeline = Pipeline([RecognitionProcessor(counting, hints=HINTS), sink])
        await pipeline.start()
        await pipeline.send(UtteranceMayHaveEnded(speech, PHONE_RATE, guess=1))
        final = speech + silence(300, PHONE_RATE)  # the rest of the pause, as the end of speech carries
        await pipeline.send(UserStoppedSpeaking(final, PHONE_RATE, guess=1 if confirm else None))
        for _ in range(600):
            if any(isinstance(f, Transcript) for f in sink.seen):
                break
            await asyncio.sleep(0.05)
        await pipeline.stop()
        return sink.seen, counting.heard

    seen, heard = asyncio.run(scenario(confirm=True))
    said = [f for f in seen if isinstance(f, Transcript)]
    assert len(heard) == 1 and len(said) == 1 and "return" in said[0].text
    seen, heard = asyncio.run(scenario(confirm=False))  # the caller spoke again after the guess
    said = [f for f in seen if isinstance(f, Transcript)]
    assert len(heard) == 2 and heard[1] > heard[0] and "return" in said[0].text


class FixedRecognizer:
    """Always hears the same words (no model): what the stage does with them is under test."""

    sample_rate = 16000

    def __init__(self, text: str) -> None:
        self.text = text

    def transcribe(self, pcm: bytes, hints: Sequence[str] = ()) -> Recognition:
        return Recognition(self.text, 0.9)


def test_the_transcript_carries_the_near_miss_verdict_and_what_was_heard() -> None:
    from helpline.voice.correction import Correction
    from helpline.voice.recognition import HeardTranscript

    def correct(text: str) -> Correction:
        return Correction(text, text.replace("means", "beans"), sure=True)

    async def scenario() -> list[Frame]:
        sink = Collect()
        pipeline = Pipeline([RecognitionProcessor(FixedRecognizer("Can I get my means pre-ground?"), correct=correct),
                             sink])
        await pipeline.start()
        await pipeline.send(UserStoppedSpeaking(b"\x00\x10" * 1600, PHONE_RATE))
        await pipeline.idle()
        await pipeline.stop()
        return sink.seen

    seen = asyncio.run(scenario())
    assert len(seen) == 1 and isinstance(seen[0], HeardTranscript)
    assert seen[0].text == "Can I get my means pre-ground?"  # what was heard travels on
    assert seen[0].correction is not None and seen[0].correction.text == "Can I get my beans pre-ground?"


def test_the_early_guess_s_words_go_ahead_to_the_agent_before_the_turn_ends() -> None:
    from helpline.voice.control import EarlyWords

    async def scenario() -> tuple[list[Frame], list[Frame]]:
        sink = Collect()
        pipeline = Pipeline([RecognitionProcessor(FixedRecognizer("do you have decaf"), normalize=str), sink])
        await pipeline.start()
        speech = silence(1000, PHONE_RATE)
        await pipeline.send(UtteranceMayHaveEnded(speech, PHONE_RATE, guess=1))
        for _ in range(200):
            if sink.seen:
                break
            await asyncio.sleep(0.01)
        before_end = list(sink.seen)
        await pipeline.send(UserStoppedSpeaking(speech, PHONE_RATE, guess=1))
        for _ in range(200):
            if any(isinstance(f, Transcript) for f in sink.seen):
                break
            await asyncio.sleep(0.01)
        await pipeline.stop()
        return before_end, sink.seen

    before_end, seen = asyncio.run(scenario())
    assert before_end == [EarlyWords("do you have decaf", guess=1)]  # words only, no turn yet
    assert [f.text for f in seen if isinstance(f, Transcript)] == ["do you have decaf"]


def test_while_the_agent_waits_for_an_id_a_lone_spelling_alphabet_word_is_a_letter() -> None:
    from helpline.voice.control import SpellingExpected

    recognizer = FixedRecognizer("Charlie twelve thirty four")

    async def scenario() -> list[str]:
        sink = Collect()
        pipeline = Pipeline([RecognitionProcessor(recognizer), sink])
        await pipeline.start()
        speech = silence(300, PHONE_RATE)
        await pipeline.send(UserStoppedSpeaking(speech, PHONE_RATE))  # nothing awaited: a name and a number
        await pipeline.idle()
        await pipeline.send_upstream(SpellingExpected(True))  # the call agent asked for an id
        await pipeline.send(UserStoppedSpeaking(speech, PHONE_RATE))
        await pipeline.idle()
        recognizer.text = "the one kilo bag"
        await pipeline.send_upstream(SpellingExpected(False))  # ... and has it
        await pipeline.send(UserStoppedSpeaking(speech, PHONE_RATE))
        await pipeline.idle()
        await pipeline.stop()
        return [f.text for f in sink.seen if isinstance(f, Transcript)]

    assert asyncio.run(scenario()) == ["Charlie 1234", "C1234", "the one kilo bag"]


class HeldRecognizer:
    """Hears the words given for the audio's length in whole seconds, but only once the test lets it finish
    (`release`): the caller's next pause or the end of the turn can then arrive while a recognition still runs."""

    sample_rate = 16000

    def __init__(self, *texts: str) -> None:
        self.texts = texts  # the words of 1 s of audio, of 2 s, ...
        self.release = threading.Event()

    def transcribe(self, pcm: bytes, hints: Sequence[str] = ()) -> Recognition:
        self.release.wait(5)
        return Recognition(self.texts[round(len(pcm) / 2 / self.sample_rate) - 1], 0.9)


def _checking_vocabulary(checked: list[str]) -> Callable[[str], Correction]:
    def correct(text: str) -> Correction:
        checked.append(text)
        return Correction(text, text)

    return correct


async def _until_transcript(sink: Collect) -> None:
    for _ in range(300):
        if any(isinstance(f, Transcript) for f in sink.seen):
            return
        await asyncio.sleep(0.01)


def test_a_guess_the_caller_talked_through_skips_the_vocabulary_check() -> None:
    """The check costs a long turn tens to hundreds of ms of Python: not for words that will be thrown away."""
    checked: list[str] = []

    async def scenario() -> list[Frame]:
        held = HeldRecognizer("my kettle", "my kettle will not boil")
        sink = Collect()
        stage = RecognitionProcessor(held, correct=_checking_vocabulary(checked), normalize=str)
        pipeline = Pipeline([stage, sink])
        await pipeline.start()
        speech = silence(1000, PHONE_RATE)
        await pipeline.send(UtteranceMayHaveEnded(speech, PHONE_RATE, guess=1))  # a pause after "my kettle"
        await pipeline.send(UtteranceMayHaveEnded(speech + speech, PHONE_RATE, guess=2))  # ... and the caller went on
        held.release.set()
        await pipeline.send(UserStoppedSpeaking(speech + speech, PHONE_RATE, guess=2))
        await _until_transcript(sink)
        await pipeline.stop()
        return sink.seen

    seen = asyncio.run(scenario())
    assert checked == ["my kettle will not boil"]
    assert [f.text for f in seen if isinstance(f, Transcript)] == ["my kettle will not boil"]


def test_the_guess_that_ends_the_turn_is_checked_even_if_the_turn_ends_before_its_words() -> None:
    """The end of the turn takes its guess out of the stage before awaiting it: that guess is not superseded."""
    from helpline.voice.recognition import HeardTranscript

    checked: list[str] = []

    async def scenario() -> list[Frame]:
        held = HeldRecognizer("do you have decaf")
        sink = Collect()
        pipeline = Pipeline([RecognitionProcessor(held, correct=_checking_vocabulary(checked), normalize=str), sink])
        await pipeline.start()
        speech = silence(1000, PHONE_RATE)
        await pipeline.send(UtteranceMayHaveEnded(speech, PHONE_RATE, guess=1))
        ended = asyncio.create_task(pipeline.send(UserStoppedSpeaking(speech, PHONE_RATE, guess=1)))
        await asyncio.sleep(0.05)
        held.release.set()
        await ended
        await _until_transcript(sink)
        await pipeline.stop()
        return sink.seen

    seen = asyncio.run(scenario())
    assert checked == ["do you have decaf"]
    said = [f for f in seen if isinstance(f, Transcript)]
    assert len(said) == 1 and isinstance(said[0], HeardTranscript) and said[0].correction is not None
