"""The pack's fixed openings synthesised once: same audio, sooner, and nothing of a caller's kept."""

from __future__ import annotations

import threading

from helpline.voice.synthesis_cache import AudioCache, CachedSynthesizer, fixed_opening, pack_openings


class CountingVoice:
    """A voice whose audio is a function of the text, counting the sentences it is asked to speak."""

    sample_rate = 22050
    name = "counting"
    cache_key = "counting:1.0"

    def __init__(self) -> None:
        self.spoken: list[str] = []

    def speak_sentence(self, text: str) -> bytes:
        self.spoken.append(text)
        return text.encode() * 10


def test_an_opening_is_synthesised_once_and_then_played_from_the_cache() -> None:
    voice = CountingVoice()
    cached = CachedSynthesizer(voice)
    cached.allow(["From our Smart Kettle article:"])
    first = cached.speak_sentence("From our Smart Kettle article:")
    again = cached.speak_sentence("From our  Smart Kettle article:")  # the same words, spaced differently
    assert first == again == voice.speak_sentence("From our Smart Kettle article:")
    assert voice.spoken.count("From our Smart Kettle article:") == 2  # once for the caller, once by this test


def test_nothing_but_the_pack_s_own_wording_is_kept() -> None:
    voice = CountingVoice()
    cached = CachedSynthesizer(voice)
    cached.allow(["One moment while I check that."])
    for _ in range(2):
        cached.speak_sentence("Your order BB-10166 ships to 12 Elm Street.")
    assert voice.spoken == ["Your order BB-10166 ships to 12 Elm Street."] * 2
    assert len(cached.cache) == 0


def test_the_cache_is_bounded_by_bytes_and_drops_the_least_recently_used() -> None:
    cache = AudioCache(max_bytes=100)
    cache.put(("v", "a"), b"x" * 40)
    cache.put(("v", "b"), b"x" * 40)
    assert cache.get(("v", "a")) is not None  # "a" is now the most recently used
    cache.put(("v", "c"), b"x" * 40)
    assert ("v", "b") not in cache and ("v", "a") in cache and ("v", "c") in cache
    assert cache.size_bytes <= 100
    cache.put(("v", "huge"), b"x" * 101)
    assert ("v", "huge") not in cache


def test_another_voice_or_speed_never_gets_the_cached_audio() -> None:
    cache = AudioCache()
    slow, fast = CountingVoice(), CountingVoice()
    fast.cache_key = "counting:0.85"
    for voice in (slow, fast):
        cached = CachedSynthesizer(voice, cache)
        cached.allow(["Sorry about that."])
        cached.speak_sentence("Sorry about that.")
    assert slow.spoken == fast.spoken == ["Sorry about that."]


def test_prepare_synthesises_the_openings_ahead_and_stops_when_asked() -> None:
    voice = CountingVoice()
    cached = CachedSynthesizer(voice, busy_grace=0.0)
    openings = ["One moment while I check that.", "Sorry, I missed that."]
    cached.allow(openings)
    assert cached.prepare([*openings, "not allowed, never made"]) == 2
    assert cached.prepare(openings) == 0  # already there
    assert voice.spoken == openings
    cached.speak_sentence("Sorry, I missed that.")
    assert voice.spoken == openings  # heard from the cache
    stop = threading.Event()
    stop.set()
    other = CachedSynthesizer(CountingVoice(), busy_grace=0.0)
    other.allow(openings)
    assert other.prepare(openings, stop) == 0


def test_the_opening_of_a_template_is_known_only_up_to_its_first_placeholder() -> None:
    assert fixed_opening("From our *{{ title }}* article: {{ answer }}", {"title": "Smart Kettle"}) == \
        "From our Smart Kettle article:"
    assert fixed_opening("One moment while I check that.", {}) == "One moment while I check that."
    assert fixed_opening("Thanks, {{ customer.name }}. I've found your order.", {}) is None
    assert fixed_opening("{{ answer }}", {}) is None
    assert fixed_opening("Hi, thanks for calling {{ business.name }}! How can I help?",
                         {"business.name": "Brightbean Coffee Co."}) == "Hi, thanks for calling Brightbean Coffee Co.!"
    openings = pack_openings(["From our *{{ title }}* article: {{ answer }}", "Sure. {{ answer }}"], {},
                             ["Smart Kettle", "Burr Grinder"])
    assert openings == ["From our Smart Kettle article:", "From our Burr Grinder article:", "Sure."]


def test_the_warm_up_keeps_away_from_a_voice_another_wrapper_is_speaking_with() -> None:
    """A call's synthesizer and an announcement to a person wrap one loaded voice with one shared cache: while
    either speaks, the warm-up of the other waits, and a second warm-up waits for the first."""
    voice, shared = CountingVoice(), AudioCache()
    warm_up = CachedSynthesizer(voice, shared, busy_grace=0.2)
    announcer = CachedSynthesizer(voice, shared, busy_grace=0.2)
    openings = ["One moment while I check that."]
    warm_up.allow(openings)
    announcer.speak_sentence("Transferring a caller about order BB-10001.")  # not the pack's wording: not kept
    made: list[int] = []
    worker = threading.Thread(target=lambda: made.append(warm_up.prepare(openings)))
    worker.start()
    worker.join(timeout=0.1)
    assert worker.is_alive() and voice.spoken == ["Transferring a caller about order BB-10001."]
    worker.join(timeout=5)
    assert made == [1] and voice.spoken[-1] == "One moment while I check that."

    with shared.preparing:  # a warm-up of this voice is running elsewhere
        stop = threading.Event()
        second = threading.Thread(target=lambda: made.append(announcer.prepare(openings, stop)))
        second.start()
        second.join(timeout=0.3)
        assert second.is_alive()
        stop.set()
        second.join(timeout=5)
    assert made == [1, 0]
