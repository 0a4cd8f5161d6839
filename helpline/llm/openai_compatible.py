"""The adapter for the OpenAI-compatible chat-completions wire protocol (`POST {base}/v1/chat/completions`),
spoken by hosted APIs and by vLLM, Ollama, llama.cpp's server, LM Studio and others.

Plain httpx rather than the openai SDK: we need one endpoint, our own deadline, retry and breaker policy (the
SDK brings its own retries and timeouts, which we would have to switch off), and error kinds mapped to
`LanguageModelError`; the SDK would add a dependency tree for a few dozen lines of request/response code.

Every call is bounded by `timeout_s` *in total*: retries, back-off and Retry-After waits included. The HTTP
exchange runs on a small worker pool so that even a server that sends its headers and then stalls cannot hold
the caller past the deadline (httpx's timeouts are per read, not per call).
"""

from __future__ import annotations

import concurrent.futures
import email.utils
import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from helpline.llm.breaker import CircuitBreaker
from helpline.llm.port import (
    ChatMessage,
    ChatRole,
    Completion,
    JsonSchema,
    LanguageModelError,
    LanguageModelErrorKind,
    TokenUsage,
)
from helpline.llm.settings import LlmSettings

logger = logging.getLogger(__name__)
Kind = LanguageModelErrorKind

# An answer of a few hundred tokens is a few KB; anything near this is not a chat completion.
MAX_RESPONSE_BYTES = 2_000_000
MAX_TOP_LOGPROBS = 20  # OpenAI's own limit
# Failures that say the server is down or overloaded: they count towards opening the breaker. A refusal or an
# unreadable answer comes from a server that is up, so it doesn't.
AVAILABILITY_FAILURES = frozenset({Kind.TIMEOUT, Kind.UNREACHABLE, Kind.SERVER_ERROR, Kind.RATE_LIMITED})
_RETRYABLE = AVAILABILITY_FAILURES
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_SCHEMA_REJECTED = re.compile(r"response_format|json_schema", re.I)


def chat_completions_url(base_url: str) -> str:
    """`http://host:8080`, `http://host:8080/` and `http://host:8080/v1` all mean the same server."""
    base = base_url.rstrip("/")
    base = base.removesuffix("/chat/completions").removesuffix("/v1")
    return f"{base}/v1/chat/completions"


def display_url(url: str) -> str:
    """The URL without any user:password part, for logs and reprs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a model's answer: ```json fences and any prose around the object are
    tolerated (small models add both); None when there is no object."""
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1), text] if fenced else [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            try:
                value, _ = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError:
                start = candidate.find("{", start + 1)
                continue
            if isinstance(value, dict):
                return value
            start = candidate.find("{", start + 1)
    return None


def parse_retry_after(headers: httpx.Headers, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Seconds to wait from `retry-after-ms` (OpenAI) or `Retry-After` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: httpx.Headers
    body: bytes


@dataclass(frozen=True)
class _Parsed:
    text: str
    data: dict[str, Any] | None
    usage: TokenUsage
    model: str
    first_token_logprobs: dict[str, float] = field(default_factory=dict)


class _Failure(Exception):
    """One attempt's failure, before we know whether it will be retried."""

    def __init__(self, kind: LanguageModelErrorKind, message: str, retry_after: float | None = None,
                 schema_rejected: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.schema_rejected = schema_rejected


class OpenAICompatibleModel:
    """A `LanguageModel` over HTTP. Thread-safe: one pooled httpx client (keep-alive) shared by all callers."""

    def __init__(self, settings: LlmSettings, *, breaker: CircuitBreaker | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.url or not settings.model:
            raise ValueError("an OpenAI-compatible model needs a url and a model name")
        self._settings = settings
        self._model = settings.model
        self._endpoint = chat_completions_url(settings.url)
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.breaker = breaker or CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_s, clock)
        # Learnt once per server: some servers (older llama.cpp, some proxies) reject json_schema; after the
        # first refusal we ask for json_object with the schema in the system message. A plain bool: assignment
        # is atomic and a race only costs one extra downgrade.
        self._json_schema_supported = True
        limits = httpx.Limits(max_connections=settings.max_connections,
                              max_keepalive_connections=settings.max_connections, keepalive_expiry=30.0)
        self._client = httpx.Client(limits=limits, transport=transport, follow_redirects=False,
                                    headers={"Accept": "application/json", "User-Agent": "helpline"})
        self._workers = concurrent.futures.ThreadPoolExecutor(max_workers=settings.max_connections,
                                                              thread_name_prefix="llm-http")
        self._closed = threading.Event()
        self._warn_if_key_travels_in_clear()

    # --- LanguageModel ------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._model

    @property
    def json_schema_supported(self) -> bool:
        """False once the server refused `response_format: json_schema` (we then send json_object)."""
        return self._json_schema_supported

    def complete(self, messages: Sequence[ChatMessage], *, schema: JsonSchema | None = None,
                 max_tokens: int = 400, temperature: float = 0.0, top_logprobs: int = 0) -> Completion:
        started = self._clock()
        if not self.breaker.allow():
            wait = self.breaker.seconds_until_probe()
            raise LanguageModelError(Kind.CIRCUIT_OPEN, f"{self._model} failed repeatedly; not tried for "
                                     f"another {wait:.0f} s", latency_ms=self._elapsed_ms(started))
        try:
            completion = self._complete(messages, schema, max_tokens, temperature, started, top_logprobs)
        except LanguageModelError as error:
            if error.kind in AVAILABILITY_FAILURES:
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            logger.warning("language model %s: %s after %.0f ms", self._model, error.kind, error.latency_ms)
            raise
        except BaseException:
            self.breaker.record_failure()  # a bug here must not leave a half-open probe in flight forever
            raise
        self.breaker.record_success()
        logger.debug("language model %s: %d+%d tokens in %.0f ms (%d attempt(s))", completion.model,
                     completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.latency_ms,
                     completion.attempts)
        return completion

    # --- one call: attempts, retries, back-off -------------------------------------------------------------

    def _complete(self, messages: Sequence[ChatMessage], schema: JsonSchema | None, max_tokens: int,
                  temperature: float, started: float, top_logprobs: int = 0) -> Completion:
        deadline = started + self._settings.timeout_s
        attempts = 0
        retries_left = self._settings.max_retries
        while True:
            attempts += 1
            json_object = schema is not None and not self._json_schema_supported
            payload = self._payload(messages, schema, max_tokens, temperature, json_object)
            if top_logprobs > 0:
                payload["logprobs"] = True
                payload["top_logprobs"] = min(top_logprobs, MAX_TOP_LOGPROBS)
            try:
                parsed = self._parse(self._exchange(payload, deadline), schema is not None)
            except _Failure as failure:
                if failure.schema_rejected and not json_object:
                    logger.warning("language model %s: the server refused response_format json_schema; asking "
                                   "for json_object from now on", self._model)
                    self._json_schema_supported = False
                    continue  # a different request, not a retry: it doesn't use up the retry budget
                wait = self._retry_wait(failure, attempts, retries_left, deadline)
                if wait is None:
                    raise LanguageModelError(failure.kind, f"{failure.message} (attempt {attempts})",
                                             latency_ms=self._elapsed_ms(started)) from None
                retries_left -= 1
                logger.info("language model %s: %s, retrying in %.2f s", self._model, failure.kind, wait)
                self._sleep(wait)
                continue
            return Completion(text=parsed.text, data=parsed.data, usage=parsed.usage,
                              latency_ms=self._elapsed_ms(started), model=parsed.model, attempts=attempts,
                              first_token_logprobs=parsed.first_token_logprobs)

    def _retry_wait(self, failure: _Failure, attempts: int, retries_left: int, deadline: float) -> float | None:
        """Seconds to wait before the next attempt, or None when this failure ends the call."""
        if failure.kind not in _RETRYABLE or retries_left <= 0:
            return None
        remaining = deadline - self._clock()
        if failure.retry_after is not None:
            # the server said when to come back: sooner would only earn another 429, and later than we can
            # wait means the call fails now rather than at the deadline
            if failure.retry_after > min(self._settings.retry_after_cap_s, remaining * 0.9):
                return None
            return failure.retry_after
        # full jitter: callers that failed together don't come back together
        wait = self._rng.uniform(0, self._settings.retry_backoff_s * 2 ** (attempts - 1))
        # an attempt needs time too: don't sleep into the last few percent of the budget
        return wait if wait < remaining * 0.9 else None

    # --- the wire ----------------------------------------------------------------------------------------

    def _payload(self, messages: Sequence[ChatMessage], schema: JsonSchema | None, max_tokens: int,
                 temperature: float, json_object: bool) -> dict[str, Any]:
        wire = [{"role": str(m.role), "content": m.content} for m in messages]
        payload: dict[str, Any] = {"model": self._model, "messages": wire, "max_tokens": max_tokens,
                                   "temperature": temperature, "stream": False}
        if schema is None:
            return payload
        if not json_object:
            payload["response_format"] = {"type": "json_schema", "json_schema": {
                "name": schema.name, "schema": dict(schema.schema), "strict": True}}
            return payload
        payload["response_format"] = {"type": "json_object"}
        instruction = ("Answer with one JSON object, and nothing else, that follows this JSON schema:\n"
                       + json.dumps(schema.schema, ensure_ascii=False))
        system = next((i for i, m in enumerate(wire) if m["role"] == ChatRole.SYSTEM), None)
        if system is None:
            wire.insert(0, {"role": str(ChatRole.SYSTEM), "content": instruction})
        else:
            wire[system] = {**wire[system], "content": f"{wire[system]['content']}\n\n{instruction}"}
        return payload

    def _exchange(self, payload: Mapping[str, Any], deadline: float) -> _Reply:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise _Failure(Kind.TIMEOUT, f"no answer within {self._settings.timeout_s:g} s")
        if self._closed.is_set():
            raise _Failure(Kind.UNREACHABLE, "the model client is closed")
        future = self._workers.submit(self._post, payload, remaining)
        try:
            return future.result(timeout=remaining)
        except concurrent.futures.TimeoutError:
            # the worker gives up by itself (its httpx timeouts are no longer than `remaining`)
            future.cancel()
            raise _Failure(Kind.TIMEOUT, f"no answer within {self._settings.timeout_s:g} s") from None

    def _post(self, payload: Mapping[str, Any], remaining: float) -> _Reply:
        timeout = httpx.Timeout(remaining, connect=min(self._settings.connect_timeout_s, remaining))
        headers = {}
        if self._settings.api_key is not None:
            headers["Authorization"] = f"Bearer {self._settings.api_key.get_secret_value()}"
        try:
            with self._client.stream("POST", self._endpoint, json=payload, headers=headers,
                                     timeout=timeout) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise _Failure(Kind.MALFORMED, f"the answer is larger than {MAX_RESPONSE_BYTES} bytes")
                return _Reply(response.status_code, response.headers, bytes(body))
        except httpx.TimeoutException:
            raise _Failure(Kind.TIMEOUT, f"no answer within {self._settings.timeout_s:g} s") from None
        except httpx.ConnectError as exc:
            raise _Failure(Kind.UNREACHABLE, f"cannot connect to {display_url(self._endpoint)}: "
                                             f"{type(exc).__name__}") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            # the server dropped the connection mid-answer (a crash, a restart, a proxy cutting it)
            raise _Failure(Kind.SERVER_ERROR, f"the answer was cut off ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise _Failure(Kind.UNREACHABLE, f"{type(exc).__name__} talking to "
                                             f"{display_url(self._endpoint)}") from None

    # --- reading the answer ----------------------------------------------------------------------------------

    def _parse(self, reply: _Reply, want_json: bool) -> _Parsed:
        if reply.status != 200:
            raise self._http_failure(reply)
        try:
            body = json.loads(reply.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _Failure(Kind.MALFORMED, "the server's answer is not JSON") from None
        choices = body.get("choices") if isinstance(body, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise _Failure(Kind.MALFORMED, "the answer has no choices[0] (not a chat completion)")
        message = choices[0].get("message")
        if not isinstance(message, dict):
            raise _Failure(Kind.MALFORMED, "choices[0] has no message")
        if isinstance(message.get("refusal"), str) and message["refusal"]:
            raise _Failure(Kind.REFUSED, "the model refused to answer")
        text = message.get("content")
        if not isinstance(text, str) or not text.strip():
            text = _tool_call_arguments(message)
        if text is None:
            raise _Failure(Kind.MALFORMED, "the message has neither content nor tool call arguments")
        data = None
        if want_json:
            data = extract_json_object(text)
            if data is None:
                finish = choices[0].get("finish_reason")
                cut = " (cut off at max_tokens)" if finish == "length" else ""
                raise _Failure(Kind.MALFORMED, f"no JSON object in the answer{cut}")
        model = body.get("model")
        return _Parsed(text, data, _usage(body.get("usage")), model if isinstance(model, str) and model
                       else self._model, _first_token_logprobs(choices[0].get("logprobs")))

    def _http_failure(self, reply: _Reply) -> _Failure:
        detail = self._error_detail(reply.body)
        message = f"HTTP {reply.status}" + (f": {detail}" if detail else "")
        if reply.status == 429:
            return _Failure(Kind.RATE_LIMITED, message, retry_after=parse_retry_after(reply.headers))
        if reply.status == 408:
            return _Failure(Kind.TIMEOUT, message)
        if reply.status >= 500:
            return _Failure(Kind.SERVER_ERROR, message, retry_after=parse_retry_after(reply.headers))
        rejected = reply.status in (400, 422) and bool(_SCHEMA_REJECTED.search(detail))
        return _Failure(Kind.REFUSED, message, schema_rejected=rejected)

    def _error_detail(self, body: bytes) -> str:
        """The server's own words (`{"error": {"message": ...}}`), short, and without our key in them: some
        servers quote the key they refused."""
        try:
            parsed = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return ""
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, dict):
            error = error.get("message")
        if error is None and isinstance(parsed, dict):
            error = parsed.get("detail") or parsed.get("message")
        detail = str(error)[:300] if error is not None else ""
        key = self._settings.api_key.get_secret_value() if self._settings.api_key is not None else ""
        return detail.replace(key, "[key]") if key else detail

    # --- housekeeping ------------------------------------------------------------------------------------

    def _elapsed_ms(self, started: float) -> float:
        return (self._clock() - started) * 1000

    def _warn_if_key_travels_in_clear(self) -> None:
        parts = urlsplit(self._endpoint)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if self._settings.api_key is not None and parts.scheme == "http" and not loopback:
            logger.warning("the language model API key is sent over plain http to %s; use https",
                           display_url(self._endpoint))

    def close(self) -> None:
        self._closed.set()
        self._workers.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def __enter__(self) -> OpenAICompatibleModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"OpenAICompatibleModel(model={self._model!r}, url={display_url(self._endpoint)!r}, "
                f"breaker={self.breaker.state})")


def _tool_call_arguments(message: Mapping[str, Any]) -> str | None:
    """`tool_calls[0].function.arguments`: what a server that answers with a function call sends instead of
    content."""
    calls = message.get("tool_calls")
    if not isinstance(calls, list) or not calls or not isinstance(calls[0], dict):
        return None
    function = calls[0].get("function")
    arguments = function.get("arguments") if isinstance(function, dict) else None
    if isinstance(arguments, dict):  # a few servers send the object itself, not its JSON text
        return json.dumps(arguments)
    return arguments if isinstance(arguments, str) else None


def _first_token_logprobs(raw: Any) -> dict[str, float]:
    """`choices[0].logprobs.content[0]`: the first token and its `top_logprobs` alternatives, as token -> logprob.
    Anything unexpected gives nothing: log-probabilities only ever refine an answer the text already gives."""
    content = raw.get("content") if isinstance(raw, dict) else None
    first = content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else {}
    found: dict[str, float] = {}
    for item in [first, *(first.get("top_logprobs") or ())]:
        if isinstance(item, dict) and isinstance(item.get("token"), str) and \
                isinstance(item.get("logprob"), int | float) and math.isfinite(item["logprob"]):
            found.setdefault(item["token"], float(item["logprob"]))
    return found


def _usage(raw: Any) -> TokenUsage:
    if not isinstance(raw, dict):
        return TokenUsage()

    def count(name: str) -> int:
        value = raw.get(name)
        return value if isinstance(value, int) and value >= 0 else 0

    return TokenUsage(prompt_tokens=count("prompt_tokens"), completion_tokens=count("completion_tokens"))
