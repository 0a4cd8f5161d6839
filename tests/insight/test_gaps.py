"""Knowledge gaps read from the transcripts: unanswered questions grouped and de-duplicated, never greetings,
thanks or questions carrying personal data; each group drafts an article listing the questions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from helpline.insight.gaps import article_draft, cluster_gaps, load_gap_questions
from helpline.insight.texts import PersonalData
from helpline.store.db import Database
from tests.conftest import DemoModels
from tests.insight.seeding import add_contact

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DESCALE = ["how often should I descale the kettle", "How often should I descale the kettle?",
           "do I need to remove limescale from the kettle, and how often"]
OAT = ["can the frother do oat milk", "does the milk frother work with plant milks like oat or almond"]
UNLISTABLE = ["hello", "thanks a lot, bye", "I'm Maria Lopez, can the kettle boil twice as fast?",
              "does order BB-10233 include the descaler", "email me at jo.k@example.com about frothing oat milk"]


def test_gaps_grouped_deduplicated_and_clean(demo_models: DemoModels, tmp_path: Path) -> None:
    assert demo_models.models.embedder is not None
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    db.migrate()
    with db.session() as session:
        for i, line in enumerate(DESCALE + OAT + UNLISTABLE):
            add_contact(session, ["hi", line], NOW - timedelta(hours=i + 1), kb_gap=["hi", line])
        add_contact(session, ["what grind size for a moka pot"], NOW - timedelta(days=30),
                    kb_gap=["what grind size for a moka pot"])  # before the period
        add_contact(session, ["is the kettle dishwasher safe"], NOW - timedelta(hours=2))  # answered: no gap
    with db.session() as session:
        questions = load_gap_questions(session, NOW - timedelta(days=7), NOW)
    pack = demo_models.pack
    clusters = cluster_gaps(questions, demo_models.models.embedder,
                            PersonalData.for_pack(dict(pack.business.id_formats), pack.business.phone_region))
    db.dispose()

    listed = [q for c in clusters for q in c.questions]
    unwanted = ("hello", "bye", "Maria", "BB-10233", "jo.k@", "moka", "dishwasher")
    assert not any(bad in q for q in listed for bad in unwanted)
    assert len(clusters) == 2
    descale, oat = clusters  # the most asked first
    assert descale.count == 3 and descale.conversations == 3
    assert len(descale.questions) == 2  # the same words twice are one question
    assert set(oat.questions) == set(OAT)

    link = urlsplit(descale.draft_link())
    assert link.path == "/console/insight/draft-article"
    assert parse_qs(link.query)["q"] == list(descale.questions)
    body = article_draft(descale.title, descale.questions)
    assert all(f"- {q}" in body for q in descale.questions)


def test_answered_questions_that_score_low_today_are_gaps(demo_models: DemoModels, tmp_path: Path) -> None:
    assert demo_models.models.embedder is not None
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    db.migrate()
    with db.session() as session:
        for line in ("do you have a student discount?", "how long does shipping take", "my machine is leaking"):
            add_contact(session, [line], NOW - timedelta(hours=1), intent="ask_knowledge")
    scored: list[str] = []

    def scorer(question: str) -> float:
        scored.append(question)
        return 0.35 if "student" in question or "leaking" in question else 0.95

    with db.session() as session:
        questions = load_gap_questions(session, NOW - timedelta(days=7), NOW, scorer)
    db.dispose()
    assert "my machine is leaking" not in scored  # a request, not a question for an article
    assert [(q.text, q.low_confidence) for q in questions] == [("do you have a student discount?", True)]
    pack = demo_models.pack
    (cluster,) = cluster_gaps(questions, demo_models.models.embedder,
                              PersonalData.for_pack(dict(pack.business.id_formats)))
    assert cluster.low_confidence == 1
