"""Scoped incidents (issue 15, item 2) on a small fibre provider's pack (tests/fixtures/packs/millbrook_fibre):
who is told (the verified record, or the town or postcode a caller names; asked once when unknown), in which
language, outages vs planned maintenance with its window, and procedures that change during an outage."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpline.connectors.gateway import PackOperations
from helpline.connectors.sql import SqlOperations
from helpline.conversation.engine import Engine, TurnContext
from helpline.conversation.events import Escalated
from helpline.conversation.incidents import (
    Caller,
    Incident,
    IncidentKind,
    place_matches,
    places_named,
    scope_matches,
)
from helpline.conversation.state import ConversationState
from helpline.pack.loader import PackInvalid, load_pack
from helpline.runtime import PackModels, build_models, build_runtime
from helpline.store.repositories import IncidentRepository
from helpline.understanding.interpreter import EmbeddedInterpreter
from helpline.understanding.slots import ExtractorSlotReader

PACK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "millbrook_fibre"
# Tuesday 8 December 2026, 10:00 in New York: everyone is open
NOW = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)

RESTART = "restart your router"
OUTAGE_EN = "A damaged cable has cut fibre service in Millbrook"
OUTAGE_ES = "Un cable dañado ha cortado la fibra en Millbrook"


def millbrook_outage(**changes: object) -> Incident:
    fields: dict[str, object] = dict(
        id="inc-1", title="Fibre cut in Millbrook", message=f"{OUTAGE_EN}; engineers are on site.",
        affected=("no_internet", "status"), expected_fix="by 6 pm today",
        scope={"region": ("Millbrook",), "postcode": ("05301", "05302")},
        messages={"en": f"{OUTAGE_EN}; engineers are on site.", "es": f"{OUTAGE_ES}; los técnicos ya están allí."},
    )
    fields.update(changes)
    return Incident(**fields)  # type: ignore[arg-type]


# --- scope matching, the function other parts (outage notices) import -----------------------------------


def test_an_empty_scope_is_everyone() -> None:
    assert scope_matches({}, {})
    assert scope_matches({}, {"region": "Riverton"})


def test_every_scope_attribute_must_match() -> None:
    scope = {"region": ["Millbrook"], "plan": ["fibre-500"]}
    assert scope_matches(scope, {"region": "Millbrook", "plan": "fibre-500", "name": "Ana"})
    assert not scope_matches(scope, {"region": "Millbrook", "plan": "fibre-100"})
    assert not scope_matches(scope, {"region": "Riverton", "plan": "fibre-500"})
    assert not scope_matches(scope, {"region": "Millbrook"}), "an attribute we don't know is not a match"


def test_values_compare_as_people_write_them() -> None:
    assert scope_matches({"region": ["Millbrook"]}, {"region": " millbrook "})
    assert scope_matches({"region": ["San José"]}, {"region": "san jose"})
    assert scope_matches({"postcode": ["05301", "05302"]}, {"postcode": 5302}) is False, "a number loses its 0"
    assert scope_matches({"postcode": ["05301", "05302"]}, {"postcode": "05302"})
    assert scope_matches({"postcode": ["SW1A*"]}, {"postcode": "SW1A 1AA"})
    assert not scope_matches({"postcode": ["SW1A*"]}, {"postcode": "SW1B 1AA"})
    assert scope_matches({"plan": ["fibre-500"]}, {"plan": ["tv-basic", "fibre-500"]}), "any of a list"
    assert scope_matches({"Region": ["Millbrook"]}, {"region": "Millbrook"})


def test_a_place_the_caller_names_is_matched_only_against_locations() -> None:
    scope = {"region": ["Millbrook"], "postcode": ["05301"]}
    assert place_matches(scope, ["Millbrook"]) is True
    assert place_matches(scope, ["05301"]) is True
    assert place_matches(scope, ["Riverton"]) is False
    assert place_matches({"plan": ["fibre-500"]}, ["Millbrook"]) is None, "a plan needs the customer's record"
    assert places_named("no internet since this morning in millbrook, help", [millbrook_outage()]) == ["Millbrook"]
    assert places_named("no internet in Millbrookshire", [millbrook_outage()]) == []


def test_a_verified_record_decides_over_what_was_said() -> None:
    incident = millbrook_outage(scope={"region": ("Millbrook",)})
    assert incident.applies_to(Caller(record={"region": "Riverton"}, places=("Millbrook",))) is False
    assert incident.applies_to(Caller(record={"region": "Millbrook"})) is True
    assert incident.applies_to(Caller(record={"name": "no region on file"}, places=("Millbrook",))) is True
    assert incident.applies_to(Caller()) is None


# --- conversations ---------------------------------------------------------------------------------


@dataclass
class Chat:
    engine: Engine
    incidents: Sequence[Incident]
    now: datetime = NOW
    state: ConversationState = field(default_factory=ConversationState)
    events: list[object] = field(default_factory=list)

    def start(self) -> list[str]:
        result = self.engine.greet(self.state, TurnContext(now=self.now, incidents=self.incidents))
        return result.replies

    def say(self, text: str) -> str:
        result = self.engine.handle(self.state, text, TurnContext(now=self.now, incidents=self.incidents))
        self.events.extend(result.events)
        return " ".join(result.replies)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PackModels, PackOperations]]:
    pack = load_pack(PACK)
    records = tmp_path_factory.mktemp("fibre") / "records.db"
    operations = PackOperations(pack.operations, SqlOperations.open(f"sqlite:///{records}", pack.root,
                                                                    pack.operations.tables))
    yield build_models(pack, operations), operations


@pytest.fixture(scope="module")
def engine(models: tuple[PackModels, PackOperations]) -> Engine:
    """The engine as the runtime builds it, speaking the pack's languages (en, es)."""
    pack = load_pack(PACK)
    built, operations = models
    slot_reader = ExtractorSlotReader(built.understander.extractor)
    interpreter = EmbeddedInterpreter(built.understander, pack.procedures, slot_reader, acts=built.acts,
                                      language=built.language, languages=tuple(pack.business.languages),
                                      knowledge=built.knowledge, embedder=built.embedder)
    return Engine(pack, interpreter, slot_reader, built.knowledge, operations)


def test_a_caller_in_the_affected_town_is_told_and_not_asked_to_restart_the_router(engine: Engine) -> None:
    chat = Chat(engine, [millbrook_outage()])
    chat.start()
    reply = chat.say("My internet is down, I'm in Millbrook")
    assert OUTAGE_EN in reply and "6 pm" in reply
    assert "no need to restart your router" in reply
    assert RESTART not in reply.replace("no need to restart your router", "")
    assert "call you when it's fixed" in reply
    chat.say("yes please, call me on 802 555 0123")
    assert any(type(e).__name__ == "CallbackRequested" for e in chat.events)
    assert "'No internet connection' changed during incident 'Fibre cut in Millbrook'" in chat.state.steps_taken


def test_a_caller_in_another_town_is_not_told(engine: Engine) -> None:
    chat = Chat(engine, [millbrook_outage()])
    chat.start()
    first = chat.say("hi, the internet isn't working at all")
    assert "which town" in first.lower(), "a scoped outage could explain it: ask where they are"
    second = chat.say("I'm in Riverton")
    assert OUTAGE_EN not in first + second and "damaged cable" not in first + second
    assert RESTART in second, "outside the outage: troubleshoot as usual"
    assert chat.state.incidents_told == []


def test_a_postcode_given_when_asked_places_the_caller(engine: Engine) -> None:
    chat = Chat(engine, [millbrook_outage()])
    chat.start()
    assert "postcode" in chat.say("I have no internet connection").lower()
    reply = chat.say("05302")
    assert OUTAGE_EN in reply
    assert "no need to restart your router" in reply


def test_the_caller_is_asked_where_they_are_only_once(engine: Engine) -> None:
    chat = Chat(engine, [millbrook_outage(), millbrook_outage(id="inc-2", title="Second cut")])
    chat.start()
    chat.say("my internet is down")
    reply = chat.say("not sure, somewhere out in the country")
    assert "which town" not in reply.lower()
    assert RESTART in reply


def test_a_spanish_speaker_in_the_affected_town_hears_it_in_spanish(engine: Engine) -> None:
    chat = Chat(engine, [millbrook_outage()])
    chat.start()
    reply = chat.say("Hola, no tengo internet en Millbrook desde esta mañana")
    assert OUTAGE_ES in reply
    assert reply.startswith("Le informamos") or "Le informamos" in reply, "the pack's Spanish wording"
    assert OUTAGE_EN not in reply


def test_without_wording_in_the_language_the_business_message_alone_is_said(engine: Engine) -> None:
    incident = millbrook_outage(messages={"en": "Fibre is down in Millbrook.", "pt": "A fibra caiu em Millbrook."},
                                affected=())
    chat = Chat(engine, [incident])
    chat.state.language = "pt"  # as detected earlier in the conversation (the pack has no Portuguese wording)
    chat.state.places.append("Millbrook")
    assert "A fibra caiu em Millbrook." in chat.start()


def test_the_first_message_is_the_fallback_language(engine: Engine) -> None:
    incident = millbrook_outage(messages={"es": "Solo en español."}, message="Solo en español.")
    assert incident.message_in("en") == "Solo en español."
    assert incident.message_in("es-MX") == "Solo en español."


def test_planned_maintenance_is_announced_as_planned_with_its_window(engine: Engine) -> None:
    start = datetime(2026, 12, 9, 6, 0, tzinfo=UTC)  # Wednesday 01:00 in New York
    maintenance = millbrook_outage(
        id="mnt-1", title="Network upgrade", kind=IncidentKind.PLANNED_MAINTENANCE, expected_fix=None,
        message="Service may drop for a few minutes while we upgrade the network.", messages={},
        window_start=start, window_end=start + timedelta(hours=3), affected=("no_internet",))
    chat = Chat(engine, [maintenance])
    chat.start()
    reply = chat.say("my internet is down and I'm in Millbrook")
    assert "planned maintenance in Millbrook tomorrow from 01:00 to 04:00" in reply
    assert "right now" not in reply and "aware" not in reply
    assert RESTART in reply, "maintenance tomorrow does not explain an outage today"


def test_planned_maintenance_a_week_away_names_the_day(engine: Engine) -> None:
    start = datetime(2026, 12, 11, 6, 0, tzinfo=UTC)  # Friday 01:00 in New York
    maintenance = millbrook_outage(kind=IncidentKind.PLANNED_MAINTENANCE, window_start=start,
                                   window_end=start + timedelta(hours=2), messages={}, message="Upgrade.")
    facts = maintenance.facts("en", "America/New_York", NOW)
    assert (facts["window_when"], facts["window_from"], facts["window_to"]) == ("on Friday", "01:00", "03:00")
    assert maintenance.facts("es", "America/New_York", NOW)["window_when"] == "el viernes"
    assert not maintenance.in_effect(NOW) and maintenance.in_effect(start + timedelta(minutes=5))


def test_a_verified_customer_is_matched_on_their_record(engine: Engine) -> None:
    plan_outage = millbrook_outage(scope={"region": ("Millbrook",), "plan": ("fibre-500",)}, affected=(),
                                   message="Fibre 500 customers in Millbrook may see slow speeds.", messages={})
    ana = Chat(engine, [plan_outage])
    ana.start()
    ana.say("what plan am I on")
    reply = ana.say("my email is ana@example.com")
    assert "fibre-500 plan" in reply and "slow speeds" in reply

    ben = Chat(engine, [plan_outage])
    ben.start()
    ben.say("what plan am I on")
    reply = ben.say("my email is ben@example.com")
    assert "fibre-100 plan" in reply and "slow speeds" not in reply


def test_incident_active_reads_in_branch_conditions(engine: Engine) -> None:
    inside = Chat(engine, [millbrook_outage()])
    inside.start()
    assert "Yes - Fibre cut in Millbrook" in inside.say("is there an outage? I live in Millbrook")
    outside = Chat(engine, [millbrook_outage()])
    outside.start()
    outside.say("is there an outage?")
    reply = outside.say("Riverton")
    assert "can't see a problem" in reply and "Fibre cut" not in reply


def test_a_during_incident_escalation_hands_off(tmp_path: Path, engine: Engine) -> None:
    pack = load_pack(PACK)
    proc = pack.procedures["no_internet"]
    during = proc.during_incident
    assert during is not None
    engine.procedures["no_internet"] = proc.model_copy(update={"during_incident": during.model_copy(
        update={"goto": None, "escalate": "Outage: customer wants a person", "tier": "technical"})})
    try:
        chat = Chat(engine, [millbrook_outage()])
        chat.start()
        chat.say("my internet is down in Millbrook")
        escalated = [e for e in chat.events if isinstance(e, Escalated)]
        assert escalated and escalated[0].tier == "technical"
    finally:
        engine.procedures["no_internet"] = proc


def test_the_pack_validator_checks_during_incident(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "pack"
    shutil.copytree(PACK, copy)
    path = copy / "procedures" / "no_internet.yaml"
    path.write_text(path.read_text().replace("goto: outage\nticket", "skip_steps: [restart_routr]\n  end: resolved\n"
                                             "  goto: outage\nticket"))
    with pytest.raises(PackInvalid) as raised:
        load_pack(copy)
    assert "during_incident" in str(raised.value)


# --- through the service: declared in the database, told over a real conversation ---------------------


def test_a_declared_scoped_incident_reaches_only_callers_inside_it(tmp_path: Path,
                                                                   models: tuple[PackModels, PackOperations]
                                                                   ) -> None:
    runtime = build_runtime(PACK, db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                            records_url=f"sqlite:///{tmp_path / 'records.db'}", models=models[0], clock=lambda: NOW)
    try:
        with runtime.db.session() as session:
            IncidentRepository(session).declare(
                actor="test", title="Fibre cut", affected=["no_internet"], started_at=NOW - timedelta(minutes=5),
                scope={"region": ["Millbrook"]}, messages={"en": "Fibre is cut in Millbrook.", "es": "Sin fibra."})
        service = runtime.conversations
        told = service.start(channel="chat", actor="test")
        assert "Fibre is cut" in " ".join(service.post(told.id, "my internet is down in Millbrook").replies)
        other = service.start(channel="chat", actor="test")
        service.post(other.id, "my internet is down")
        assert "Fibre is cut" not in " ".join(service.post(other.id, "Riverton").replies)
    finally:
        runtime.db.engine.dispose()
