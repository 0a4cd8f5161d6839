"""The circuit breaker on its own (a moved clock, no sleeping) and in front of a real failing model server."""

from __future__ import annotations

import threading
import time

import pytest

from helpline.llm.breaker import BreakerState, CircuitBreaker
from helpline.llm.openai_compatible import OpenAICompatibleModel
from helpline.llm.port import ChatMessage, ChatRole, LanguageModelError, LanguageModelErrorKind
from helpline.llm.settings import LlmSettings
from tests.llm_double import ChatCompletionsDouble, answer, error, malformed_json


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_it_opens_after_the_threshold_of_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=30, clock=FakeClock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # a success in between starts the count again
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()


def test_after_the_cool_down_one_probe_goes_through_and_its_success_closes_it() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=30, clock=clock)
    breaker.record_failure()
    clock.advance(29.9)
    assert not breaker.allow() and breaker.seconds_until_probe() == pytest.approx(0.1)
    clock.advance(0.1)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # everyone else waits for the probe's outcome
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow() and breaker.allow()


def test_a_failed_probe_opens_it_for_another_cool_down() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=5, cooldown_s=10, clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.advance(10)
    assert breaker.allow()
    breaker.record_failure()  # one failure is enough in half-open
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.advance(10)
    assert breaker.allow()


def test_only_one_of_many_concurrent_callers_becomes_the_probe() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=5, clock=clock)
    breaker.record_failure()
    clock.advance(5)
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def caller() -> None:
        start.wait()
        result = breaker.allow()
        with lock:
            allowed.append(result)

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert sorted(allowed) == [False] * 15 + [True]


def test_a_dead_model_costs_a_turn_nothing_once_the_breaker_is_open(llm_server: ChatCompletionsDouble) -> None:
    clock = FakeClock()
    settings = LlmSettings(url=llm_server.url, model="test-model", max_retries=0, timeout_s=2)
    messages = [ChatMessage(ChatRole.USER, "hello")]
    with OpenAICompatibleModel(settings, breaker=CircuitBreaker(2, cooldown_s=30, clock=clock)) as model:
        llm_server.script(error(503), error(503))
        for _ in range(2):
            with pytest.raises(LanguageModelError) as failed:
                model.complete(messages)
            assert failed.value.kind is LanguageModelErrorKind.SERVER_ERROR

        started = time.perf_counter()
        with pytest.raises(LanguageModelError) as refused:
            model.complete(messages)
        elapsed_ms = (time.perf_counter() - started) * 1000
        assert refused.value.kind is LanguageModelErrorKind.CIRCUIT_OPEN
        assert elapsed_ms < 5 and len(llm_server.requests) == 2  # not even tried

        clock.advance(30)  # the server is back: the probe succeeds and closes the breaker
        llm_server.script(answer("back"), answer("again"))
        assert model.complete(messages).text == "back"
        assert model.breaker.state is BreakerState.CLOSED
        assert model.complete(messages).text == "again"


def test_answers_the_server_could_not_read_or_we_could_not_parse_do_not_open_it(
        llm_server: ChatCompletionsDouble) -> None:
    settings = LlmSettings(url=llm_server.url, model="test-model", max_retries=0)
    with OpenAICompatibleModel(settings, breaker=CircuitBreaker(1, cooldown_s=30, clock=FakeClock())) as model:
        llm_server.script(error(400), malformed_json(), answer("fine"))
        for _ in range(2):
            with pytest.raises(LanguageModelError):
                model.complete([ChatMessage(ChatRole.USER, "hello")])
        assert model.breaker.state is BreakerState.CLOSED  # the server is up; the request or answer was bad
        assert model.complete([ChatMessage(ChatRole.USER, "hello")]).text == "fine"
