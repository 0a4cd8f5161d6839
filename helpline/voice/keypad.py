"""Keypad entry and the phone menu.

`KeypadProcessor` turns keys into a `Transcript(source="keypad")`:
- *menu* mode (nothing is being asked): one key is a choice, answered at once;
- *digits* mode (an answer is awaited: a ZIP code, an order number): keys are collected until `#`
  or a pause between keys; `*` starts over; digits keyed for an id that starts with letters become
  that id (`keyed_id`: "10422" → "BB-10422" when the pack writes order ids `BB-` + five digits);
- *card* mode (a card number is asked for): the same collection, but the digits never leave this
  stage in clear. The call agent hears "[card ending 1234]" (what redaction would have made of it,
  so the last four are all that can be read back), nothing is logged, speech is refused (the caller
  is asked to type instead, and the recogniser never gets the audio), the caller's audio goes no
  further, and the transport is told to pause any recording (`KeypadMode` travels up to it).

`PhoneMenu` is the IVR: "press 1 or say orders". It comes from the pack's `phone_menu` when the
business wrote one, else a few of its procedures; key 0 is always a person.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from helpline.pack.loader import BusinessPack
from helpline.understanding.redaction import luhn_valid
from helpline.voice.control import (
    KeypadMode,
    KeypadModeName,
    KeypadPrompt,
    KeyPressed,
    PauseAgent,
    ResumeAgent,
)
from helpline.voice.frames import (
    AudioIn,
    CallEnded,
    Direction,
    Frame,
    Interruption,
    KeypadDigit,
    Transcript,
    UserStoppedSpeaking,
    UtteranceMayHaveEnded,
)
from helpline.voice.pipeline import Processor
from helpline.voice.vocabulary import id_format

PERSON_KEY = "0"
PERSON_MESSAGE = "I want to speak to a person"  # a phrasing the engine's "human" intent knows
DEFAULT_MENU_SIZE = 4
KEY_TONE_MARGIN = 0.3  # seconds between a key press and the start of the "speech" its tone makes
KEY_TONE_TAIL = 0.5  # ... and between the last key press and that speech's end
_PRIORITY = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
_WORD = re.compile(r"[a-z0-9]+")
_FILLER_WORDS = {"a", "an", "the", "and", "or", "of", "to", "my", "for", "on", "in", "i", "with", "please", "it"}


@dataclass(frozen=True)
class KeypadSettings:
    digit_timeout: float = 3.0  # a pause this long after the last key ends an entry
    card_digit_timeout: float = 6.0  # card numbers are read off a card: slower
    max_digits: int = 20


class KeypadProcessor(Processor):
    """KeypadDigit -> KeyPressed (now) and Transcript(source="keypad") when the entry is complete."""

    def __init__(self, settings: KeypadSettings | None = None):
        super().__init__()
        self.settings = settings or KeypadSettings()
        self.mode: KeypadModeName = "digits"
        self._keys: list[str] = []
        self._timer: asyncio.Task[None] | None = None
        self._last_key_at = float("-inf")

    async def process(self, frame: Frame, direction: Direction) -> None:
        if direction is Direction.UPSTREAM:
            if isinstance(frame, KeypadMode):
                if frame.mode != self.mode:
                    self._reset()
                self.mode = frame.mode
            await self.push(frame, direction)
        elif isinstance(frame, KeypadDigit):
            await self._key(frame)
        elif self.mode == "card" and isinstance(frame, AudioIn | UtteranceMayHaveEnded):
            return  # nothing of the caller's audio travels on while a card number may be spoken or keyed
        elif isinstance(frame, UserStoppedSpeaking) and self._tones(frame):
            # The "speech" was the keys' own tones (phones that send in-band DTMF): not words.
            if not self._keys:
                await self.push(ResumeAgent())
        elif self.mode == "card" and isinstance(frame, UserStoppedSpeaking):
            # The caller said it aloud: stop the agent, keep the audio from the recogniser, ask for keys.
            await self.push(Interruption())
            await self.push(KeypadPrompt("card_by_keypad"))
        else:
            if isinstance(frame, CallEnded):
                self._reset()
            await self.push(frame, direction)

    def _tones(self, utterance: UserStoppedSpeaking) -> bool:
        """The utterance began and ended with key presses: the keys' in-band tones, not words."""
        return (utterance.started_at - KEY_TONE_MARGIN <= self._last_key_at
                and utterance.ended_at <= self._last_key_at + KEY_TONE_TAIL)

    async def _key(self, frame: KeypadDigit) -> None:
        digit = frame.digit
        self._last_key_at = frame.received_at
        await self.push(KeyPressed(at=frame.received_at))
        if self.mode == "menu" and not self._keys:
            if digit not in "#*":
                await self.push(PauseAgent(at=frame.received_at))
                await self.push(Transcript(digit, ended_at=frame.received_at, source="keypad"))
            return
        if digit == "#":
            await self._complete()
            return
        if digit == "*":
            self._reset()
            return
        if not digit.isdigit():
            return
        if not self._keys:
            await self.push(PauseAgent(at=frame.received_at))  # a key press is a barge-in too
        self._keys.append(digit)
        if len(self._keys) >= self.settings.max_digits:
            await self._complete()
            return
        self._restart_timer()

    def _restart_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        wait = self.settings.card_digit_timeout if self.mode == "card" else self.settings.digit_timeout
        self._timer = asyncio.create_task(self._expire(wait), name="voice:keypad")

    async def _expire(self, wait: float) -> None:
        await asyncio.sleep(wait)
        self._timer = None
        await self._complete()

    async def _complete(self) -> None:
        digits = "".join(self._keys)
        self._reset()
        if not digits:
            await self.push(ResumeAgent())
            return
        if self.mode != "card":
            await self.push(Transcript(digits, source="keypad"))
            return
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            await self.push(Transcript(f"[card ending {digits[-4:]}]", source="keypad"))
        else:
            await self.push(Interruption())
            await self.push(KeypadPrompt("card_invalid"))

    def _reset(self) -> None:
        self._keys.clear()
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        self._timer = None

    async def stop(self) -> None:
        self._reset()
        await super().stop()


# --- the phone menu -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuChoice:
    key: str
    label: str  # what the menu says and what the caller may say ("orders")
    message: str  # what choosing it means, posted to the conversation as the caller's words


class PhoneMenu:
    def __init__(self, choices: list[MenuChoice]):
        self.choices = choices

    @classmethod
    def from_pack(cls, pack: BusinessPack) -> PhoneMenu:
        """The pack's `phone_menu`, else its most important procedures (priority, then how many ways
        customers ask for them); key 0 is a person."""
        procedures = pack.procedures
        written = pack.business.phone_menu
        if written:
            choices = [MenuChoice(o.key, o.label, o.message or (procedures[o.procedure].triggers[0]
                                                               if o.procedure in procedures else o.label))
                       for o in written]
        else:
            order = {pid: n for n, pid in enumerate(procedures)}
            ranked = sorted(procedures.values(),
                            key=lambda p: (_PRIORITY.get(p.priority, 2), -len(p.triggers), order[p.id]))
            choices = [MenuChoice(str(n), p.title[:1].lower() + p.title[1:], p.triggers[0])
                       for n, p in enumerate(ranked[:DEFAULT_MENU_SIZE], start=1)]
        return cls([*choices, MenuChoice(PERSON_KEY, "a person", PERSON_MESSAGE)])

    def prompt(self) -> str:
        parts = [f"press {c.key} or say {c.label}" for c in self.choices if c.key != PERSON_KEY]
        person = "press 0 to talk to a person"
        if not parts:
            return f"You can also {person}."
        return f"You can also use your keypad: {'; '.join(parts)}; or {person}."

    def by_key(self, key: str) -> MenuChoice | None:
        return next((c for c in self.choices if c.key == key), None)

    def by_words(self, text: str) -> MenuChoice | None:
        """The choice whose label the caller said (all its content words), if exactly one fits best."""
        said = set(_WORD.findall(text.lower()))
        scores: Counter[str] = Counter()
        for choice in self.choices:
            words = set(_WORD.findall(choice.label.lower())) - _FILLER_WORDS
            if words and words <= said:
                scores[choice.key] = len(words)
        if not scores:
            return None
        (best, score), *rest = scores.most_common()
        if rest and rest[0][1] == score:
            return None
        return self.by_key(best)


def awaited_slot(pack: BusinessPack, state: Mapping[str, object]) -> tuple[str, str] | None:
    """The slot the engine is waiting for in the running procedure: (its name, its type; "" when the procedure
    does not declare it), or None when it waits for no slot."""
    awaiting = state.get("awaiting")
    procedure = pack.procedures.get(str(state.get("procedure") or ""))
    if not isinstance(awaiting, str) or not awaiting.startswith("slot:") or procedure is None:
        return None
    name = awaiting.removeprefix("slot:")
    slot = procedure.slots.get(name)
    return name, slot.type if slot is not None else ""


def wants_card(pack: BusinessPack, state: Mapping[str, object]) -> bool:
    """The engine is waiting for a slot that holds a card number (by its name or its type)."""
    slot = awaited_slot(pack, state)
    return slot is not None and any("card" in text and ("number" in text or text in ("card", "payment_card"))
                                    for text in (slot[0].lower(), slot[1].lower()))


def awaited_id_kind(pack: BusinessPack, state: Mapping[str, object]) -> str | None:
    """The pack id format the awaited slot holds (by the slot's type, else its name: an order id), if any."""
    slot = awaited_slot(pack, state)
    if slot is None:
        return None
    name, kind = slot
    formats = pack.business.id_formats
    return kind if kind in formats else name if name in formats else None


def awaits_id(pack: BusinessPack, state: Mapping[str, object]) -> bool:
    """The engine waits for one of the pack's id formats, so a spelling-alphabet word is a letter ("charlie twelve
    thirty four" is C1234). Not for an email or the security check: there such a word alone is most often a name
    ("mike dot smith at ...", "Charlie Brown, 60601"), and letters spelled together ("juliet oscar hotel november")
    are read as letters anyway."""
    return awaited_id_kind(pack, state) is not None


def keyed_id(digits: str, pack: BusinessPack, state: Mapping[str, object]) -> str | None:
    """Digits keyed for an id whose format starts with letters ("10422" → "BB-10422" when the engine waits
    for an order id written `BB-` + five digits): a keypad has no letters, so the caller keys the digits."""
    kind = awaited_id_kind(pack, state) if digits.isdigit() else None
    if kind is None:
        return None
    return id_format(kind, pack.business.id_formats[kind]).from_digits(digits)
