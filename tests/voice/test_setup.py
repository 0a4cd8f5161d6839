from collections.abc import Callable
from datetime import UTC, datetime

from helpline.runtime import Runtime
from helpline.voice.setup import MAX_HINTS, vocabulary


def test_the_recogniser_is_told_the_business_and_its_products(make_runtime: Callable[[datetime], Runtime]) -> None:
    runtime = make_runtime(datetime(2026, 11, 24, 16, 0, tzinfo=UTC))
    words = vocabulary(runtime)
    assert words[0] == runtime.pack.business.name
    assert runtime.products and {p.name for p in runtime.products} <= set(words)  # the catalogue read at start-up
    assert len(words) <= MAX_HINTS


def test_the_openings_synthesised_ahead_are_the_pack_s_own_words(make_runtime: Callable[[datetime], Runtime]) -> None:
    from helpline.voice.setup import reply_openings

    runtime = make_runtime(datetime(2026, 11, 24, 16, 0, tzinfo=UTC))
    openings = reply_openings(runtime)
    assert openings[0].startswith("Hi, thanks for contacting " + runtime.pack.business.name)  # the greeting first
    assert "One moment while I check that." in openings[:6]  # the fillers next
    from helpline.voice.synthesis_cache import fixed_opening

    kb_answer = runtime.pack.replies["kb_answer"][0]  # "From our *{{ title }}* article: {{ answer }}"
    for article in runtime.knowledge.articles.values():  # cut where the reply's first chunk is cut at run time
        assert fixed_opening(kb_answer, {"title": article.title}) in openings
    assert "From our Smart Kettle article:" in openings
    assert not any("{" in line for line in openings)  # never a template's placeholder


def test_a_line_s_voice_warms_every_opening_in_the_background_and_says_when_ready(
        make_runtime: Callable[[datetime], Runtime]) -> None:
    """What `helpline serve` does at start: the openings are synthesised once each behind the calls' own voice,
    and `openings_ready` is set when they are (tests of calls switch the warm-up off, so it is tested here)."""
    from helpline.voice.ports import Recognition
    from helpline.voice.setup import SpeechModels, build_voice_services, reply_openings
    from tests.voice.test_synthesis_cache import CountingVoice

    class NoRecognizer:  # never asked: no call is made here
        sample_rate = 16000
        name = "none"

        def transcribe(self, pcm: bytes, hints: object = ()) -> Recognition:
            raise AssertionError("no call in this test")

    runtime = make_runtime(datetime(2026, 11, 24, 16, 0, tzinfo=UTC))
    voice = CountingVoice()
    services = build_voice_services(runtime, SpeechModels(NoRecognizer(), voice),  # type: ignore[arg-type]
                                    hints=[])
    assert services.openings_ready.wait(30)
    openings = reply_openings(runtime)
    assert sorted(voice.spoken) == sorted(set(openings))  # each once, nothing else
    assert services.voice is not None and services.voice.speak_sentence(openings[0]) == openings[0].encode() * 10
    assert voice.spoken.count(openings[0]) == 1  # the call heard it from the cache

    cold = build_voice_services(runtime, SpeechModels(NoRecognizer(), CountingVoice()),  # type: ignore[arg-type]
                                hints=[], prepare=False)
    assert cold.openings_ready.is_set()  # nothing to wait for
