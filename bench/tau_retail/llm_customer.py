"""A customer played by a language model, the way tau-bench's user simulator plays one.

The model gets the task's natural-language instruction (nothing else: not the ground-truth actions, not the
expected outputs, not the store's data) in a system prompt, and the conversation so far with the roles
turned around: the agent's replies are the model's "user" turns, the customer's own messages its
"assistant" turns. It writes the customer's next message, one at a time, and says "###STOP###" when the
instruction's goal is met (or cannot be met). Any OpenAI-compatible chat-completions endpoint works (the
packaged local model via `helpline llm serve`, vLLM, Ollama, a hosted API), so a team with a GPU can run it
on every task.

It has the same interface as the scripted customers (`first_message`, `reply`, `finished`), so
`bench.tau_retail` drives it exactly like them. The model is reached through Helpline's own adapter
(helpline.llm.openai_compatible), with a long deadline: a CPU-served model takes seconds per line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from helpline.llm.port import ChatMessage, ChatRole, LanguageModel, LanguageModelError

STOP = "###STOP###"
# small models write "### STOP###", "###STOP" …: any run of #s around STOP ends the conversation
STOP_MARK = re.compile(r"#+\s*STOP\b\s*#*", re.IGNORECASE)
# a model that writes the agent's next line too: the customer's message ends where "Agent:" begins
OTHER_SIDE = re.compile(r"\n\s*(agent|assistant|support)\s*:", re.IGNORECASE)
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


@dataclass
class CustomerModelUsage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)


def clean_message(text: str) -> str:
    """The customer's line as a person would type it: without a role label, quotes or the agent's next line."""
    text = OTHER_SIDE.split(text, maxsplit=1)[0].strip()
    text = re.sub(r"^(user|customer|you|me)\s*:\s*", "", text, flags=re.IGNORECASE)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


class LlmCustomer:
    """The customer of one task, played by `model` from the task's instruction."""

    def __init__(self, task: dict[str, Any], model: LanguageModel, *, max_tokens: int = 120,
                 temperature: float = 0.0):
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
        if STOP_MARK.search(text):
            self.finished = True
            if not any(m.role is ChatRole.ASSISTANT for m in self.history):
                self.gave_up = "the model ended the conversation before saying what it wanted"
            return None
        message = clean_message(text)
        if not message:
            self.finished = True
            self.gave_up = "customer model said nothing"
            return None
        self.history.append(ChatMessage(ChatRole.ASSISTANT, message))
        return message
