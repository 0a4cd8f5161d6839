from pathlib import Path

from helpline.conversation.commands import AskKnowledge, StartProcedure
from helpline.pack.loader import load_pack
from helpline.understanding.builtin_intents import OUT_OF_SCOPE
from helpline.understanding.faults import (
    REPAIR_QUESTION,
    for_another_fault,
    reports_fault,
    with_repair_question,
)

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


def test_faults_are_told_in_many_ways() -> None:
    for text in ("there's water leaking out from underneath it", "the steam wand doesn't get hot anymore",
                 "the light comes on but the water never gets hot at all", "the lid won't click shut",
                 "the handle came off", "it smells of burning when I use it", "it keeps tripping the electrics"):
        assert reports_fault(text), text


def test_no_fault_without_one() -> None:
    for text in ("how long is the warranty on the grinder?", "my machine won't turn on",
                 "the app shows error E201", "can I get the House Blend pre-ground?",
                 "the parcel came this morning and the jug is cracked",  # damage in the post: a return
                 "could you repair a machine that's not one of yours?",  # never sold by the business
                 "I bought a grinder from a different shop and it's broken"):
        assert not reports_fault(text), text


def test_a_fault_rules_out_a_procedure_whose_triggers_tell_of_none() -> None:
    procedures = load_pack(DEMO).procedures
    told = "the steam wand thing doesn't get hot anymore"
    assert for_another_fault(told, procedures["machine_wont_power_on"])
    assert for_another_fault(told, procedures["product_price"])
    assert not for_another_fault("my machine won't switch on", procedures["machine_wont_power_on"])


def test_a_question_telling_a_fault_carries_the_repair_query() -> None:
    leak = AskKnowledge("the espresso one is leaking all over my counter", question=False)
    price = AskKnowledge("how much is the espresso one?")
    start = StartProcedure("return_item")
    found = with_repair_question([leak, price, start], "en", ["product_price", OUT_OF_SCOPE])
    assert found == [AskKnowledge(leak.query, question=False, repair=REPAIR_QUESTION), price, start]
    # someone else's fault ("my boiler's packed in, is this the gas board?"): the classifier ranks out-of-scope first
    assert with_repair_question([leak], "en", [OUT_OF_SCOPE, "product_price"]) == [leak]
    assert with_repair_question([leak], "fr", ["product_price"]) == [leak]  # the words are English
