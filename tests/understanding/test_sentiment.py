from __future__ import annotations

import pytest

from helpline.understanding.sentiment import FrustrationScorer


@pytest.fixture(scope="module")
def scorer() -> FrustrationScorer:
    return FrustrationScorer()


def test_calm_message_scores_low(scorer: FrustrationScorer) -> None:
    score, cues = scorer.score("Hi, could you tell me where my order is? Thanks!")
    assert score < 0.15
    assert cues == ()


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("WHERE IS MY ORDER ALREADY", "caps"),
        ("this f***ing machine broke again", "profanity"),
        ("this fucking machine", "profanity"),
        ("I want to speak to your supervisor", "manager"),
        ("where is it!!!", "exclamation"),
        ("this is the third time I'm calling about this", "repeat_contact"),
        ("I already told you my order number", "repeat_contact"),
        ("this is awful, I hate it, worst purchase ever", "negative"),
    ],
)
def test_cues(scorer: FrustrationScorer, text: str, cue: str) -> None:
    assert cue in scorer.score(text)[1]


def test_repeat_contact_flag(scorer: FrustrationScorer) -> None:
    calm = scorer.score("my kettle is not heating")
    flagged = scorer.score("my kettle is not heating", repeat_contact=True)
    assert "repeat_contact" in flagged[1]
    assert flagged[0] > calm[0]


def test_furious_beats_annoyed_and_stays_in_range(scorer: FrustrationScorer) -> None:
    annoyed, _ = scorer.score("this is a bit disappointing")
    furious, cues = scorer.score("THIS IS THE THIRD TIME!!! GET ME A MANAGER, THIS SHIT IS USELESS")
    assert furious > annoyed
    assert 0.0 <= annoyed <= furious <= 1.0
    assert furious >= 0.9
    assert {"caps", "profanity", "manager", "exclamation", "repeat_contact"} <= set(cues)


def test_short_caps_and_ordinary_words_are_not_cues(scorer: FrustrationScorer) -> None:
    assert scorer.score("OK thanks")[1] == ()
    assert scorer.score("I need a classic assessment of my grasshopper")[1] == ()
    assert scorer.score("") == (0.0, ())
