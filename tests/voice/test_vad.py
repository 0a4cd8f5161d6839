from helpline.voice.control import CallMetrics, SpeechDiscarded
from helpline.voice.frames import AudioIn, Frame, UserStartedSpeaking, UserStoppedSpeaking, UtteranceMayHaveEnded
from helpline.voice.vad import VadSettings, VoiceActivityProcessor
from tests.voice.speech import RATE, chunks, script


def run_vad(pcm: bytes, settings: VadSettings | None = None) -> tuple[list[Frame], CallMetrics]:
    metrics = CallMetrics()
    vad = VoiceActivityProcessor(RATE, settings, metrics=metrics)
    events: list[Frame] = []
    for n, chunk in enumerate(chunks(pcm)):
        # the transport's clock: one 20 ms frame after another, starting at 100 s
        events.extend(vad.feed(AudioIn(chunk, RATE, received_at=100.0 + n * 0.02)))
    return events, metrics


def test_one_utterance_per_phrase_with_boundaries_within_100_ms() -> None:
    audio = script(0.6, "Where is my order? It was placed last week.", 1.2, "I would like to return an item.", 1.0,
                   "Thank you very much.", 1.0)
    events, metrics = run_vad(audio.pcm)
    kinds = [type(e).__name__ for e in events if not isinstance(e, UtteranceMayHaveEnded)]
    assert kinds == ["UserStartedSpeaking", "UserStoppedSpeaking"] * 3
    stops = [e for e in events if isinstance(e, UserStoppedSpeaking)]
    for stop, (start, end) in zip(stops, audio.spans, strict=True):
        assert abs(stop.started_at - 100.0 - start) < 0.1
        assert abs(stop.ended_at - 100.0 - end) < 0.1
        # the utterance's audio covers the speech, with a little pre-roll, and not much more
        seconds = len(stop.pcm) / 2 / RATE
        assert end - start <= seconds <= end - start + 0.5
    # the caller's turn is over about end_ms after they stop talking
    assert all(0.4 <= delay <= 0.6 for delay in metrics.end_of_speech)
    # each end confirms an early guess made in its final pause, so recognition could start sooner
    guesses = {e.guess: e for e in events if isinstance(e, UtteranceMayHaveEnded)}
    for stop in stops:
        assert stop.guess in guesses and guesses[stop.guess].started_at == stop.started_at
        assert len(guesses[stop.guess].pcm) >= len(stop.pcm) - 2 * RATE * 0.4  # all but the last pause


def test_speech_start_is_reported_soon_after_the_onset() -> None:
    audio = script(0.5, "Hello, is anybody there?", 0.8)
    vad = VoiceActivityProcessor(RATE)
    detected_after = None
    for n, chunk in enumerate(chunks(audio.pcm)):
        if any(isinstance(e, UserStartedSpeaking) for e in vad.feed(AudioIn(chunk, RATE, received_at=n * 0.02))):
            detected_after = (n + 1) * 0.02 - audio.spans[0][0]
            break
    assert detected_after is not None and detected_after < 0.17


def test_a_short_click_is_not_an_utterance_and_a_monologue_is_cut() -> None:
    click = b"".join(int(8000 * (-1) ** i).to_bytes(2, "little", signed=True) for i in range(400))
    events, _ = run_vad(b"\x00\x00" * 4000 + click + b"\x00\x00" * 8000)
    assert not [e for e in events if isinstance(e, UserStoppedSpeaking)]
    assert all(isinstance(e, UserStartedSpeaking | SpeechDiscarded) for e in events)

    long = script(0.3, "I have been waiting for my coffee machine for three weeks and nobody answers my emails", 0.8)
    events, _ = run_vad(long.pcm, VadSettings(max_utterance_ms=2500))
    stops = [e for e in events if isinstance(e, UserStoppedSpeaking)]
    assert len(stops) >= 2
    assert all(s.ended_at - s.started_at <= 2.6 for s in stops)


class FixedTurnModel:
    """A turn-completion model with a fixed answer (or a failure), counting how often it was asked."""

    def __init__(self, probability: float | None) -> None:
        self.answer = probability
        self.asked = 0

    def probability(self, pcm: bytes, sample_rate: int) -> float:
        self.asked += 1
        if self.answer is None:
            raise RuntimeError("model broke")
        return self.answer


def _turn_end_delays(model: FixedTurnModel | None) -> list[float]:
    """Seconds from each phrase's last word to the end of its turn, with the audio arriving in real time."""
    import asyncio

    from helpline.voice.pipeline import Processor

    audio = script(0.4, "Can I return the travel mug?", 1.0, "Do you sell decaf?", 1.0)

    class Sink(Processor):
        def __init__(self) -> None:
            super().__init__()
            self.stops: list[UserStoppedSpeaking] = []

        async def process(self, frame: Frame, direction: object) -> None:
            if isinstance(frame, UserStoppedSpeaking):
                self.stops.append(frame)

    async def scenario() -> list[float]:
        from helpline.voice.frames import Direction

        metrics = CallMetrics()
        vad = VoiceActivityProcessor(RATE, metrics=metrics, turn_model=model)
        sink = Sink()
        vad.link(sink)
        await sink.start()
        for n, chunk in enumerate(chunks(audio.pcm)):
            await vad.process(AudioIn(chunk, RATE, received_at=100.0 + n * 0.02), Direction.DOWNSTREAM)
            await asyncio.sleep(0.004)  # let a check finish (the fake answers at once), as real time would
        await sink.idle()
        await sink.stop()
        await vad.stop()
        assert len(sink.stops) == 2
        return metrics.end_of_speech  # the VAD's decision after each phrase's last voiced sample

    return asyncio.run(scenario())


def test_a_finished_turn_ends_after_a_short_hangover_and_never_later_than_the_pause() -> None:
    without = _turn_end_delays(None)
    finished = FixedTurnModel(0.9)
    with_model = _turn_end_delays(finished)
    assert finished.asked >= 2
    # "finished" ends the turn about check_ms (200 ms) after the last word instead of end_ms (400 ms)
    assert all(0.18 <= d <= 0.36 for d in with_model), with_model
    assert all(d >= 0.4 for d in without)
    # "not finished", or a model that fails, holds the caller no longer than the pause alone would
    for model in (FixedTurnModel(0.1), FixedTurnModel(None)):
        delays = _turn_end_delays(model)
        assert model.asked >= 2
        assert all(abs(a - b) < 0.05 for a, b in zip(delays, without, strict=True)), (delays, without)


def test_counting_the_pause_from_the_sound_ends_turns_sooner_but_still_after_the_pause() -> None:
    # a comma's pause (250 ms) inside the first question, then each question's closing pause
    audio = script(0.5, "Can I get my beans", 0.25, "pre-ground for a moka pot?", 1.0, "Do you sell decaf?", 1.0)
    by_score, score_metrics = run_vad(audio.pcm)
    by_sound, sound_metrics = run_vad(audio.pcm, VadSettings(pause_from="sound"))
    score_stops = [e for e in by_score if isinstance(e, UserStoppedSpeaking)]
    sound_stops = [e for e in by_sound if isinstance(e, UserStoppedSpeaking)]
    # the same two turns, the comma's pause inside the first one not taken for its end
    assert len(score_stops) == len(sound_stops) == 2
    for score_stop, sound_stop, (_, end) in zip(score_stops, sound_stops, audio.spans[1:], strict=True):
        assert abs(sound_stop.ended_at - score_stop.ended_at) < 0.01
        assert abs(sound_stop.ended_at - 100.0 - end) < 0.1
    # Silero's score lingers after the last syllable: counted from the sound, the same 400 ms pause ends each turn
    # sooner, yet never before 400 ms of real quiet
    assert all(delay >= 0.4 for delay in sound_metrics.end_of_speech), sound_metrics.end_of_speech
    pairs = list(zip(sound_metrics.end_of_speech, score_metrics.end_of_speech, strict=True))
    assert all(sound < score - 0.03 for sound, score in pairs), pairs


def test_counting_the_pause_from_the_sound_never_ends_a_turn_later_than_the_score() -> None:
    # line noise after the words keeps the signal's energy up: the score's count of quiet windows still ends the turn
    import numpy as np

    words = script(0.3, "Is there a warranty on the machines?", 0.0)
    noise = (np.random.default_rng(3).standard_normal(8000).astype(np.float32) * 600).astype("<i2").tobytes()
    pcm = words.pcm + noise + b"\x00\x00" * 8000
    _, score_metrics = run_vad(pcm)
    _, sound_metrics = run_vad(pcm, VadSettings(pause_from="sound"))
    assert len(sound_metrics.end_of_speech) == len(score_metrics.end_of_speech) == 1
    assert sound_metrics.end_of_speech[0] <= score_metrics.end_of_speech[0] + 1e-9
