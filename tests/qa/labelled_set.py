"""The labelled set: short demo conversations run through the real ConversationService on the demo pack, each
criterion labelled by hand from the transcript (pass / fail / not_applicable) before the checker was run on them.
The checks were tuned on other conversations only (tests/qa/test_checks.py and ad-hoc ones); see
docs/benchmarks.md, "QA agreement"."""

from __future__ import annotations

from dataclasses import dataclass

P, F, NA = "pass", "fail", "not_applicable"
CRITERIA = (
    "greeting",
    "verification",
    "grounded_answer",
    "steps_in_order",
    "empathy",
    "escalation",
    "next_step",
    "ticket",
)


def labels(*results: str) -> dict[str, str]:
    """One label per criterion, in the order of CRITERIA."""
    assert len(results) == len(CRITERIA)
    return dict(zip(CRITERIA, results, strict=True))


@dataclass(frozen=True)
class Labelled:
    name: str
    turns: tuple[str, ...]
    labels: dict[str, str]  # criterion -> what a person judged


CONVERSATIONS: tuple[Labelled, ...] = (
    Labelled(
        "cancel an order",
        (
            "I want to cancel an order",
            "Samuel Rogers",
            "78681",
            "bb 10166",
            "I don't need it anymore",
            "yes please go ahead",
            "no thanks",
        ),
        labels(P, P, P, P, NA, NA, P, P),
    ),
    Labelled("return policy", ("what is your return policy?", "no that's all"), labels(P, NA, P, NA, NA, NA, P, P)),
    Labelled(
        "angry late order, manager",
        (
            "this is ridiculous, my order BB-10166 still hasn't arrived and nobody helps me",
            "Samuel Rogers 78681",
            "I want a manager now",
        ),
        labels(P, P, P, P, P, P, P, P),
    ),
    Labelled(
        "callback request",
        ("can someone call me back?", "my number is 512 555 0126", "any time"),
        labels(P, NA, NA, P, NA, P, P, P),
    ),
    Labelled(
        "price of a machine",
        ("how much is the Espresso One?", "thanks, that's all"),
        labels(P, NA, P, NA, NA, NA, P, P),
    ),
    Labelled(
        "question with no article",
        ("do you sell gift cards for weddings in Canada?", "ok bye"),
        labels(P, NA, P, NA, NA, F, P, P),
    ),
    Labelled(
        "where is my order",
        ("where is my order?", "samuel.rogers@example.com", "BB-10166", "no thanks"),
        labels(P, P, P, P, NA, NA, P, P),
    ),
    Labelled(
        "someone else's order", ("cancel order BB-10001", "Samuel Rogers 78681", "no"), labels(P, P, P, P, NA, NA, P, P)
    ),
    Labelled(
        "machine won't power on, upset",
        (
            "my espresso machine won't turn on and I'm furious, I paid 349 dollars for this junk",
            "yes it's plugged in",
            "still nothing",
            "no",
        ),
        labels(P, NA, NA, F, P, P, P, P),
    ),
    Labelled("just hello and bye", ("hello", "actually never mind, bye"), labels(P, NA, NA, NA, NA, NA, NA, P)),
    Labelled("human right away", ("let me talk to a real person",), labels(P, NA, NA, NA, NA, P, P, P)),
    Labelled(
        "login trouble",
        ("I can't log in to my account", "yes I tried resetting my password", "no", "thanks bye"),
        labels(P, NA, F, P, NA, NA, F, P),
    ),
    Labelled(
        "return a frother",
        ("I want to return my milk frother", "lucas.reed@example.com", "no thanks"),
        labels(P, P, NA, P, NA, NA, F, P),
    ),
    Labelled("outage", ("is your website down? I can't check out", "ok thanks bye"), labels(P, NA, P, P, NA, NA, P, P)),
)
