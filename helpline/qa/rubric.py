"""The QA rubric: which criteria a contact is judged on, and the wording lists the checks use.

Seeded from the hiring guide's criteria (communication, empathy, process, documentation, accuracy) and its red
flags. A pack may override any part in ``qa.yaml`` at its root; what it leaves out keeps the default.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

RUBRIC_FILE = "qa.yaml"


class Criterion:
    """The criteria ids (stored in findings, so never renamed)."""

    GREETING = "greeting"
    VERIFICATION = "verification"
    GROUNDED_ANSWER = "grounded_answer"
    STEPS_IN_ORDER = "steps_in_order"
    EMPATHY = "empathy"
    ESCALATION = "escalation"
    NEXT_STEP = "next_step"
    TICKET = "ticket"

    ALL = (GREETING, VERIFICATION, GROUNDED_ANSWER, STEPS_IN_ORDER, EMPATHY, ESCALATION, NEXT_STEP, TICKET)


class Flag:
    """The guide's red flags, raised on a contact alongside the criterion they break."""

    ANGER_NOT_ACKNOWLEDGED = "anger_not_acknowledged"
    PROMISE_WITHOUT_MEANS = "promise_without_means"
    DATA_BEFORE_VERIFICATION = "data_before_verification"
    BLAMING_CUSTOMER = "blaming_customer"
    AMOUNTS_DONT_ADD_UP = "amounts_dont_add_up"
    ENDED_BEFORE_STARTED = "ended_before_started"
    MISSING_OUTCOME = "missing_outcome"
    NAME_MISMATCH = "name_mismatch"
    LEFT_WAITING = "left_waiting"  # handed to a person nobody took, with no callback booked
    RESOLVED_NOT_SOLVED = "resolved_not_solved"  # closed as resolved against the customer's last words


DEFAULT_TITLES: dict[str, str] = {
    Criterion.GREETING: "Greeting and identification",
    Criterion.VERIFICATION: "Identity verified before account data",
    Criterion.GROUNDED_ANSWER: "Accurate, grounded answer",
    Criterion.STEPS_IN_ORDER: "Steps taken in order",
    Criterion.EMPATHY: "Empathy where the customer was upset",
    Criterion.ESCALATION: "Correct escalation and hand-off",
    Criterion.NEXT_STEP: "A clear next step",
    Criterion.TICKET: "A correct ticket",
}


class Rubric(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    criteria: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_TITLES),
        description="criterion id -> title; leave a criterion out to stop judging it")
    upset_frustration: float = Field(
        default=0.75, ge=0, le=1,
        description="a customer line at or above this frustration must be acknowledged (the engine's tone model "
                    "scores plain requests up to ~0.7, so the bar sits above it)")
    acknowledge_within: int = Field(default=2, ge=1, le=10, description="agent lines allowed before acknowledging")
    greeting_words: tuple[str, ...] = ("hi", "hello", "hey", "welcome", "good morning", "good afternoon",
                                       "good evening", "thanks for contacting", "thank you for contacting")
    identification_words: tuple[str, ...] = ("i'm", "i am", "my name is", "this is", "you've reached")
    acknowledgement_words: tuple[str, ...] = ("sorry", "apologi", "understand", "frustrat", "i hear you",
                                              "i can imagine", "i can see how", "that's not good", "upsetting")
    blaming_phrases: tuple[str, ...] = ("your fault", "you should have", "you shouldn't have", "you failed to",
                                        "you didn't read", "as i already said", "as i already told you",
                                        "you were supposed to", "you need to pay attention", "that's on you",
                                        "you must have done something", "user error")
    promise_phrases: tuple[str, ...] = ("call you back", "call you later", "ring you back", "we'll call you",
                                        "we will call you", "get back to you", "email you", "we'll be in touch",
                                        "someone will contact you", "follow up with you")
    not_knowing_phrases: tuple[str, ...] = ("i don't know", "i'm not sure", "i do not know", "don't have an answer",
                                            "couldn't find", "could not find", "i'll ask", "let me ask")

    def title(self, criterion: str) -> str:
        return self.criteria.get(criterion, DEFAULT_TITLES.get(criterion, criterion))

    def judges(self, criterion: str) -> bool:
        return criterion in self.criteria


class RubricError(ValueError):
    """qa.yaml is not a valid rubric; the message names the file and the problem."""


def load_rubric(pack_root: Path) -> Rubric:
    """The pack's ``qa.yaml`` over the defaults, or the defaults when the pack has none."""
    path = pack_root / RUBRIC_FILE
    if not path.is_file():
        return Rubric()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RubricError(f"{RUBRIC_FILE}: not YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RubricError(f"{RUBRIC_FILE}: expected a mapping")
    unknown = set(data.get("criteria") or {}) - set(Criterion.ALL)
    if unknown:
        raise RubricError(f"{RUBRIC_FILE}: unknown criteria {sorted(unknown)} (known: {list(Criterion.ALL)})")
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        raise RubricError(f"{RUBRIC_FILE}: {exc}") from exc
