"""A customer played by a language model, the way tau-bench's user simulator plays one.

The model gets the task's natural-language instruction (nothing else: not the ground-truth actions, not the
expected outputs, not the store's data) in a system prompt, and the conversation so far with the roles
turned around: the agent's replies are the model's "user" turns, the customer's own messages its
"assistant" turns. It writes the customer's next message, one at a time, and says "###STOP###" when the
instruction's goal is met (or cannot be met). Any OpenAI-compatible chat-completions endpoint works (the
packaged local model via `helpline llm serve`, vLLM, Ollama, a hosted API), so a team with a GPU can run it
on every task.

It has the same interface as the scripted customers (`first_message`, `reply`, `finished`), so
`bench.tau_retail` drives it exactly like them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from helpline.llm.port import (
    ChatMessage,
    ChatRole,
    Completion,
    JsonSchema,
    LanguageModelError,
    LanguageModelErrorKind,
    TokenUsage,
)

STOP = "###STOP###"
# tau-bench's user simulator greets with this line before the agent has said anything; we use the agent's
# real greeting instead, and this only when the agent said nothing.
FALLBACK_GREETING = "Hi! How can I help you today?"

# tau-bench's user-simulation prompt (tau_bench/envs/user.py, "llm" strategy), word for word but for the
# last rule, added because small models otherwise stop at the first polite reply.
SYSTEM_PROMPT = """You are a user interacting with an agent.

Instruction: {instruction}

Rules:
- Just generate one line at a time to simulate the user's message.
- Do not give away all the instruction at once. Only provide the information that is necessary for the current step.
- Do not hallucinate information that is not provided in the instruction. For example, if the agent asks for the \
order id but it is not mentioned in the instruction, do not make up an order id, just say you do not remember or \
have it.
- If the instruction goal is satisified, generate '###STOP###' as a standalone message without anything else to end \
the conversation.
- Do not repeat the exact instruction in the conversation. Instead, use your own words to convey the same \
information.
- Try to make the conversation as natural as possible, and stick to the personalities in the instruction.
- You are the customer, never the agent: do not offer help, do not ask the agent for their details."""


class ChatCompletionsClient:
    """A minimal OpenAI-compatible chat-completions client (plain httpx) with the port's interface.

    Used until the shared adapter (helpline.llm.openai_compatible) lands; it has no retries or breaker
    because a benchmark wants to see every failure, not hide it."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout_s: float = 120.0):
        base = base_url.rstrip("/")
        self.endpoint = base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")
        self._name = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=5.0), headers=headers)

    @property
    def name(self) -> str:
        return self._name

    def complete(self, messages: Sequence[ChatMessage], *, schema: JsonSchema | None = None,
                 max_tokens: int = 400, temperature: float = 0.0) -> Completion:
        body: dict[str, Any] = {"model": self._name, "max_tokens": max_tokens, "temperature": temperature,
                                "messages": [{"role": m.role.value, "content": m.content} for m in messages]}
        if schema is not None:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": schema.name, "schema": dict(schema.schema),
                                                       "strict": True}}
        started = time.monotonic()
        try:
            response = self.client.post(self.endpoint, json=body)
        except httpx.TimeoutException as exc:
            raise LanguageModelError(LanguageModelErrorKind.TIMEOUT, str(exc)) from exc
        except httpx.HTTPError as exc:
            raise LanguageModelError(LanguageModelErrorKind.UNREACHABLE, str(exc)) from exc
        latency_ms = (time.monotonic() - started) * 1000
        if response.status_code == 429:
            raise LanguageModelError(LanguageModelErrorKind.RATE_LIMITED, response.text[:200], latency_ms)
        if response.status_code >= 500:
            raise LanguageModelError(LanguageModelErrorKind.SERVER_ERROR, response.text[:200], latency_ms)
        if response.status_code >= 400:
            raise LanguageModelError(LanguageModelErrorKind.REFUSED, response.text[:200], latency_ms)
        try:
            payload = response.json()
            text = str(payload["choices"][0]["message"]["content"] or "")
            usage = payload.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LanguageModelError(LanguageModelErrorKind.MALFORMED, response.text[:200], latency_ms) from exc
        return Completion(text=text, data=None, latency_ms=latency_ms, model=str(payload.get("model", self._name)),
                          usage=TokenUsage(int(usage.get("prompt_tokens", 0)),
                                           int(usage.get("completion_tokens", 0))))


@dataclass
class CustomerModelUsage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)


def clean_message(text: str) -> str:
    """The customer's line as a person would type it: without a role label, quotes or a trailing STOP."""
    text = text.strip()
    text = re.sub(r"^(user|customer|me)\s*:\s*", "", text, flags=re.IGNORECASE)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


class LlmCustomer:
    """The customer of one task, played by `model` from the task's instruction."""

    def __init__(self, task: dict[str, Any], model: Any, *, max_tokens: int = 120, temperature: float = 0.0):
        # `model` is any object with the port's `complete` (helpline.llm.port.LanguageModel)
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.history: list[ChatMessage] = [
            ChatMessage(ChatRole.SYSTEM, SYSTEM_PROMPT.format(instruction=task.get("instruction", "")))]
        self.finished = False
        self.gave_up = ""  # why the conversation ended without a STOP (a model error), for the transcript
        self.usage = CustomerModelUsage()

    def heard(self, replies: list[str]) -> None:
        """The agent's greeting, before the customer's first message."""
        self.history.append(ChatMessage(ChatRole.USER, "\n".join(replies) or FALLBACK_GREETING))

    def first_message(self) -> str | None:
        if len(self.history) == 1:
            self.history.append(ChatMessage(ChatRole.USER, FALLBACK_GREETING))
        return self._next()

    def reply(self, replies: list[str]) -> str | None:
        self.history.append(ChatMessage(ChatRole.USER, "\n".join(replies) or "..."))
        return self._next()

    def _next(self) -> str | None:
        try:
            completion = self.model.complete(self.history, max_tokens=self.max_tokens,
                                             temperature=self.temperature)
        except LanguageModelError as exc:
            self.finished = True
            self.gave_up = f"customer model failed: {exc}"
            return None
        self.usage.calls += 1
        self.usage.prompt_tokens += completion.usage.prompt_tokens
        self.usage.completion_tokens += completion.usage.completion_tokens
        self.usage.seconds += completion.latency_ms / 1000
        self.usage.latencies_s.append(completion.latency_ms / 1000)
        text = completion.text
        if STOP in text:
            self.finished = True
            return None
        message = clean_message(text)
        if not message:
            self.finished = True
            self.gave_up = "customer model said nothing"
            return None
        self.history.append(ChatMessage(ChatRole.ASSISTANT, message))
        return message
