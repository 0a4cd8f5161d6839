"""The OpenAI-compatible adapter against a real HTTP server on loopback (tests/llm_double.py): what it sends,
how it reads answers, and how every way a model server fails becomes a LanguageModelError in bounded time."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from helpline.llm.openai_compatible import (
    OpenAICompatibleModel,
    chat_completions_url,
    extract_json_object,
    parse_retry_after,
)
from helpline.llm.port import ChatMessage, ChatRole, JsonSchema, LanguageModelError, LanguageModelErrorKind
from helpline.llm.settings import LlmSettings
from tests.llm_double import (
    ChatCompletionsDouble,
    Reply,
    answer,
    completion_body,
    delayed,
    error,
    json_answer,
    malformed_json,
    schema_unsupported,
    stalled,
    truncated,
    wrong_shape,
)

Kind = LanguageModelErrorKind
API_KEY = "sk-test-7f3c9a1e5b2d4c6e8a0b"
INTENT = JsonSchema("intent", {"type": "object", "properties": {"intent": {"type": "string"}},
                               "required": ["intent"], "additionalProperties": False})
MESSAGES = [ChatMessage(ChatRole.SYSTEM, "You read customer messages."),
            ChatMessage(ChatRole.USER, "where is my order?")]


def settings_for(server: ChatCompletionsDouble, **overrides: Any) -> LlmSettings:
    values: dict[str, Any] = {"url": server.url, "model": "test-model", "timeout_s": 3.0, "retry_backoff_s": 0.01,
                              **overrides}
    return LlmSettings(**values)


@pytest.fixture()
def make_model(llm_server: ChatCompletionsDouble) -> Iterator[Any]:
    made: list[OpenAICompatibleModel] = []

    def factory(**overrides: Any) -> OpenAICompatibleModel:
        model = OpenAICompatibleModel(settings_for(llm_server, **overrides))
        made.append(model)
        return model

    yield factory
    for model in made:
        model.close()


def failure(model: OpenAICompatibleModel, schema: JsonSchema | None = INTENT) -> tuple[LanguageModelError, float]:
    started = time.monotonic()
    with pytest.raises(LanguageModelError) as caught:
        model.complete(MESSAGES, schema=schema)
    return caught.value, time.monotonic() - started


# --- what is sent, what is read ------------------------------------------------------------------------------


def test_a_schema_is_sent_as_strict_json_schema_and_the_answer_comes_back_parsed(
        llm_server: ChatCompletionsDouble, make_model: Any) -> None:
    llm_server.script(json_answer({"intent": "order_status"}, prompt_tokens=31, completion_tokens=7))
    completion = make_model().complete(MESSAGES, schema=INTENT, max_tokens=120, temperature=0.0)

    assert completion.data == {"intent": "order_status"}
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (31, 7)
    assert completion.attempts == 1 and completion.model == "test-model" and completion.latency_ms > 0
    sent = llm_server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.json["model"] == "test-model" and sent.json["max_tokens"] == 120 and sent.json["temperature"] == 0
    assert sent.json["messages"] == [{"role": "system", "content": "You read customer messages."},
                                     {"role": "user", "content": "where is my order?"}]
    assert sent.json["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "intent", "schema": INTENT.schema, "strict": True}}


def test_without_a_schema_the_text_is_returned_and_no_response_format_is_sent(
        llm_server: ChatCompletionsDouble, make_model: Any) -> None:
    llm_server.script(answer("Your order ships tomorrow."))
    completion = make_model().complete(MESSAGES)
    assert completion.text == "Your order ships tomorrow." and completion.data is None
    assert "response_format" not in llm_server.requests[0].json
    assert "logprobs" not in llm_server.requests[0].json and completion.first_token_logprobs == {}


def with_logprobs(content: str, logprobs: Any) -> Reply:
    body = completion_body(content)
    body["choices"][0]["logprobs"] = logprobs
    return Reply(body=body)


def test_the_first_tokens_log_probabilities_come_back_when_asked(llm_server: ChatCompletionsDouble,
                                                                 make_model: Any) -> None:
    first = {"token": "2", "logprob": -0.1, "bytes": [50],
             "top_logprobs": [{"token": "2", "logprob": -0.1, "bytes": [50]},
                              {"token": "1", "logprob": -2.4, "bytes": [49]}]}
    llm_server.script(with_logprobs("2", {"content": [first, {"token": "\n", "logprob": -0.5, "top_logprobs": []}]}))
    completion = make_model().complete(MESSAGES, max_tokens=2, top_logprobs=50)
    assert completion.first_token_logprobs == {"2": -0.1, "1": -2.4}
    sent = llm_server.requests[0].json
    assert sent["logprobs"] is True and sent["top_logprobs"] == 20, "OpenAI accepts at most 20"


@pytest.mark.parametrize("logprobs", [None, {}, {"content": []}, {"content": [{"token": "1"}]},
                                      {"content": [{"token": "1", "logprob": "high"}]}, "nonsense"])
def test_log_probabilities_a_server_does_not_give_are_simply_absent(llm_server: ChatCompletionsDouble,
                                                                    make_model: Any, logprobs: Any) -> None:
    llm_server.script(with_logprobs("1", logprobs))
    completion = make_model().complete(MESSAGES, top_logprobs=5)
    assert completion.text == "1" and completion.first_token_logprobs == {}


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_the_base_url_may_end_with_or_without_v1(llm_server: ChatCompletionsDouble, suffix: str) -> None:
    llm_server.script(answer("hi"))
    with OpenAICompatibleModel(LlmSettings(url=llm_server.url + suffix, model="test-model")) as model:
        assert model.complete(MESSAGES).text == "hi"
    assert llm_server.requests[0].path == "/v1/chat/completions"
    assert chat_completions_url("https://api.example.com/v1/") == "https://api.example.com/v1/chat/completions"


@pytest.mark.parametrize("content", [
    '```json\n{"intent": "refund"}\n```',
    'Sure! Here is the JSON:\n{"intent": "refund"}\nHope that helps.',
    '```\n{"intent": "refund"}\n```',
    '{"intent": "refund"} {"intent": "other"}',
])
def test_fences_and_prose_around_the_object_are_tolerated(llm_server: ChatCompletionsDouble, make_model: Any,
                                                          content: str) -> None:
    llm_server.script(answer(content))
    assert make_model().complete(MESSAGES, schema=INTENT).data == {"intent": "refund"}


def test_tool_call_arguments_are_read_when_the_content_is_empty(llm_server: ChatCompletionsDouble,
                                                                make_model: Any) -> None:
    llm_server.script(answer(None, tool_arguments='{"intent": "cancel_order"}'))
    assert make_model().complete(MESSAGES, schema=INTENT).data == {"intent": "cancel_order"}


@pytest.mark.parametrize("content", ["I think the customer wants a refund.", '["refund"]', '{"intent": '])
def test_an_answer_without_a_json_object_is_malformed_and_not_retried(
        llm_server: ChatCompletionsDouble, make_model: Any, content: str) -> None:
    llm_server.script(answer(content), json_answer({"intent": "never asked for"}))
    caught, _ = failure(make_model())
    assert caught.kind is Kind.MALFORMED
    assert len(llm_server.requests) == 1  # at temperature 0 the same prompt gives the same non-answer


@pytest.mark.parametrize("reply", [malformed_json(), wrong_shape(), answer(None)],
                         ids=["not-json", "not-a-chat-completion", "no-content"])
def test_a_reply_that_is_not_a_chat_completion_is_malformed(llm_server: ChatCompletionsDouble, make_model: Any,
                                                            reply: Any) -> None:
    llm_server.script(reply)
    assert failure(make_model())[0].kind is Kind.MALFORMED


def test_a_model_refusal_is_refused(llm_server: ChatCompletionsDouble, make_model: Any) -> None:
    llm_server.script(answer(None, refusal="I can't help with that."))
    assert failure(make_model())[0].kind is Kind.REFUSED


# --- HTTP errors, retries, deadlines ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403, 404, 400])
def test_client_errors_are_refused_at_once(llm_server: ChatCompletionsDouble, make_model: Any,
                                           status: int) -> None:
    llm_server.script(error(status), json_answer({"intent": "x"}))
    caught, elapsed = failure(make_model())
    assert caught.kind is Kind.REFUSED and f"HTTP {status}" in caught.message
    assert len(llm_server.requests) == 1 and elapsed < 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_retried_and_the_retry_can_succeed(llm_server: ChatCompletionsDouble,
                                                             make_model: Any, status: int) -> None:
    llm_server.script(error(status), json_answer({"intent": "order_status"}))
    completion = make_model().complete(MESSAGES, schema=INTENT)
    assert completion.data == {"intent": "order_status"} and completion.attempts == 2


def test_server_errors_end_as_server_error_after_the_retries(llm_server: ChatCompletionsDouble,
                                                            make_model: Any) -> None:
    llm_server.script(error(500), error(503), error(500), json_answer({"intent": "too late"}))
    caught, _ = failure(make_model(max_retries=2))
    assert caught.kind is Kind.SERVER_ERROR and caught.latency_ms > 0
    assert len(llm_server.requests) == 3


def test_a_truncated_body_is_retried_then_a_server_error(llm_server: ChatCompletionsDouble,
                                                         make_model: Any) -> None:
    llm_server.script(truncated(), json_answer({"intent": "order_status"}))
    assert make_model().complete(MESSAGES, schema=INTENT).attempts == 2
    llm_server.script(truncated(), truncated())
    assert failure(make_model(max_retries=1))[0].kind is Kind.SERVER_ERROR


def test_429_waits_as_long_as_retry_after_says(llm_server: ChatCompletionsDouble, make_model: Any) -> None:
    llm_server.script(error(429, retry_after=1), json_answer({"intent": "order_status"}))
    completion = make_model().complete(MESSAGES, schema=INTENT)
    first, second = llm_server.requests
    assert completion.attempts == 2
    assert second.received_at - first.received_at >= 0.95


def test_429_asking_for_longer_than_the_cap_fails_at_once(llm_server: ChatCompletionsDouble,
                                                          make_model: Any) -> None:
    llm_server.script(error(429, retry_after=30), json_answer({"intent": "x"}))
    caught, elapsed = failure(make_model(retry_after_cap_s=4.0))
    assert caught.kind is Kind.RATE_LIMITED and elapsed < 1
    assert len(llm_server.requests) == 1


def test_429_without_retry_after_backs_off_and_ends_rate_limited(llm_server: ChatCompletionsDouble,
                                                                 make_model: Any) -> None:
    llm_server.script(error(429), error(429), error(429))
    caught, _ = failure(make_model(max_retries=2))
    assert caught.kind is Kind.RATE_LIMITED and len(llm_server.requests) == 3


# stalled: the headers come late (0.3 s), then the body never does; httpx's per-read timeouts alone would let
# this run to 0.3 s + a whole read timeout
@pytest.mark.parametrize("reply", [delayed(answer("late"), 10), replace(stalled(10), delay_s=0.3)],
                         ids=["slow", "late-headers-stalled-body"])
def test_a_slow_server_times_out_at_the_deadline(llm_server: ChatCompletionsDouble, make_model: Any,
                                                 reply: Any) -> None:
    llm_server.script(reply, reply, reply)
    caught, elapsed = failure(make_model(timeout_s=0.6))
    assert caught.kind is Kind.TIMEOUT
    assert 0.55 <= elapsed < 0.8, elapsed  # the deadline covers the whole call, retries included
    assert 550 <= caught.latency_ms < 800


def test_a_slow_first_attempt_leaves_time_for_none_but_a_fast_server_is_fine_again(
        llm_server: ChatCompletionsDouble, make_model: Any) -> None:
    model = make_model(timeout_s=0.5)
    llm_server.script(delayed(answer("late"), 5))
    assert failure(model)[0].kind is Kind.TIMEOUT
    llm_server.script(answer("on time"))
    assert model.complete(MESSAGES).text == "on time"


def test_nothing_listening_is_unreachable_quickly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        settings = LlmSettings(url=f"http://127.0.0.1:{port}", model="m", retry_backoff_s=0.01)
        with OpenAICompatibleModel(settings) as model:
            caught, elapsed = failure(model)
    assert caught.kind is Kind.UNREACHABLE and elapsed < 1


# --- json_schema downgrade -----------------------------------------------------------------------------------


def test_a_server_without_json_schema_gets_json_object_and_the_schema_in_the_system_message(
        llm_server: ChatCompletionsDouble, make_model: Any) -> None:
    llm_server.script(schema_unsupported(), json_answer({"intent": "refund"}), json_answer({"intent": "other"}))
    model = make_model(max_retries=0)  # the downgrade is not a retry: it works with no retries allowed

    assert model.complete(MESSAGES, schema=INTENT).data == {"intent": "refund"}
    assert model.complete(MESSAGES, schema=INTENT).data == {"intent": "other"}

    rejected, downgraded, remembered = (r.json for r in llm_server.requests)
    assert rejected["response_format"]["type"] == "json_schema"
    for request in (downgraded, remembered):  # the second call doesn't try json_schema again
        assert request["response_format"] == {"type": "json_object"}
        system = request["messages"][0]
        assert system["role"] == "system" and system["content"].startswith("You read customer messages.")
        assert json.dumps(INTENT.schema) in system["content"]
    assert not model.json_schema_supported


def test_a_400_about_something_else_is_not_mistaken_for_a_schema_refusal(llm_server: ChatCompletionsDouble,
                                                                         make_model: Any) -> None:
    llm_server.script(error(400, "This model's maximum context length is 4096 tokens."))
    model = make_model()
    assert failure(model)[0].kind is Kind.REFUSED
    assert model.json_schema_supported and len(llm_server.requests) == 1


# --- connections, threads ------------------------------------------------------------------------------------


def test_sequential_calls_reuse_one_keep_alive_connection(llm_server: ChatCompletionsDouble,
                                                          make_model: Any) -> None:
    llm_server.script(*(answer(f"answer {i}") for i in range(5)))
    model = make_model()
    assert [model.complete(MESSAGES).text for _ in range(5)] == [f"answer {i}" for i in range(5)]
    assert llm_server.connections == 1


def test_concurrent_callers_each_get_their_own_answer(llm_server: ChatCompletionsDouble, make_model: Any) -> None:
    llm_server.responder = lambda request: json_answer({"intent": request.json["messages"][-1]["content"]})
    model = make_model()
    results: dict[int, Any] = {}

    def call(i: int) -> None:
        results[i] = model.complete([ChatMessage(ChatRole.USER, f"caller {i}")], schema=INTENT).data

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == {i: {"intent": f"caller {i}"} for i in range(12)}


# --- the API key ---------------------------------------------------------------------------------------------


def test_the_api_key_is_a_bearer_header_and_in_no_log_record_or_repr(
        llm_server: ChatCompletionsDouble, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(llm_server, api_key=API_KEY, max_retries=1)
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    # the server quotes the key it refuses, as OpenAI does
    llm_server.script(json_answer({"intent": "order_status"}), error(503), error(401, f"Incorrect API key "
                                                                                     f"provided: {API_KEY}."))
    with OpenAICompatibleModel(settings) as model:
        model.complete(MESSAGES, schema=INTENT)
        refused, _ = failure(model)
        texts = [repr(model), repr(settings), str(settings), str(settings.model_dump()), repr(model.breaker)]

    assert all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in llm_server.requests)
    assert refused.kind is Kind.REFUSED and API_KEY not in str(refused)
    assert caplog.records, "the adapter and httpx log at debug level"
    logged = [record.getMessage() for record in caplog.records] + [str(record.args) for record in caplog.records]
    assert not [line for line in logged if API_KEY in line]
    assert not [text for text in texts if API_KEY in text]
    assert not [r for r in llm_server.requests if API_KEY in r.raw.decode()]  # only in the header


def test_no_authorization_header_without_a_key(llm_server: ChatCompletionsDouble, make_model: Any) -> None:
    llm_server.script(answer("hi"))
    make_model().complete(MESSAGES)
    assert "authorization" not in llm_server.requests[0].headers


def test_extract_json_object_takes_the_first_object() -> None:
    assert extract_json_object('noise {"a": {"b": 1}} {"c": 2}') == {"a": {"b": 1}}
    assert extract_json_object("{not json} then {\"ok\": true}") == {"ok": True}
    assert extract_json_object("no object here") is None


def test_retry_after_is_read_in_seconds_milliseconds_or_as_an_http_date() -> None:
    now = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(httpx.Headers({"Retry-After": "3"})) == 3
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "1500", "Retry-After": "2"})) == 1.5
    assert parse_retry_after(httpx.Headers({"Retry-After": "Mon, 02 Mar 2026 12:00:07 GMT"}), lambda: now) == 7
    assert parse_retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert parse_retry_after(httpx.Headers({})) is None
