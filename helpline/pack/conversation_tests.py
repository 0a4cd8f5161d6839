"""A pack's own example conversations (`tests/*.yaml` in the pack), written by the business and run by
`helpline pack test DIR` before a change goes live.

    # tests/cancel_a_pending_order.yaml
    name: Cancel an order that has not shipped      # optional (default: the file name)
    now: 2026-11-20T10:00:00-06:00                  # optional: the conversation's clock
    turns:
      - customer: I want to cancel an order
        expect:
          starts: cancel_order                      # the procedure this message started
          says: [email]                             # words the reply contains (any case)
      - customer: samuel.rogers@example.com
        expect: {says_any: [which order, order number], never_says: [sorry]}
      - customer: BB-10166
        expect: {calls: [get_order]}                # operations called on this turn, in this order
    outcome: resolved                               # the ticket's status at the end

The expectations name procedures and operations of the pack; the loader checks them with file and line.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from helpline.pack.loader import BusinessPack, PackError, PackInvalid, node_line, read_pack_yaml, validate_pack_model

TESTS_FOLDER = "tests"
TicketStatus = Literal["open", "resolved", "escalated", "awaiting_callback"]
# Written where the one-time code the agent sent belongs ("my code is {code}").
CODE_PLACEHOLDER = "{code}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Expectation(_Strict):
    """What the agent's reply to one message must (not) do."""

    says: list[str] = Field(default_factory=list, description="every one of these is in the reply (any case)")
    says_any: list[str] = Field(default_factory=list, description="at least one of these is in the reply")
    never_says: list[str] = Field(default_factory=list, description="none of these is in the reply")
    starts: str | None = Field(default=None, description="the procedure this message starts")
    calls: list[str] = Field(default_factory=list, description="operations called on this turn, in this order")
    never_calls: list[str] = Field(default_factory=list, description="operations not called on this turn")
    verified: bool | None = Field(default=None, description="whether the customer is verified after this turn")

    _lists = field_validator("says", "says_any", "never_says", "calls", "never_calls", mode="before")(_as_list)


class Turn(_Strict):
    customer: str = Field(min_length=1, description="what the customer writes ({code}: the one-time code sent)")
    expect: Expectation = Field(default_factory=Expectation)


class ConversationTest(_Strict):
    """One example conversation."""

    name: str | None = Field(default=None, description="what it shows (default: the file name)")
    now: datetime | None = Field(default=None, description="the conversation's clock, ISO with a timezone")
    channel: Literal["chat", "web", "phone", "email", "sms"] = "chat"
    turns: list[Turn] = Field(min_length=1)
    end: bool = Field(default=False, description="the customer leaves after the last turn")
    outcome: TicketStatus | None = Field(default=None, description="the ticket's status at the end")
    resolution_contains: list[str] = Field(default_factory=list, description="words of the ticket's resolution")

    _lists = field_validator("resolution_contains", mode="before")(_as_list)

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the time with its timezone, e.g. 2026-11-20T10:00:00-06:00")
        return value


def load_conversation_tests(pack: BusinessPack) -> list[tuple[str, ConversationTest]]:
    """(file, test) for each `tests/*.yaml` of the pack; PackInvalid lists every mistake with its line."""
    errors: list[PackError] = []
    found: list[tuple[str, ConversationTest]] = []
    for path in sorted((pack.root / TESTS_FOLDER).glob("*.yaml")):
        rel = str(path.relative_to(pack.root))
        data, node = read_pack_yaml(path, pack.root, errors)
        if data is None:
            if node is None and not any(e.file == rel for e in errors):
                errors.append(PackError(rel, 1, "the file is empty"))
            continue
        test = validate_pack_model(ConversationTest, data, node, rel, errors)
        if test is None:
            continue
        before = len(errors)
        for index, turn in enumerate(test.turns):
            where: list[str | int] = ["turns", index, "expect"]
            if turn.expect.starts is not None and turn.expect.starts not in pack.procedures:
                errors.append(PackError(rel, node_line(node, [*where, "starts"]),
                                        f"starts: no procedure '{turn.expect.starts}' in the pack"))
            for name in [*turn.expect.calls, *turn.expect.never_calls]:
                if name not in pack.operations.operations:
                    errors.append(PackError(rel, node_line(node, where), f"no operation '{name}' in operations.yaml"))
        if len(errors) == before:
            found.append((rel, test.model_copy(update={"name": test.name or Path(rel).stem.replace("_", " ")})))
    if errors:
        raise PackInvalid(errors)
    return found
