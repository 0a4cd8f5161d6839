from __future__ import annotations

import pytest

from helpline.conversation.ports import IntentScore
from helpline.understanding.builtin_intents import BUILTIN_INTENTS
from helpline.understanding.embeddings import MiniLMEmbedder
from helpline.understanding.intents import (
    IntentClassifier,
    IntentClassifierConfig,
    calibrate_threshold,
    is_out_of_scope,
)

PACK = {
    "cancel_order": ["I want to cancel my order", "please cancel order BB-10001", "I don't need it anymore"],
    "track_order": ["where is my order", "track my parcel", "has my order shipped yet?"],
    "return_item": ["I want to return the grinder", "how do I send this back", "I'd like a refund"],
}


@pytest.fixture(scope="module")
def classifier(embedder: MiniLMEmbedder) -> IntentClassifier:
    texts, labels = [], []
    for name, phrases in {**PACK, **BUILTIN_INTENTS}.items():
        texts += phrases
        labels += [name] * len(phrases)
    return IntentClassifier(embedder).fit(texts, labels)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("can you cancel the order I made yesterday", "cancel_order"),
        ("when will my package arrive", "track_order"),
        ("I'd like to send the kettle back for my money", "return_item"),
        ("yeah go for it", "affirm"),
        ("no, not that", "deny"),
        ("put me through to a real person please", "human"),
        ("sorry, could you say that one more time", "repeat"),
        ("who won the basketball last night", "out_of_scope"),
        ("hello!", "greet"),
        ("cheers, that's great", "thanks"),
    ],
)
def test_predicts_unseen_paraphrases(classifier: IntentClassifier, text: str, intent: str) -> None:
    assert classifier.predict(text)[0].name == intent


def test_scores_cover_all_labels_best_first_and_sum_to_one(classifier: IntentClassifier) -> None:
    scores = classifier.predict("where is my stuff")
    assert {s.name for s in scores} == set(classifier.labels)
    assert [s.score for s in scores] == sorted((s.score for s in scores), reverse=True)
    assert sum(s.score for s in scores) == pytest.approx(1.0, abs=1e-6)


def test_predict_many_matches_predict(classifier: IntentClassifier) -> None:
    texts = ["track my order", "bye now"]
    many = classifier.predict_many(texts)
    assert [m[0].name for m in many] == [classifier.predict(t)[0].name for t in texts]
    assert classifier.predict_many([]) == []


def test_tiny_classes_train(embedder: MiniLMEmbedder) -> None:
    clf = IntentClassifier(embedder).fit(
        ["reset my password", "forgot password", "machine won't pair", "wifi pairing failed"],
        ["password", "password", "pairing", "pairing"],
    )
    assert clf.predict("I can't remember my password")[0].name == "password"


def test_tfidf_only_needs_no_embedder() -> None:
    clf = IntentClassifier(None, IntentClassifierConfig(use_embeddings=False)).fit(
        ["refund please", "refund my money", "track parcel", "track order"],
        ["refund", "refund", "track", "track"],
    )
    assert clf.predict("track my parcel")[0].name == "track"


def test_rejects_bad_training_data(embedder: MiniLMEmbedder) -> None:
    with pytest.raises(ValueError):
        IntentClassifier(embedder).fit(["a", "b"], ["x"])
    with pytest.raises(ValueError):
        IntentClassifier(embedder).fit(["a", "b"], ["x", "x"])
    with pytest.raises(RuntimeError):
        IntentClassifier(embedder).predict("hello")


def test_out_of_scope_rules() -> None:
    assert is_out_of_scope((IntentScore("out_of_scope", 0.9), IntentScore("a", 0.1)), 0.5)
    assert is_out_of_scope((IntentScore("a", 0.4), IntentScore("b", 0.3)), 0.5)
    assert not is_out_of_scope((IntentScore("a", 0.7), IntentScore("b", 0.3)), 0.5)
    assert is_out_of_scope((), 0.1)


def test_calibrate_threshold_separates_held_out_scores() -> None:
    scores = [0.9, 0.8, 0.85, 0.7, 0.2, 0.3, 0.25]
    oos = [False, False, False, False, True, True, True]
    t = calibrate_threshold(scores, oos)
    assert 0.3 < t <= 0.7
    t_recall = calibrate_threshold(scores, oos, min_in_scope_recall=0.75)
    assert t_recall == pytest.approx(0.8)
    with pytest.raises(ValueError):
        calibrate_threshold([], [])


def test_accuracy_criterion_favours_the_majority_in_scope_messages() -> None:
    # 8 in-scope messages, 2 out-of-scope; one in-scope message is as unsure as the oos ones.
    scores = [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.35, 0.4, 0.3]
    oos = [False] * 8 + [True, True]
    balanced = calibrate_threshold(scores, oos)
    accuracy = calibrate_threshold(scores, oos, criterion="accuracy")
    assert accuracy <= balanced
    with pytest.raises(ValueError):
        calibrate_threshold(scores, oos, criterion="vibes")
