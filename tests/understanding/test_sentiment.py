from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from helpline.understanding.embeddings import MiniLMEmbedder, ModelIntegrityError, file_sha256
from helpline.understanding.frustration_examples import CALM as CALM_EXAMPLES
from helpline.understanding.frustration_examples import FRUSTRATED as FRUSTRATED_EXAMPLES
from helpline.understanding.sentiment import (
    TONE_MODEL_PATH,
    TONE_MODEL_SHA256,
    FrustrationScorer,
    ToneModel,
    tone_score,
)
from helpline.understanding.understander import EmbeddedUnderstander

# Tuning examples (two rounds; the second after the first held-out run showed the lexicon too narrow): the
# scorer's weights were set on these (the engine acknowledges at 0.55). The held-out
# set, written afterwards in other words, is bench/frustration/heldout.yaml (`python -m bench.frustration`).
CALM = [
    "my grinder is jammed",
    "it's still not working, what next?",
    "Hi, could you tell me where my order is? Thanks!",
    "I'd like to cancel my subscription please",
    "I want to cancel my order",
    "OK, I'll cancel the order then",
    "the milk frother isn't heating the milk",
    "I tried the reset but it's still not working. What should I try next?",
    "my order hasn't arrived yet, can you check?",
    "I was charged twice for the same order",
    "the app keeps logging me out",
    "Can I leave a review for the grinder somewhere?",
    "I called yesterday about my refund, is there any news?",
    "that didn't work either, any other ideas?",
    "the machine is leaking water from the bottom",
    "I need to return a damaged kettle",
    "Oh great, that worked! Thanks so much",
    "Perfect, thank you",
    "I'm a bit disappointed the colour is different from the photo",
    "Is the BB-10422 order shipped? My email is JANE@EXAMPLE.COM",
    "I have a USB cable question about the PRO model",
    "it is broken, the handle snapped off",
    "No, that's not what I meant. I need the invoice for March",
    "sorry, I still haven't received the code",
    "Hi, this is Sue from accounting",
    "the payment failed, should I call my bank?",
    "It's jamming again, what do I do?",
    "I'll leave it there then, thanks",
    "I'm going to switch to decaf, can I change my subscription?",
    "NOT urgent but could you check my order",
    "I called 3 times yesterday but the line was busy",
    # second round
    "Every time I use the steamer it drips a little, is that expected?",
    "It's been a week since I ordered, is it on its way?",
    "I'm going to cancel my order and reorder the right size, is that ok?",
    "If the part doesn't fit I'll send it back, right?",
    "You said it would arrive Tuesday, just checking it's still on track",
    "Why does the light blink orange?",
    "Can someone help me set up the app?",
    "How long does a refund usually take?",
    "I'm not sure the filter is fitted correctly",
    "The last tip didn't help unfortunately, what else could it be?",
    "I'm happy with the machine, just need a new tamper",
    "What happens if I'm not home for the delivery?",
    "The hell of it is I love the coffee, the grinder just needs a tweak",
    "Not a problem, I can wait until Friday",
    "Brilliant, thanks, that fixed it.",
    "I've been on hold a few minutes, so I thought I'd try chat instead",
    "For once I remembered my order number: BB-10422",
    "If the order is late I'll just pick it up from the shop, fine",
    "You said you would email the label, could you resend it?",
]
FRUSTRATED = [  # ordinary anger: at least 0.55
    "That's ridiculous… this is unacceptable",
    "that's not good enough, I've been waiting forever",
    "this is the third time I'm calling, I'll cancel everything",
    "this is useless",
    "what a waste of time",
    "great, just great",
    "thanks for nothing",
    "I'm sick of this machine",
    "This is really frustrating, I've explained this twice already",
    "I've been waiting three weeks for a refund, this is not good enough",
    "Oh perfect, now it won't even turn on",
    "the so-called express delivery took 9 days",
    "I'm annoyed, nobody ever got back to me",
    "your fix didn't work, it's jamming again",
    "honestly, what is wrong with your company",
    "Why is this so hard?! I just want my money back",
    "I'm going to leave a bad review if this isn't sorted",
    "I'm fed up.",
    # second round
    "I'm not happy with how long this is taking.",
    "Not impressed at all with the delivery.",
    "I'm running out of patience here.",
    "I'm at my wit's end with this grinder.",
    "Why do I always have to chase you?",
    "Is anyone actually going to help me?",
    "You promised me a refund last week and I still haven't seen it.",
    "It was supposed to be fixed by now.",
    "It's been two weeks and still nothing.",
    "This should have arrived days ago.",
    "Nobody has called me back.",
    "Another delay? Perfect.",
    "Lovely. It broke on day two.",
    "Typical, the one day I need it.",
    "If I don't hear back today I'll be cancelling my membership.",
    "What the hell is happening with my refund?",
    "I'm genuinely disappointed with this service.",
    "I wasted an hour on this yesterday.",
    "The engineer made it worse.",
    "For goodness' sake, just send me a new one.",
    "I'm really unhappy with this.",
]
ANGRY = [  # clear fury: at least 0.75
    "I'm fed up, it's STILL jamming after your so-called fix",
    "THIS IS THE THIRD TIME!!! GET ME A MANAGER, THIS SHIT IS USELESS",
    "This is absolutely ridiculous. I've called three times and nobody has fixed it. Get me a manager now!",
    "Unacceptable. I want a refund TODAY or I'm doing a chargeback",
    "You people are a joke. Useless, incompetent, and I'm sick of it",
    "I've been waiting forever, your so-called support is pathetic, I'm taking my business elsewhere",
    "are you kidding me?? it broke AGAIN after the repair",
    "fed up with this garbage machine, I'll be speaking to my lawyer",
    "WHERE IS MY REFUND? I have asked FIVE times!!",
    "Great, just great. Third replacement and it's still leaking. Worst service ever.",
    # second round
    "You people are clueless. I've explained this four times. Get me a manager.",
    "What the hell is wrong with you? I want my money back NOW!",
    "Total scam. I'm reporting you and leaving reviews everywhere.",
    "Don't you dare close this ticket again, it is STILL broken!!",
]


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
        ("that's ridiculous", "complaint"),
        ("this is unacceptable", "complaint"),
        ("I'm sick of this", "complaint"),
        ("what a waste of time", "complaint"),
        ("what a joke", "complaint"),
        ("I've been waiting forever", "complaint"),
        ("I'll cancel everything", "threat"),
        ("I'm taking my business elsewhere", "threat"),
        ("I'll be leaving a one-star review", "threat"),
        ("I'm going to do a chargeback", "threat"),
        ("my lawyer will hear about this", "threat"),
        ("it's still jamming after your fix", "failed_fix"),
        ("the repair didn't work", "failed_fix"),
        ("your troubleshooting article did nothing", "failed_fix"),
        ("the engineer made it worse", "failed_fix"),
        ("you promised me a refund", "broken_promise"),
        ("it was supposed to be fixed by now", "broken_promise"),
        ("Another delay? Perfect.", "sarcasm"),
        ("Typical. Late again.", "sarcasm"),
        ("I'm not happy with this", "complaint"),
        ("why do I always have to chase you?", "complaint"),
        ("great, just great", "sarcasm"),
        ("thanks for nothing", "sarcasm"),
        ("oh perfect, now it won't start", "sarcasm"),
        ("it's STILL jamming", "emphasis"),
        ("why?!", "exclamation"),
        ("it broke again", "repeat_contact"),
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


@pytest.mark.parametrize("text", CALM)
def test_calm_messages_stay_below_the_trigger(scorer: FrustrationScorer, text: str) -> None:
    assert scorer.score(text)[0] < 0.55


@pytest.mark.parametrize("text", FRUSTRATED + ANGRY)
def test_ordinary_anger_reaches_the_trigger(scorer: FrustrationScorer, text: str) -> None:
    assert scorer.score(text)[0] >= 0.55


@pytest.mark.parametrize("text", ANGRY)
def test_clear_fury_scores_high(scorer: FrustrationScorer, text: str) -> None:
    assert scorer.score(text)[0] >= 0.75


def test_field_report_messages(scorer: FrustrationScorer) -> None:
    assert set(scorer.score("I'm fed up, it's STILL jamming after your so-called fix")[1]) >= {
        "complaint", "failed_fix", "emphasis"}
    assert "threat" in scorer.score("this is the third time I'm calling, I'll cancel everything")[1]
    assert scorer.score("my grinder is jammed") == (0.0, ())


@pytest.mark.parametrize(
    "text",
    ["Is the BB-10422 order shipped? My email is JANE@EXAMPLE.COM", "I have a USB question about the PRO model",
     "I'd like to cancel my subscription please", "Can I leave a review for the grinder somewhere?",
     "Oh great, that worked! Thanks so much", "I had it delivered yesterday"],
)
def test_ordinary_words_ids_and_acronyms_are_not_cues(scorer: FrustrationScorer, text: str) -> None:
    assert scorer.score(text)[1] == ()


def test_more_complaints_score_higher_but_stay_in_range(scorer: FrustrationScorer) -> None:
    one, _ = scorer.score("this is useless")
    three, _ = scorer.score("this is useless, pathetic and a waste of time")
    assert 0.55 <= one < three <= 1.0


# --- the learned tone model (frustration_examples.py, bench/frustration/train.py) ------------------
# Written for these tests: neither in the training examples nor in the held-out sets.

PLAIN_FRUSTRATION = [  # no cue word the rules know, or not enough of them: the model must carry these
    "I've had to chase this every single day",
    "I keep being told it's on its way and it never is",
    "I'm getting nowhere with this and it's wearing me down",
    "so the engineer just didn't bother turning up then",
    "I took the whole day off for nothing",
    "honestly, what do I pay you for?",
]
CALM_REPORTS = [
    "the parcel never arrived",
    "I was charged twice",
    "My dishwasher stopped mid-cycle and there's water in the bottom. What should I do?",
    "the login page says my account is suspended, why would that be?",
    "I've got a leak under the sink since the plumber came, can he come back?",
    "My statement shows a charge from March that I think was already refunded, could you check?",
    "the internet was slow yesterday but it's fine today, just letting you know",
    "Thanks so much, that fixed it!",
]


def test_tone_model_file_matches_its_pinned_sha256(tmp_path: Path) -> None:
    assert file_sha256(TONE_MODEL_PATH) == TONE_MODEL_SHA256
    assert ToneModel.load().weights.coef.shape == (384, 3)
    with pytest.raises(ModelIntegrityError, match="sha256"):
        ToneModel.load(expected_sha256="0" * 64)
    corrupted = tmp_path / "frustration.npz"
    data = bytearray(TONE_MODEL_PATH.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupted.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError):
        ToneModel.load(corrupted)
    with pytest.raises(ModelIntegrityError, match="not found"):
        ToneModel.load(tmp_path / "missing.npz")


@pytest.mark.parametrize("text", PLAIN_FRUSTRATION)
def test_frustration_in_ordinary_words_reaches_the_trigger(scorer: FrustrationScorer, text: str) -> None:
    assert text not in FRUSTRATED_EXAMPLES
    value, cues = scorer.score(text)
    assert value >= 0.55
    assert "tone" in cues
    assert FrustrationScorer(use_tone=False).score(text)[0] < 0.55  # the rules alone miss it


@pytest.mark.parametrize("text", CALM_REPORTS)
def test_calm_problem_reports_stay_below_the_trigger(scorer: FrustrationScorer, text: str) -> None:
    assert text not in CALM_EXAMPLES
    value, cues = scorer.score(text)
    assert value < 0.55
    assert "tone" not in cues


def test_clear_fury_in_ordinary_words_scores_as_angry(scorer: FrustrationScorer) -> None:
    value, cues = scorer.score("absolutely done with you clowns")
    assert value >= 0.75 and "tone" in cues


class _Counting:
    """An Embedder that counts its calls."""

    dimension = 384

    def __init__(self, inner: MiniLMEmbedder) -> None:
        self.inner = inner
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls += 1
        return self.inner.encode(texts)


class _Refusing:
    dimension = 384

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        raise AssertionError("the embedding was given; embedding again is wasted work")


def test_a_precomputed_embedding_is_used_as_is(embedder: MiniLMEmbedder) -> None:
    text = PLAIN_FRUSTRATION[0]
    own = FrustrationScorer(embedder=embedder).score(text)
    given = FrustrationScorer(embedder=_Refusing()).score(text, embedding=embedder.encode([text])[0])
    assert given == own
    assert FrustrationScorer(embedder=_Refusing()).score("this again")[0] < 0.55  # too short: the rules decide
    with pytest.raises(ValueError, match="384"):
        FrustrationScorer().score(text, embedding=np.zeros(10, dtype=np.float32))


def test_rules_alone_when_the_model_is_off() -> None:
    rules = FrustrationScorer(use_tone=False)
    assert not rules.reads_tone
    assert rules.score("I'm fed up.") == rules.rules("I'm fed up.")


def test_tone_score_maps_probabilities_to_the_bands() -> None:
    assert tone_score(np.array([0.5, 0.4, 0.1]), 0.75, 0.6) == 0.0
    assert tone_score(np.array([0.25, 0.7, 0.05]), 0.75, 0.6) == pytest.approx(0.55)
    assert 0.55 < tone_score(np.array([0.1, 0.8, 0.1]), 0.75, 0.6) < 0.75
    assert tone_score(np.array([0.0, 0.2, 0.8]), 0.75, 0.6) >= 0.75


def test_the_understander_embeds_each_message_once(embedder: MiniLMEmbedder) -> None:
    counting = _Counting(embedder)
    understander = EmbeddedUnderstander.build({"track_order": ["where is my order", "track my parcel"]},
                                              embedder=counting)
    counting.calls = 0
    u = understander.understand("I keep being told my parcel is on its way and it never is")
    assert counting.calls == 1
    assert u.frustration >= 0.55 and "tone" in u.frustration_cues
    assert u.top_intent is not None and u.top_intent.name == "track_order"
