"""examples/sandhill-fiber, the service-business example pack: it validates, its own example conversations
pass (`helpline pack test`), and its troubleshooting changes during a declared outage in the caller's town."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpline.cli.pack_runner import PackTestRunner
from helpline.connectors.gateway import PackOperations
from helpline.connectors.sql import SqlOperations
from helpline.conversation.engine import Engine, TurnContext
from helpline.conversation.incidents import Incident
from helpline.conversation.state import ConversationState
from helpline.pack.conversation_tests import load_conversation_tests
from helpline.pack.loader import BusinessPack, load_pack
from helpline.runtime import build_models
from helpline.understanding.interpreter import EmbeddedInterpreter
from helpline.understanding.slots import ExtractorSlotReader

PACK = Path(__file__).resolve().parents[2] / "examples" / "sandhill-fiber"
NOW = datetime(2026, 11, 17, 17, 0, tzinfo=UTC)  # Tuesday 10:00 in Denver
OUTAGE = "A contractor cut our fiber cable on Main St in Cedar Flats"
RESTART = "unplug its power"


@pytest.fixture(scope="module")
def pack() -> BusinessPack:
    return load_pack(PACK)  # raises PackInvalid, listing every error, if the pack is not valid


def test_the_pack_uses_the_formats_features(pack: BusinessPack) -> None:
    business = pack.business
    assert business.languages == ["en", "es"]
    assert {f.type for f in business.verification.factors.values()} == {
        "account_number", "phone_last4", "date_of_birth", "pin"}
    assert business.verification.authorised_users is not None
    assert {tier.name: tier.callback_sla for tier in business.escalation.tiers}["billing"] == "1d"
    assert set(pack.procedures) >= {"no_internet", "slow_speeds", "book_visit", "moving_house", "cancel_service",
                                    "change_plan", "explain_bill", "payment_date", "service_status"}
    assert pack.procedures["no_internet"].during_incident is not None
    assert not pack.operations.tables["moves"].seed, "a declared table may start empty"
    assert 12 <= len(list((PACK / "knowledge").glob("*.md"))) <= 20


def test_the_packs_own_conversations_pass(pack: BusinessPack, tmp_path: Path) -> None:
    tests = load_conversation_tests(pack)
    assert len(tests) >= 8
    runner = PackTestRunner(pack, tmp_path)
    failures = [f"{outcome.name}:\n" + "\n".join(outcome.problems)
                for outcome in runner.run_all(tests) if not outcome.passed]
    assert not failures, "\n\n".join(failures)


@pytest.fixture(scope="module")
def engine(pack: BusinessPack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    records = tmp_path_factory.mktemp("sandhill") / "records.db"
    sql = SqlOperations.open(f"sqlite:///{records}", pack.root, pack.operations.tables)
    operations = PackOperations(pack.operations, sql)
    built = build_models(pack, operations)
    slot_reader = ExtractorSlotReader(built.understander.extractor)
    interpreter = EmbeddedInterpreter(built.understander, pack.procedures, slot_reader, acts=built.acts,
                                      language=built.language, languages=tuple(pack.business.languages),
                                      knowledge=built.knowledge, embedder=built.embedder)
    yield Engine(pack, interpreter, slot_reader, built.knowledge, operations)
    sql.engine.dispose()


def cedar_flats_outage() -> Incident:
    message = f"{OUTAGE}; our crew is splicing it now."
    return Incident(id="inc-cf", title="Fiber cut in Cedar Flats", message=message, affected=("technical",),
                    expected_fix="by 4 pm today", scope={"town": ("Cedar Flats",)},
                    messages={"en": message, "es": "Un contratista cortó nuestro cable de fibra en Cedar Flats."})


def say(engine: Engine, state: ConversationState, text: str) -> str:
    context = TurnContext(now=NOW, incidents=[cedar_flats_outage()])
    return " ".join(engine.handle(state, text, context).replies)


def test_no_router_restart_during_an_outage_in_the_callers_town(engine: Engine) -> None:
    state = ConversationState()
    reply = say(engine, state, "my internet is down, I'm in Cedar Flats")
    assert OUTAGE in reply and "4 pm" in reply
    assert "no need to restart your router" in reply
    assert RESTART not in reply and "light on the front" not in reply
    assert "call you when it's fixed" in reply


def test_a_caller_in_another_town_troubleshoots_as_usual(engine: Engine) -> None:
    state = ConversationState()
    first = say(engine, state, "my internet is down")
    assert "which town" in first, "an outage in one town could explain it: ask where the caller is"
    second = say(engine, state, "Ocotillo")
    assert OUTAGE not in first + second and "Cedar Flats" not in first + second
    assert "light on the front" in second
