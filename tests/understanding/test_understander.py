from __future__ import annotations

import time

import numpy as np
import pytest

from helpline.understanding.embeddings import MiniLMEmbedder
from helpline.understanding.entities import ProductInfo
from helpline.understanding.understander import EmbeddedUnderstander

PHRASINGS = {
    "cancel_order": [
        "I want to cancel my order",
        "please cancel order BB-10001",
        "I don't need the thing I ordered anymore",
        "stop my order from shipping",
    ],
    "track_order": ["where is my order", "track my parcel", "has my order shipped yet?", "when will it arrive"],
    "return_item": ["I want to return the grinder", "how do I send this back", "I'd like a refund for it"],
    "machine_offline": ["my machine says E201", "the espresso machine won't connect to wifi", "app says offline"],
}


@pytest.fixture(scope="module")
def understander(embedder: MiniLMEmbedder) -> EmbeddedUnderstander:
    return EmbeddedUnderstander.build(
        PHRASINGS,
        {"order_id": r"(?i)\bBB[- ]?\d{5}\b"},
        [ProductInfo("Espresso One", {"colour": ["black", "red"]}), ProductInfo("Burr Grinder", {})],
        "US",
        embedder=embedder,
    )


def test_understands_a_pack_request_with_entities(understander: EmbeddedUnderstander) -> None:
    u = understander.understand("Hi, can you cancel order bb 10001? I'm Jane Doe")
    assert u.top_intent is not None and u.top_intent.name == "cancel_order"
    assert [(e.type, e.value) for e in u.entities] == [("order_id", "BB-10001"), ("person_name", "Jane Doe")]
    assert sum(s.score for s in u.intents) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("yes please go ahead", "affirm"),
        ("nah", "deny"),
        ("get me a human", "human"),
        ("what's the weather in Austin", "out_of_scope"),
        ("my espresso one keeps saying it is offline", "machine_offline"),
    ],
)
def test_builtin_and_pack_intents_coexist(understander: EmbeddedUnderstander, text: str, intent: str) -> None:
    top = understander.understand(text).top_intent
    assert top is not None and top.name == intent


def test_secrets_are_redacted_before_anything_else(understander: EmbeddedUnderstander) -> None:
    u = understander.understand("charge 4111 1111 1111 1111 please, cvv 123")
    assert "4111 1111" not in u.text and "123" not in u.text
    assert u.redacted == ("card_number", "cvv")
    assert ("card_number", "1111") in [(e.type, e.value) for e in u.entities]


def test_frustration_is_scored(understander: EmbeddedUnderstander) -> None:
    u = understander.understand("THIS IS THE THIRD TIME I'M ASKING, GET ME A MANAGER!!!")
    assert u.frustration > 0.7
    assert "manager" in u.frustration_cues


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_message_has_no_intents(understander: EmbeddedUnderstander, text: str) -> None:
    u = understander.understand(text)
    assert u.intents == () and u.entities == ()


def test_huge_message_is_fast_and_fully_redacted(understander: EmbeddedUnderstander) -> None:
    text = "where is my order " * 6000 + " my card 4111-1111-1111-1111"
    assert len(text) > 100_000
    start = time.perf_counter()
    u = understander.understand(text)
    assert time.perf_counter() - start < 1.0
    assert "4111-1111" not in u.text
    assert u.top_intent is not None and u.top_intent.name == "track_order"


def test_typical_latency(understander: EmbeddedUnderstander) -> None:
    timings = []
    for i in range(30):
        start = time.perf_counter()
        understander.understand(f"my espresso machine shows error E201 and won't connect, attempt {i}")
        timings.append(time.perf_counter() - start)
    # The target is well under 30 ms on an idle 2-core box; the bound is loose because the test
    # machines are shared and busy.
    assert float(np.percentile(timings, 95)) < 0.25
