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
