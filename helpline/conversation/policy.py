"""Every threshold the conversation core decides by, in one place (no wording patterns here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnginePolicy:
    kb_answer: float = 0.5  # calibrated knowledge confidence to answer from an article
    # ... to ask "is this about <topic>?" when the best article is below kb_answer
    kb_confirm: float = 0.2  # chosen on the phone dev sets (docs/benchmarks.md, "Phone answers, session 10")
    procedure_confirm: float = 0.4  # a request guessed below this is checked with the customer first
    # a request guessed this surely starts though a sure article lacks the question's words ("bought the kettle in
    # white, can I swap it for the sage one?" finds the kettle's article, which says nothing of swapping)
    procedure_over_silent_article: float = 0.7
    kb_answer_mid_task: float = 0.7  # ... for a side question without a question mark
    frustrated: float = 0.55  # frustration at which the agent acknowledges and apologises
    angry: float = 0.75  # ... at which the hand-off card says "angry"
    upset_turns_to_escalate: int = 2  # upset turns after the apology before offering a manager
    misunderstandings_to_offer_human: int = 2
    misunderstandings_to_escalate: int = 3
    out_of_scope_to_offer_human: int = 2
    max_steps_per_turn: int = 60
    max_understood_chars: int = 2000
    callback_grace_minutes: int = 30  # out-of-hours callbacks are due this long after opening
