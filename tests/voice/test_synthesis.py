import asyncio
import sys

from helpline.voice.audio import rms
from helpline.voice.frames import (
    AgentSpeech,
    AudioOut,
    CallStarted,
    Direction,
    Frame,
    Interruption,
    UtteranceDone,
)
from helpline.voice.pipeline import Pipeline, Processor
from helpline.voice.synthesis import EspeakSynthesizer, PiperSynthesizer, SynthesisProcessor, default_synthesizer
from tests.voice.speech_models import espeak, piper

THREE_SENTENCES = "Thanks for calling Brightbean Coffee. Your order has shipped. Is there anything else?"


def test_piper_speaks_at_its_rate_in_a_separate_process() -> None:
    synthesizer = piper()
    chunks = list(synthesizer.synthesize("Your refund is on its way."))
    assert len(chunks) == 1 and synthesizer.sample_rate == 22050
    seconds = len(chunks[0]) / 2 / synthesizer.sample_rate
    assert 1.0 < seconds < 5.0
    assert rms(chunks[0]) > 500
    assert "piper" not in sys.modules  # GPL-3: never imported into Helpline (docs/licensing.md)


def test_piper_streams_sentence_by_sentence() -> None:
    synthesizer = piper()
    before = synthesizer.lines_sent
    stream = synthesizer.synthesize(THREE_SENTENCES)
    first = next(stream)
    # the first sentence's audio is in hand while the later sentences have not even been asked for
    assert synthesizer.lines_sent - before == 1 and rms(first) > 500
    rest = list(stream)
    assert len(rest) == 2 and synthesizer.lines_sent - before == 3


def test_piper_survives_a_dead_process_and_unspeakable_lines() -> None:
    synthesizer = PiperSynthesizer()
    try:
        assert synthesizer.speak_sentence("...") == b""  # piper itself would crash on this line
        synthesizer._all[0].process.kill()
        synthesizer._all[0].process.wait(timeout=10)
        assert synthesizer.speak_sentence("Hello there.") == b""  # the sentence is lost, the call goes on
        assert rms(synthesizer.speak_sentence("Hello again.")) > 500
    finally:
        workers, folder = list(synthesizer._all), synthesizer._workdir
        synthesizer.close()
    assert workers and all(not worker.alive for worker in workers)
    assert not folder.exists()


def test_a_forgotten_synthesizer_still_ends_its_process() -> None:
    import gc

    synthesizer = PiperSynthesizer()
    process, folder = synthesizer._all[0].process, synthesizer._workdir
    del synthesizer
    gc.collect()
    assert process.wait(timeout=10) is not None and not folder.exists()


def test_espeak_is_the_fallback_voice() -> None:
    synthesizer = espeak()
    chunks = list(synthesizer.synthesize("-1 is a number. So is two."))
    assert len(chunks) == 2 and all(rms(c) > 300 for c in chunks)
    assert EspeakSynthesizer(voice="en-gb+f2").speak_sentence("?!") == b""


def test_the_default_voice_is_piper() -> None:
    synthesizer = default_synthesizer()
    try:
        assert isinstance(synthesizer, PiperSynthesizer)
    finally:
        synthesizer.close()  # type: ignore[attr-defined]


class Arrivals(Processor):
    """Records frames as they arrive (system frames overtake queues, so the order seen here is the truth)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Frame] = []

    async def receive(self, frame: Frame, direction: Direction) -> None:
        self.seen.append(frame)


async def _wait_for(condition: object, seconds: float = 60.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.02)


def test_the_processor_streams_audio_then_says_the_utterance_is_done() -> None:
    async def scenario() -> list[Frame]:
        sink = Arrivals()
        pipeline = Pipeline([SynthesisProcessor(espeak()), sink])
        await pipeline.start()
        await pipeline.send(CallStarted("call-1"))
        await pipeline.send(AgentSpeech("Your refund of $12.50 is on its way. Anything else?", utterance=7))
        await _wait_for(lambda: any(isinstance(f, UtteranceDone) for f in sink.seen))
        await pipeline.stop()
        return sink.seen

    seen = asyncio.run(scenario())
    assert seen[0] == CallStarted("call-1")
    audio = [f for f in seen if isinstance(f, AudioOut)]
    assert len(audio) == 2 and all(a.sample_rate == 22050 and a.utterance == 7 for a in audio)
    assert seen[-1] == UtteranceDone(7)


def test_an_interruption_stops_the_audio_at_once() -> None:
    sentences = " ".join(f"This is sentence number {n} of a long answer." for n in range(1, 9))

    async def scenario() -> tuple[list[Frame], int, int]:
        synthesizer = piper()
        before = synthesizer.lines_sent
        processor = SynthesisProcessor(synthesizer)
        sink = Arrivals()
        pipeline = Pipeline([processor, sink])
        await pipeline.start()
        await pipeline.send(AgentSpeech(sentences, utterance=1))
        await _wait_for(lambda: any(isinstance(f, AudioOut) for f in sink.seen))
        await pipeline.send(Interruption())
        await asyncio.sleep(1.5)  # longer than a sentence takes: any audio still coming would be here by now
        await pipeline.send(AgentSpeech("Sorry, go ahead.", utterance=2))
        await _wait_for(lambda: UtteranceDone(2) in sink.seen)
        await pipeline.stop()
        return sink.seen, synthesizer.lines_sent - before, len(processor.first_audio_seconds)

    seen, lines, first_audio = asyncio.run(scenario())
    cut = seen.index(Interruption())
    after = seen[cut + 1:]
    assert not [f for f in after if isinstance(f, AudioOut) and f.utterance == 1]
    assert UtteranceDone(1) not in seen
    assert lines < 8  # the rest of the long answer was never synthesised
    assert [f for f in after if isinstance(f, AudioOut) and f.utterance == 2] and after[-1] == UtteranceDone(2)
    assert first_audio == 2


class Sentences:
    """A synthesizer that records what it was asked to say, in the chunks it was asked."""

    name = "sentences"
    sample_rate = 8000

    def __init__(self) -> None:
        self.asked: list[str] = []

    def synthesize(self, text: str):  # type: ignore[no-untyped-def]
        self.asked.append(text)
        yield b"\x10\x00" * 80


def test_the_first_chunk_is_the_replys_opening_clause() -> None:
    async def scenario() -> tuple[Sentences, list[Frame]]:
        synthesizer = Sentences()
        sink = Arrivals()
        pipeline = Pipeline([SynthesisProcessor(synthesizer), sink])  # type: ignore[arg-type]
        await pipeline.start()
        await pipeline.send(AgentSpeech("From our Smart Kettle article: Yes, it connects over Wi-Fi. Anything else?",
                                        utterance=3))
        await pipeline.send(AgentSpeech("Sure, go ahead.", utterance=4))
        await _wait_for(lambda: UtteranceDone(4) in sink.seen)
        await pipeline.stop()
        return synthesizer, sink.seen

    synthesizer, seen = asyncio.run(scenario())
    # the caller hears "From our Smart Kettle article:" while the answer itself is synthesised; a one-word
    # opening ("Sure,") is not cut off on its own
    assert synthesizer.asked == ["From our Smart Kettle article:", "Yes, it connects over Wi-Fi. Anything else?",
                                 "Sure, go ahead."]
    assert [f.utterance for f in seen if isinstance(f, AudioOut)] == [3, 3, 4]
