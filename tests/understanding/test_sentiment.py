from __future__ import annotations

import pytest

from helpline.understanding.sentiment import FrustrationScorer

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
