"""How much a conversation used the agent's language model, read from the transcript Helpline recorded.

The HTTP API does not expose per-turn accounting, but the recorder keeps it on each customer line
(`meta["model"]`: calls, failures, tokens, latency, and `understood_by`, "llm" when the model's reading
replaced the embedded one). The bench reads it from the run's own SQLite database after each task, so a
hybrid run can say how often the model was asked and how often its choice was taken, task by task,
without anyone reading a transcript.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import select

from helpline.store.db import Database
from helpline.store.models import Message


@dataclass
class ModelTurns:
    """Model accounting over the customer turns of one or more conversations."""

    customer_turns: int = 0
    asked: int = 0  # customer turns on which the model was asked at least once
    calls: int = 0
    failures: int = 0  # calls that timed out or failed otherwise (the embedded reading stood)
    taken: int = 0  # turns understood by the model (hybrid: its choice replaced the embedded reading)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0

    def __add__(self, other: ModelTurns) -> ModelTurns:
        return ModelTurns(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def add_turn(self, meta: dict[str, Any]) -> None:
        self.customer_turns += 1
        model = meta.get("model")
        if not isinstance(model, dict) or not model.get("calls"):
            return
        self.asked += 1
        self.calls += int(model.get("calls", 0))
        self.failures += int(model.get("failures", 0))
        self.taken += model.get("understood_by") == "llm"
        self.prompt_tokens += int(model.get("prompt_tokens", 0))
        self.completion_tokens += int(model.get("completion_tokens", 0))
        self.latency_ms += float(model.get("latency_ms", 0.0))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "latency_ms": round(self.latency_ms, 1)}

    def line(self) -> str:
        answered = self.calls - self.failures
        per_call = f"{self.latency_ms / self.calls / 1000:.1f} s a call" if self.calls else "no calls"
        tokens = (f", {self.prompt_tokens / answered:.0f} + {self.completion_tokens / answered:.0f} tokens a call"
                  if answered else "")
        return (f"model asked on {self.asked} of {self.customer_turns} customer turns ({self.calls} calls, "
                f"{self.failures} failed), its reading taken on {self.taken}; {per_call}{tokens}")


def conversation_model_turns(database: Database, conversation_id: str) -> ModelTurns:
    """The model accounting of one conversation's customer lines."""
    turns = ModelTurns()
    with database.read_session() as session:
        metas = session.scalars(select(Message.meta).where(Message.conversation_id == conversation_id,
                                                           Message.role == "customer")
                                .order_by(Message.seq)).all()
    for meta in metas:
        turns.add_turn(meta or {})
    return turns


# option keys may hold spaces (a fixed choice's value: "option:no longer needed")
_CHOICE = re.compile(r"hybrid choice: (\d+) options, embedded (.+?) p=([\d.]+), best (.+?) p=([\d.]+), (taken|kept)")


@dataclass(frozen=True)
class LoggedChoice:
    """One hybrid choice as `helpline.llm.assisted` logs it: option keys and probabilities, never the message."""

    options: int
    embedded: str
    embedded_p: float
    best: str
    best_p: float
    taken: bool


def logged_choices(log_text: str) -> list[LoggedChoice]:
    return [LoggedChoice(int(m[1]), m[2], float(m[3]), m[4], float(m[5]), m[6] == "taken")
            for m in _CHOICE.finditer(log_text)]


def choices_line(choices: list[LoggedChoice]) -> str:
    """How sure the model was: the best option's probability (quartiles) and how often it was the embedded one."""
    if not choices:
        return "no hybrid choice logged"
    best = sorted(c.best_p for c in choices)

    def at(q: float) -> float:
        return best[min(len(best) - 1, int(q * len(best)))]

    return (f"{len(choices)} choices ({statistics.mean(c.options for c in choices):.1f} options on average): "
            f"best option's probability min {best[0]:.2f} / p25 {at(0.25):.2f} / median {at(0.5):.2f} / "
            f"p75 {at(0.75):.2f} / max {best[-1]:.2f}; best = the embedded reading in "
            f"{sum(c.best == c.embedded for c in choices)}; embedded reading's own probability median "
            f"{statistics.median(c.embedded_p for c in choices):.2f}; taken {sum(c.taken for c in choices)}")
