"""The LLM-played tau-retail customer (bench/tau_retail/llm_customer.py) against a chat-completions server on
loopback: what it sends (the instruction, the conversation with the roles turned around) and how it ends."""

from __future__ import annotations

from bench.tau_retail.llm_customer import LlmCustomer
from helpline.llm.openai_compatible import OpenAICompatibleModel
from helpline.llm.settings import LlmSettings
from tests.llm_double import ChatCompletionsDouble, answer, error

TASK = {"user_id": "olivia_ito_3591",
        "instruction": "Your name is Olivia Ito and your zip code is 80218. Cancel order #W5442520.",
        "actions": [{"name": "cancel_pending_order", "kwargs": {"order_id": "#W5442520"}}]}


def _model(server: ChatCompletionsDouble) -> OpenAICompatibleModel:
    return OpenAICompatibleModel(LlmSettings(url=server.url, model="customer-model", max_retries=0))


def test_the_customer_speaks_from_the_instruction_and_stops_on_the_stop_mark() -> None:
    with ChatCompletionsDouble() as server:
        server.script(answer("Customer: I'd like to cancel my order #W5442520.\nAgent: Sure!"),
                      answer("Olivia Ito, 80218."), answer("### STOP###"))
        customer = LlmCustomer(TASK, _model(server))
        customer.heard(["Hi, I'm Robin. How can I help?"])
        assert customer.first_message() == "I'd like to cancel my order #W5442520."
        assert customer.reply(["Sure. Your name and zip code, please?"]) == "Olivia Ito, 80218."
        assert customer.reply(["Done: #W5442520 is cancelled. Anything else?"]) is None
        assert customer.finished and not customer.gave_up
        sent = server.requests[2].json["messages"]
    assert sent[0]["role"] == "system" and TASK["instruction"] in sent[0]["content"]
    assert "###STOP###" in sent[0]["content"]
    # the agent's lines are the model's "user" turns, the customer's own lines its "assistant" turns
    assert [m["role"] for m in sent[1:]] == ["user", "assistant", "user", "assistant", "user"]
    assert sent[2]["content"] == "I'd like to cancel my order #W5442520."
    assert "actions" not in str(sent) and "cancel_pending_order" not in str(sent)  # no ground truth leaks


def test_a_stop_before_any_request_and_a_failing_model_are_reported_as_giving_up() -> None:
    with ChatCompletionsDouble() as server:
        server.script(answer("###STOP###"))
        early = LlmCustomer(TASK, _model(server))
        early.heard(["How can I help?"])
        assert early.first_message() is None
        assert early.finished and "before saying what it wanted" in early.gave_up
        server.script(error(500, "boom"))
        failing = LlmCustomer(TASK, _model(server))
        assert failing.first_message() is None
        assert failing.finished and "customer model failed" in failing.gave_up
