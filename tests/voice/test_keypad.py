import asyncio
import logging
from pathlib import Path

import pytest

from helpline.pack.loader import load_pack
from helpline.pack.models import MenuOption, Procedure, SlotSpec, Step
from helpline.voice.control import KeypadMode, KeypadPrompt, KeyPressed, PauseAgent, ResumeAgent
from helpline.voice.frames import (
    AudioIn,
    Frame,
    Interruption,
    KeypadDigit,
    Transcript,
    UserStoppedSpeaking,
)
from helpline.voice.keypad import KeypadProcessor, KeypadSettings, PhoneMenu, wants_card
from helpline.voice.pipeline import Pipeline
from tests.conftest import DEMO
from tests.voice.fakes import Collect

CARD = "4111111111111111"


def press(keys: str, mode: str | None = None, wait: float = 0.0, before: list[Frame] | None = None,
          settings: KeypadSettings | None = None) -> tuple[list[Frame], list[Frame]]:
    async def scenario() -> tuple[list[Frame], list[Frame]]:
        head, tail = Collect(), Collect()
        pipeline = Pipeline([head, KeypadProcessor(settings or KeypadSettings(digit_timeout=0.2)), tail])
        await pipeline.start()
        if mode:
            await pipeline.send_upstream(KeypadMode(mode))  # type: ignore[arg-type]
        for frame in before or []:
            await pipeline.send(frame)
        for key in keys:
            await pipeline.send(KeypadDigit(key, received_at=1.0))
        await asyncio.sleep(wait)
        await pipeline.idle()
        await pipeline.stop()
        return tail.downstream, head.upstream

    return asyncio.run(scenario())


def transcripts(frames: list[Frame]) -> list[Transcript]:
    return [f for f in frames if isinstance(f, Transcript)]


def test_digits_until_hash_or_a_pause_and_star_starts_over() -> None:
    frames, _ = press("606#")
    assert transcripts(frames) == [Transcript("606", source="keypad")]
    assert frames[0] == PauseAgent(at=1.0)  # the first key stops the agent talking, ahead of anything queued
    assert sum(isinstance(f, KeyPressed) for f in frames) == 4
    frames, _ = press("12", wait=0.4)
    assert transcripts(frames) == [Transcript("12", source="keypad")]
    frames, _ = press("99*60614#")
    assert transcripts(frames) == [Transcript("60614", source="keypad")]
    frames, _ = press("#")
    assert not transcripts(frames) and ResumeAgent() in frames


def test_menu_mode_takes_one_key_at_once() -> None:
    frames, upstream = press("2", mode="menu")
    assert transcripts(frames) == [Transcript("2", ended_at=1.0, source="keypad")]
    assert upstream == [KeypadMode("menu")]


def test_card_mode_masks_the_number_refuses_speech_and_keeps_audio_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    speech = UserStoppedSpeaking(b"\x01\x00" * 800, 8000)
    frames, upstream = press(CARD + "#", mode="card", before=[AudioIn(b"\x01\x00" * 160), speech])
    assert upstream == [KeypadMode("card")]  # on its way to the transport, which pauses any recording
    assert not any(isinstance(f, AudioIn | UserStoppedSpeaking) for f in frames)
    assert [f for f in frames if isinstance(f, Interruption | KeypadPrompt)][:2] == [
        Interruption(), KeypadPrompt("card_by_keypad")]
    assert transcripts(frames) == [Transcript("[card ending 1111]", source="keypad")]
    assert CARD not in repr(frames) and CARD[:6] not in repr(frames) and CARD not in caplog.text

    frames, _ = press("4111111111111112#", mode="card")  # fails the Luhn check: typed wrong
    assert not transcripts(frames) and KeypadPrompt("card_invalid") in frames
    assert "4111111111111112" not in repr(frames)


@pytest.fixture(scope="module")
def pack():  # type: ignore[no-untyped-def]
    return load_pack(Path(DEMO))


def test_the_default_menu_is_made_of_the_packs_procedures_and_a_person(pack) -> None:  # type: ignore[no-untyped-def]
    menu = PhoneMenu.from_pack(pack)
    assert [c.key for c in menu.choices] == ["1", "2", "3", "4", "0"]
    titles = {p.title[:1].lower() + p.title[1:]: p for p in pack.procedures.values()}
    for choice in menu.choices[:-1]:
        assert choice.message == titles[choice.label].triggers[0]
    person = menu.by_key("0")
    assert person is not None and person.message == "I want to speak to a person"
    assert menu.prompt().startswith("You can also use your keypad: press 1 or say ")
    first = menu.choices[0]
    assert menu.by_words(f"um, {first.label} please") == first


def test_a_written_menu_and_card_slots(pack) -> None:  # type: ignore[no-untyped-def]
    pack.business.phone_menu = [MenuOption(key="1", label="orders", procedure="order_status"),
                                MenuOption(key="2", label="returns", message="I want to return something"),
                                MenuOption(key="3", label="order returns")]
    menu = PhoneMenu.from_pack(pack)
    assert [(c.key, c.message) for c in menu.choices] == [
        ("1", pack.procedures["order_status"].triggers[0]), ("2", "I want to return something"),
        ("3", "order returns"), ("0", "I want to speak to a person")]
    assert menu.by_words("orders") == menu.choices[0]
    assert menu.by_words("order returns") == menu.choices[2]  # the fullest match wins
    assert menu.by_words("tell me a joke") is None

    pack.procedures["pay"] = Procedure(id="pay", title="Pay a bill", triggers=["pay my bill", "make a payment"],
                                       slots={"card_number": SlotSpec(type="text"), "zip": SlotSpec(type="postcode")},
                                       steps=[Step(ask="card_number"), Step(ask="zip")])
    assert wants_card(pack, {"procedure": "pay", "awaiting": "slot:card_number"})
    assert not wants_card(pack, {"procedure": "pay", "awaiting": "slot:zip"})
    assert not wants_card(pack, {"procedure": None, "awaiting": None})


def test_the_tones_of_keys_are_not_speech() -> None:
    async def scenario() -> list[Frame]:
        tail = Collect()
        pipeline = Pipeline([KeypadProcessor(KeypadSettings(digit_timeout=0.1)), tail])
        await pipeline.start()
        await pipeline.send_upstream(KeypadMode("card"))
        await pipeline.send(KeypadDigit("4", received_at=5.0))
        await pipeline.send(UserStoppedSpeaking(b"\x01\x00" * 800, 8000, started_at=5.1, ended_at=5.3))
        await asyncio.sleep(0.3)
        await pipeline.idle()
        await pipeline.stop()
        return tail.downstream

    frames = asyncio.run(scenario())
    assert not any(isinstance(f, UserStoppedSpeaking | KeypadPrompt | Interruption) for f in frames)


def test_digits_keyed_for_a_prefixed_id_become_the_id(pack) -> None:  # type: ignore[no-untyped-def]
    from helpline.voice.keypad import keyed_id

    waiting = {"procedure": "cancel_order", "awaiting": "slot:order_id"}
    assert keyed_id("10422", pack, waiting) == "BB-10422"  # the demo pack writes order ids BB- + five digits
    assert keyed_id("1042", pack, waiting) is None  # too short to be one: the engine hears the digits as keyed
    assert keyed_id("10422", pack, {"procedure": "cancel_order", "awaiting": "verification"}) is None
    assert keyed_id("10422", pack, {"procedure": None, "awaiting": None}) is None
