"""The language-model port: what understanding and wording need from a model, and nothing more.

The core never imports an adapter. A model is *optional* and never decides: whatever `complete` returns is a
proposal that the command processor validates under the pack's policies. Every failure is a `LanguageModelError`
(timeouts, refusals, HTTP errors, an open circuit, unreadable output), so callers have one thing to catch and a
turn always falls back to the embedded understanding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class ChatRole(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True)
class ChatMessage:
    role: ChatRole
    content: str


@dataclass(frozen=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Completion:
    """One answer. `data` is the parsed JSON object when a schema was asked for (already checked to be a JSON
    object, *not* checked against the schema: the caller validates meaning)."""

    text: str
    data: Mapping[str, Any] | None
    usage: TokenUsage
    latency_ms: float
    model: str
    attempts: int = 1
    # the likeliest first tokens of the answer and their log-probabilities, when `top_logprobs` was asked and the
    # server returns them (OpenAI, vLLM and llama.cpp do); empty otherwise. A model asked to pick an option by its
    # number thus says how sure it is of each option in one token.
    first_token_logprobs: Mapping[str, float] = field(default_factory=dict)


class LanguageModelErrorKind(StrEnum):
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    REFUSED = "refused"  # 4xx other than 429: bad key, unknown model, request too large
    MALFORMED = "malformed"  # not the chat-completions shape, or not JSON when JSON was asked for
    CIRCUIT_OPEN = "circuit_open"  # too many recent failures: not even tried
    UNREACHABLE = "unreachable"  # connection refused, DNS


class LanguageModelError(Exception):
    def __init__(self, kind: LanguageModelErrorKind, message: str, latency_ms: float = 0.0):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.latency_ms = latency_ms


@dataclass(frozen=True)
class JsonSchema:
    """A JSON schema the answer must follow (sent as `response_format: json_schema`, strict)."""

    name: str
    schema: Mapping[str, Any]


class LanguageModel(Protocol):
    """A chat model. Implementations are thread-safe; a call blocks for at most the configured timeout
    (including retries) and raises `LanguageModelError` on any failure."""

    @property
    def name(self) -> str: ...

    def complete(self, messages: Sequence[ChatMessage], *, schema: JsonSchema | None = None,
                 max_tokens: int = 400, temperature: float = 0.0, top_logprobs: int = 0) -> Completion: ...


@dataclass
class TurnModelUsage:
    """Accounting for one turn: how many calls, tokens and milliseconds the model cost (zero without one)."""

    calls: int = 0
    failures: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    latency_ms: float = 0.0

    def add(self, completion: Completion) -> None:
        self.calls += 1
        self.usage = TokenUsage(self.usage.prompt_tokens + completion.usage.prompt_tokens,
                                self.usage.completion_tokens + completion.usage.completion_tokens)
        self.latency_ms += completion.latency_ms

    def failed(self, error: LanguageModelError) -> None:
        self.calls += 1
        self.failures += 1
        self.latency_ms += error.latency_ms
