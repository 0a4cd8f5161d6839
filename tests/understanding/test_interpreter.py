"""The embedded command generator on the demo pack: what a message proposes in each open question.

Phrasings here are written for these tests, not copied from the pack's triggers or the paraphrase
suite, so they check behaviour rather than memorised wording.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpline.conversation.commands import (
    Affirm,
    AskHuman,
    AskKnowledge,
    AskRecord,
    CancelProcedure,
    ChitChat,
    ChitChatKind,
    Deny,
    Identify,
    Interpretation,
    NothingElse,
    OutOfScope,
    ProblemStatus,
    SetSlot,
    StartProcedure,
    Unsupported,
)
from helpline.conversation.state import ConversationState, ProcedureRun
from helpline.runtime import Runtime
from tests.conftest import RuntimeFactory

NOW = datetime(2026, 11, 20, 16, tzinfo=UTC)


@pytest.fixture()
def runtime(make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime(NOW)


def interpret(runtime: Runtime, text: str, procedure: str | None = None, awaiting: str | None = None,
              offer: str | None = None) -> Interpretation:
    state = ConversationState()
    if procedure is not None:
        state.active = ProcedureRun(procedure, awaiting=awaiting, opening_text="")
    state.pending_offer = offer
    return runtime.engine.interpret(state, text)


def test_a_failed_troubleshooting_step_is_not_a_yes(runtime: Runtime) -> None:
    it = interpret(runtime, "tried it again just now, still dead", "machine_wont_power_on", "slot:power_ok")
    assert it.first(ProblemStatus) == ProblemStatus(solved=False)
    assert not it.has(Affirm)


def test_a_fixed_problem_with_thanks_is_solved(runtime: Runtime) -> None:
    it = interpret(runtime, "yep that sorted it, cheers", "machine_wont_power_on", "slot:power_ok")
    assert it.first(ProblemStatus) == ProblemStatus(solved=True) or it.has(Affirm)
    assert not it.has(Deny)


def test_done_after_anything_else(runtime: Runtime) -> None:
    assert interpret(runtime, "nah that's everything for today", offer="anything_else").has(NothingElse)


def test_an_order_id_in_the_first_message_fills_the_slot(runtime: Runtime) -> None:
    start = interpret(runtime, "can you stop order bb 10175 from going out, I don't want it").first(StartProcedure)
    assert start is not None and start.procedure_id == "cancel_order"
    assert start.slots.get("order_id") == "BB-10175"


def test_name_and_zip_next_to_a_request_identify_the_customer(runtime: Runtime) -> None:
    it = interpret(runtime, "Lucas Reed 78212 - where is BB-10011?")
    identify = it.first(Identify)
    assert identify is not None and identify.details.get("postcode") == "78212"
    assert identify.details.get("person_name") == "Lucas Reed"
    start = it.first(StartProcedure)
    assert start is not None and start.procedure_id == "order_status"


def test_free_text_that_is_not_an_address_is_not_stored_as_one(runtime: Runtime) -> None:
    it = interpret(runtime, "hang on, I meant the address on order BB-10166", "change_default_address",
                   "slot:address_line")
    assert not it.has(SetSlot)


def test_an_address_is_taken_at_the_address_prompt(runtime: Runtime) -> None:
    it = interpret(runtime, "88 Congress Ave, Austin, TX 78701", "change_order_address", "slot:new_address")
    assert it.first(SetSlot) == SetSlot("88 Congress Ave, Austin, TX 78701", "new_address")


def test_a_different_request_while_confirming_is_not_a_yes(runtime: Runtime) -> None:
    it = interpret(runtime, "please just tell me where my parcel BB-10120 is right now", "cancel_order", "confirm")
    assert not it.has(Affirm)
    assert it.has(StartProcedure, AskRecord)


def test_questions_about_own_orders_are_record_questions(runtime: Runtime) -> None:
    assert interpret(runtime, "remind me how much I paid for my last order").has(AskRecord)


def test_a_problem_reported_with_a_record_word_is_the_request_not_a_record_question(runtime: Runtime) -> None:
    # "tracking" says nothing is asked of the records here: the parcel is missing, its order is to look into
    it = interpret(runtime, "tracking says it's been delivered but there's nothing on my doorstep")
    assert it.has(StartProcedure) and not it.has(AskRecord)
    assert interpret(runtime, "what's the tracking number for my order?").has(AskRecord)


def test_a_how_to_question_goes_to_the_knowledge_base(runtime: Runtime) -> None:
    assert interpret(runtime, "how often should I descale the espresso one?").has(AskKnowledge)


def test_a_spoken_question_after_a_greeting_is_a_question_for_the_knowledge_base(runtime: Runtime) -> None:
    # no question mark on the phone, and a caller opens with "hi um": still a question, so an unanswered one
    # gets "I don't have information about that" rather than "I'm not sure I followed"
    asked = interpret(runtime, "hi um is the travel mug ok in the dishwasher").first(AskKnowledge)
    assert asked is not None and asked.question


def test_a_bot_question_is_not_a_transfer(runtime: Runtime) -> None:
    it = interpret(runtime, "wait am I chatting with a robot?")
    assert it.first(ChitChat) == ChitChat(ChitChatKind.BOT_CHALLENGE)
    assert not it.has(AskHuman)


def test_asking_for_a_human_mid_task(runtime: Runtime) -> None:
    assert interpret(runtime, "can I talk to a real person instead", "return_item", "slot:reason").has(AskHuman)


def test_another_language_is_not_misread(runtime: Runtime) -> None:
    it = interpret(runtime, "Bonjour, je voudrais annuler ma commande s'il vous plaît")
    assert it.first(Unsupported) == Unsupported("fr")


def test_stop_on_its_own_cancels_but_cancel_with_an_order_is_a_request(runtime: Runtime) -> None:
    assert interpret(runtime, "stop.", "return_item", "slot:reason").has(CancelProcedure)
    it = interpret(runtime, "cancel BB-10175")
    assert not it.has(CancelProcedure) and it.has(StartProcedure)


def test_an_article_sure_of_a_question_wins_over_small_talk(runtime: Runtime) -> None:
    # the out-of-scope class hears "when do you open" as chit-chat; the business's own article answers it
    for text in ("when do you open on saturday", "what are the opening times"):
        it = interpret(runtime, text)
        assert it.has(AskKnowledge) and not it.has(OutOfScope), text
    # ...but a question no article speaks of stays out of scope
    assert interpret(runtime, "who won the game last night").has(OutOfScope)


def test_asking_for_the_business_contact_details_is_a_question_not_an_account_change(runtime: Runtime) -> None:
    # "your phone number" is the business's: it must not start changing (and verifying) the customer's details
    for text in ("what number can I call you on", "is there a number for customer service",
                 "how do I reach your support team by phone", "what email can I write to for help"):
        it = interpret(runtime, text)
        assert it.has(AskKnowledge) and not it.has(StartProcedure), text
        assert all(c.otherwise is None for c in it.commands if isinstance(c, AskKnowledge)), text
    # ...while their own details stay a request about their account
    own = interpret(runtime, "I need to change my phone number")
    asked = own.first(AskKnowledge)
    assert own.has(StartProcedure) or (asked is not None and asked.otherwise is not None)


def test_a_how_long_question_naming_a_product_never_falls_back_to_its_price(runtime: Runtime) -> None:
    # the price procedure never asks how long anything lasts: no article answering is not a reason to quote a price
    it = interpret(runtime, "how long does the burr grinder take to grind a dose")
    asked = it.first(AskKnowledge)
    assert asked is not None and asked.otherwise is None and not it.has(StartProcedure)
    price = interpret(runtime, "how much is the burr grinder")
    assert price.has(StartProcedure) or getattr(price.first(AskKnowledge), "otherwise", None) is not None


def test_a_question_naming_nothing_the_shop_sells_never_falls_back_to_a_products_price(runtime: Runtime) -> None:
    # no product of the catalogue named and no price asked: no article answering is no reason to ask "which product?"
    for text in ("do you stock herbal tea bags or only coffee", "would you ever sell matcha powder"):
        it = interpret(runtime, text)
        assert not any(c.procedure_id == "product_price" for c in it.commands if isinstance(c, StartProcedure)), text
        assert all(c.otherwise is None or c.otherwise.procedure_id != "product_price"
                   for c in it.commands if isinstance(c, AskKnowledge)), text
    # ...a product of the catalogue named keeps the price procedure in reach
    price = interpret(runtime, "how much is the burr grinder")
    assert price.has(StartProcedure) or getattr(price.first(AskKnowledge), "otherwise", None) is not None


def test_an_article_sure_of_a_question_in_the_plural_wins_over_small_talk(runtime: Runtime) -> None:
    # "mondays" is the article's "Monday": the question's words are the article's up to a plural
    it = interpret(runtime, "how late are you open on mondays")
    assert it.has(AskKnowledge) and not it.has(OutOfScope)


def test_a_question_put_to_the_business_that_an_article_answers_is_not_out_of_scope(runtime: Runtime) -> None:
    # asked of the business ("do you", "are you") an answering article is enough, in the caller's words
    for text in ("what time do you shut on a saturday?", "are you lot open at all on a sunday?"):
        it = interpret(runtime, text)
        assert it.has(AskKnowledge) and not it.has(OutOfScope), text
    # ...while no article answers a question it does not speak of, asked of the business or not
    for text in ("could you book me a taxi to the airport?", "what's the weather meant to be like tomorrow?"):
        view = runtime.conversations.post(runtime.conversations.start("chat").id, text)
        assert "article" not in " ".join(view.replies) and view.state["procedure"] is None, text


def test_a_question_about_a_product_listening_is_not_a_question_about_the_agent(runtime: Runtime) -> None:
    it = interpret(runtime, "does the coffee machine listen to what I say, has it got a microphone?")
    assert it.has(AskKnowledge) and not it.has(ChitChat)
    # asking who is answering still is
    assert interpret(runtime, "am I talking to a machine?").first(ChitChat) == ChitChat(ChitChatKind.BOT_CHALLENGE)


def test_an_article_on_the_symptom_in_other_words_wins_over_a_procedure_that_never_speaks_of_it(
        runtime: Runtime) -> None:
    # "humming" is the grinder-jams article's "hums"; the power procedure never mentions either
    it = interpret(runtime, "my grinder keeps humming but no coffee comes out")
    asked = it.first(AskKnowledge)
    assert asked is not None and not it.has(StartProcedure)


def _started(it: Interpretation) -> set[str]:
    """Procedures the interpretation starts, at once or as the fallback of a knowledge question."""
    started = {c.procedure_id for c in it.commands if isinstance(c, StartProcedure)}
    return started | {c.otherwise.procedure_id for c in it.commands if isinstance(c, AskKnowledge) and c.otherwise}


def test_a_fault_reported_about_a_product_never_quotes_its_price(runtime: Runtime) -> None:
    # the product's name is all the message shares with the price procedure: an article on the fault answers
    for text in ("the milk frother smells of burning plastic when it runs",
                 "my travel mug lid has split along the seal"):
        it = interpret(runtime, text)
        assert "product_price" not in _started(it), text
    assert "product_price" in _started(interpret(runtime, "how much is a milk frother going for at the moment"))


def test_a_refund_awaited_for_an_item_sent_back_is_a_question_not_a_new_return(runtime: Runtime) -> None:
    it = interpret(runtime, "I sent the tamper back last monday and there's still no money on my card")
    assert "return_item" not in _started(it) and it.has(AskKnowledge)
    assert "return_item" in _started(interpret(runtime, "I'd like to send the tamper back please"))


def test_a_declined_payment_is_no_charge_to_explain(runtime: Runtime) -> None:
    # the article on declined payments is titled by the word the charge procedure never says
    it = interpret(runtime, "every time I try to pay at checkout my card gets declined")
    assert "explain_charge" not in _started(it) and it.has(AskKnowledge)


def test_a_machine_that_lights_up_but_misbehaves_did_power_on(runtime: Runtime) -> None:
    it = interpret(runtime, "the espresso pro's lights come on but nothing comes out of the group head")
    assert "machine_wont_power_on" not in _started(it)
    assert "machine_wont_power_on" in _started(interpret(runtime, "my espresso pro is totally dead, nothing at all"))


def test_a_connection_trouble_without_a_code_asks_the_articles_first(runtime: Runtime) -> None:
    it = interpret(runtime, "my espresso one drops off the home network every evening")
    asked = it.first(AskKnowledge)
    assert asked is not None and not it.has(StartProcedure)
    assert interpret(runtime, "the app flashes up E201 at me").has(StartProcedure)


def test_a_wrong_item_received_starts_its_procedure(runtime: Runtime) -> None:
    for text in ("I asked for the black frother and you've sent me a white one",
                 "the box had the wrong size travel mug in it"):
        start = interpret(runtime, text).first(StartProcedure)
        assert start is not None and start.procedure_id in ("return_item", "exchange_item"), text


def test_an_item_damaged_on_arrival_starts_its_procedure(runtime: Runtime) -> None:
    start = interpret(runtime, "the delivery came an hour ago and the frother jug is cracked right through").first(
        StartProcedure)
    assert start is not None and start.procedure_id == "return_item"
