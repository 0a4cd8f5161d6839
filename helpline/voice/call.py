"""The call agent: the stage that talks to the conversation engine for one phone call.

It starts a conversation on the "phone" channel when the call starts and speaks the greeting; each
caller turn (speech or keypad) is posted to `ConversationService` in a worker thread and the replies
are spoken, one `AgentSpeech` per reply. Around that it adds what only a phone call needs:

- a filler ("One moment while I check that.") when the engine takes longer than `filler_after`;
- "sorry, I didn't catch that" for empty or unsure transcripts, and after two in a row the keypad
  menu and a person on key 0 (the engine's own misunderstanding counter handles words it cannot place);
- the keypad mode for what the engine waits for (a menu choice, digits, or a card number by keypad only);
  digits keyed for an id with a letter prefix become that id ("10422" → "BB-10422"); while an id is awaited,
  the recognition stage is told the caller is spelling (`SpellingExpected`: "Charlie twelve thirty four" → C1234);
- near misses of the recogniser: a correction it is sure of is what the engine reads; one it is unsure
  of is asked about first ("Sorry, did you say: can I control the kettle from my phone?"), and a "no"
  asks the caller to say it again (voice/correction.py);
- hang-up once the goodbye has been heard; transfer to the escalation tier's number when the engine
  escalated during opening hours (the handoff summary goes with it), or a polite close when it booked
  a callback instead; closing the conversation when the caller hangs up (the ticket, and any callback
  promised, stay).

Every engine call goes through `ConversationService`, so the ticket (channel, handle time, redacted
transcript, outcome) is recorded exactly as for chat. Nothing here logs what the caller said.

`CallAgentProcessor` keeps the turn-taking; one job each is left to a collaborator: `LookAhead` the early
words' reading (voice/look_ahead.py), `Transfer` the escalation tier's side of a hand-over (voice/transfer.py),
`StaffRelay` a console takeover's replies (voice/staff_relay.py) and `CallWording` the voice lines.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from helpline.application.conversations import ConversationClosed, ConversationService, TurnView
from helpline.conversation.ports import ClientIdentity, ClientKind
from helpline.conversation.wording import TemplateWording
from helpline.pack.loader import BusinessPack
from helpline.understanding.short_answers import Answer, short_answers
from helpline.voice.control import (
    AgentPaused,
    AgentSpeechCancelled,
    EarlyWords,
    KeypadMode,
    KeypadModeName,
    KeypadPrompt,
    SpellingExpected,
    TransferConnected,
    TransferFailed,
)
from helpline.voice.correction import Correction
from helpline.voice.frames import (
    AgentFinishedSpeaking,
    AgentSpeech,
    CallEnded,
    CallStarted,
    Direction,
    Frame,
    HangUp,
    Interruption,
    SilenceTimeout,
    SystemFrame,
    Transcript,
)
from helpline.voice.keypad import PhoneMenu, awaits_id, keyed_id, wants_card
from helpline.voice.look_ahead import LookAhead
from helpline.voice.pipeline import Processor
from helpline.voice.recognition import HeardTranscript
from helpline.voice.speakable import spell
from helpline.voice.staff_relay import StaffRelay
from helpline.voice.transfer import Transfer
from helpline.voice.watchdog import TurnOverdue

log = logging.getLogger(__name__)
trace = logging.getLogger("helpline.voice.trace")

# Lines only a phone call needs; a pack may override any of them in templates/replies.yaml.
VOICE_REPLIES: dict[str, list[str]] = {
    "voice_filler": ["One moment while I check that.", "Just a moment while I look into that.",
                     "Bear with me one second."],
    "voice_not_caught": ["Sorry, I didn't catch that. Could you say it again?",
                         "Sorry, I missed that. Could you say it once more?"],
    "voice_line_unclear": ["Sorry, I'm having trouble hearing you.", "Sorry, I still couldn't make that out."],
    "voice_menu_unknown_key": ["Sorry, that key isn't one of the options."],
    "voice_card_keypad": ["Please type the card number on your phone's keypad, then press the hash key."],
    "voice_card_by_keypad": ["For your security, please don't read your card number out loud. Type it on your "
                             "phone's keypad instead, then press the hash key."],
    "voice_card_invalid": ["That doesn't look like a complete card number. Please type it again, then press the "
                           "hash key."],
    "voice_transfer_failed": ["I'm sorry, I couldn't reach anyone just now. Everything we've covered is with our "
                              "team, and they'll get back to you."],
    "voice_call_closed": ["This call has ended. Thank you for calling {{ business.name }}. Goodbye!"],
    "voice_nothing_to_spell": ["There's nothing for me to spell just now."],
    "voice_confirm_heard": ["Sorry, did you say: {{ heard }}?", "Just to check, did you say: {{ heard }}?"],
    "voice_say_again": ["Sorry about that. Could you say it again?"],
}

_SPELL = re.compile(r"^\W*(?:(?:can|could|would) you\s+)?(?:please\s+)?spell\s+(?:that|it|this|those)"
                    r"(?:\s+(?:out|again|back|for me|please))*\W*$", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class CallWording:
    """The voice lines in the pack's words (VOICE_REPLIES, unless its templates/replies.yaml overrides them); each
    line is rendered with a fresh seed so one asked for twice in a row need not be word for word the same."""

    def __init__(self, pack: BusinessPack) -> None:
        self.pack = pack
        self.templates = TemplateWording({**VOICE_REPLIES, **pack.replies})
        self._seed = 0

    def line(self, key: str, **values: str) -> str:
        self._seed += 1
        return self.templates.render_avoiding(key, {"business": self.pack.business.model_dump(),
                                                    "persona": self.pack.business.persona.model_dump(), **values},
                                              avoid=(), seed=self._seed)


def caller_number(uri: str) -> str:
    """The number in a caller id like "sip:+13125550123@host" (empty when it is not a phone number)."""
    user = uri.removeprefix("sip:").removeprefix("sips:").removeprefix("tel:").split("@")[0].split(";")[0]
    digits = user.lstrip("+")
    return user if digits.isdigit() and len(digits) >= 7 else ""


@dataclass(frozen=True)
class AgentSettings:
    filler_after: float = 0.8  # seconds the engine may take before the caller hears a filler
    min_confidence: float = 0.0  # a transcript below this was not understood (recognisers apply their own floor)
    hang_up_wait: float = 30.0  # at most this long for the goodbye to be heard before hanging up
    # Understand the early recognition's words while the closing pause runs out (the turn then uses that reading
    # when its words are the same and the conversation has not moved on); costs CPU in the pause, which competes
    # with reading the caller's audio on a busy machine.
    look_ahead: bool = True
    look_ahead_wait: float = 1.0  # at most this long for the early words' understanding before the turn is posted
    channel: str = "phone"


class CallAgentProcessor(Processor):
    """CallStarted / Transcript / SilenceTimeout / CallEnded -> ConversationService -> AgentSpeech,
    HangUp, TransferRequested."""

    def __init__(self, conversations: ConversationService, pack: BusinessPack, settings: AgentSettings | None = None,
                 menu: PhoneMenu | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.conversations = conversations
        self.pack = pack
        self.settings = settings or AgentSettings()
        self.menu = menu or PhoneMenu.from_pack(pack)
        self.clock = clock
        self.wording = CallWording(pack)
        self.conversation_id: str | None = None
        self.closed = asyncio.Event()  # the conversation is closed (or never started) and the call may go
        self._ready = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._starting: asyncio.Task[None] | None = None
        self._utterance = 0
        self._lines: dict[int, tuple[str, bool]] = {}  # utterance -> (text, last line of its turn)
        self._generation = 0  # bumped by every interruption: replies of an older turn are dropped
        self._said_at = 0.0  # when the last reply was sent on
        self._state: dict[str, Any] = {}
        self._escalated = False
        self._closing_after_callback = False  # out of hours: close the call once the callback is settled
        self._transfer = Transfer(conversations, pack, self.settings.channel, self._id)
        self._staff = StaffRelay(conversations, self._say)
        self._caller = ""
        self._ended = False
        self._not_caught = 0
        self._posting = False  # an engine call is in flight
        self._filler_said = False  # ... and the caller has heard a filler for it
        self._menu_offered = False
        self._keypad: KeypadModeName = "digits"
        self._spelling = False  # the recognition stage reads spelling-alphabet words as letters (an id awaited)
        self._hang_up_after: int | None = None
        self._heard_upto = 0  # the last utterance the transport reported heard
        self._hung_up = False
        self._confirming: Correction | None = None  # "did you say ...?" asked about this correction
        self._ahead = LookAhead(conversations, self.settings.look_ahead_wait)

    # -- frames

    async def process(self, frame: Frame, direction: Direction) -> None:
        if direction is Direction.UPSTREAM:
            await self._upstream(frame)
        elif isinstance(frame, CallStarted):
            self._starting = asyncio.create_task(self._start(frame))
        elif isinstance(frame, CallEnded):
            self._spawn(self._close())
            await self.push(frame)
        elif isinstance(frame, Interruption):
            self._generation += 1
            await self.push(frame)
            await self.push(AgentSpeechCancelled(upto=self._utterance))
        elif isinstance(frame, Transcript):
            await self._ready.wait()
            await self._turn(frame)
        elif isinstance(frame, SilenceTimeout):
            await self._ready.wait()
            await self._silence(frame)
        elif isinstance(frame, TurnOverdue):
            await self._overdue(frame)
            await self.push(frame)
        elif isinstance(frame, EarlyWords):
            self._look_ahead(frame.text)
        elif isinstance(frame, KeypadPrompt):
            await self._say([self.wording.line(f"voice_{frame.reason}")])
        elif isinstance(frame, SystemFrame):
            await self.push(frame)
        # the caller's audio and speech events end here: nothing after this stage needs them

    async def _upstream(self, frame: Frame) -> None:
        if isinstance(frame, AgentPaused):
            text, last = self._lines.get(frame.utterance, ("", False))
            frame = replace(frame, question=last and text.rstrip().endswith("?"))
        elif isinstance(frame, AgentFinishedSpeaking):
            self._heard_upto = max(self._heard_upto, frame.utterance)
            if self._hang_up_after is not None and frame.utterance >= self._hang_up_after:
                await self._hang_up()
        elif isinstance(frame, TransferFailed):
            self._spawn(self._transfer_failed())
        elif isinstance(frame, TransferConnected):
            self._spawn(self._transfer.connected(frame.target))
        await self.push(frame, Direction.UPSTREAM)

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the conversation

    async def _start(self, frame: CallStarted) -> None:
        self._caller = caller_number(frame.caller)
        try:
            contact = {"phone": self._caller} if self._caller else None  # caller id: a number to call back
            client = ClientIdentity(ClientKind.CALLER, self._caller) if self._caller else \
                ClientIdentity(ClientKind.WITHHELD_CALLER, frame.transport)  # verification limits count per client
            view = await asyncio.to_thread(self.conversations.start, self.settings.channel,
                                           f"phone:{frame.transport}", contact, (client,))
        except Exception:
            log.exception("could not start the conversation for call %s", frame.call_id)
            self.closed.set()
            await self._hang_up()
            return
        finally:
            self._ready.set()  # turns wait for this; without a conversation they are ignored
        self.conversation_id = view.id
        self._spawn(self._staff.run(view.id, lambda: not self._hung_up and not self.closed.is_set()))
        lines = list(view.replies)
        recording = self.pack.business.call_recording
        if recording.enabled and recording.announcement:
            lines.insert(0, recording.announcement)  # before anything else is said
        if self.pack.business.phone_menu:
            lines.append(self.menu.prompt())
            self._menu_offered = True
        await self._after_turn(view, lines, self._generation)

    async def _turn(self, transcript: Transcript) -> None:
        trace.debug("agent turn: %d words, ended=%s", len(transcript.text.split()), self._ended)
        if self._ended or self.conversation_id is None:
            return
        text = transcript.text.strip()
        if not text or transcript.confidence < self.settings.min_confidence:
            await self._not_understood(transcript)
            return
        self._not_caught = 0
        if transcript.source == "keypad" and self._keypad == "menu":
            choice = self.menu.by_key(text)
            if choice is None:
                await self._say([self.wording.line("voice_menu_unknown_key"), self.menu.prompt()])
                return
            text = choice.message
        elif self._menu_offered and transcript.source != "keypad":
            choice = self.menu.by_words(text)
            text = choice.message if choice else text
        elif transcript.source == "keypad":
            text = keyed_id(text, self.pack, self._state) or text
        self._menu_offered = False
        if _SPELL.match(text):
            await self._spell()
            return
        meant = await self._meant(text, transcript)
        if meant is None:
            return
        ahead = await self._ahead.take(meant)
        await self._post(lambda: self.conversations.post(self._id(), meant, "phone:caller", ahead=ahead))

    def _look_ahead(self, text: str) -> None:
        """Understand the early recognition's words now, before the pause has ended the turn, when a turn of
        these words would post them to the engine as they are (voice/look_ahead.py)."""
        if (not self.settings.look_ahead or self._posting or self._ended or self.conversation_id is None
                or self._staff.person_on_call
                or self._confirming is not None or self._keypad == "card" or _SPELL.match(text)):
            return
        if self._menu_offered:  # as the turn will read it: a menu option named by voice posts the option's words
            choice = self.menu.by_words(text)
            text = choice.message if choice else text
        self._ahead.start(self.conversation_id, text)

    async def _meant(self, text: str, transcript: Transcript) -> str | None:
        """What the caller meant: a near-miss correction the recogniser's stage found (when the engine is
        not waiting for an answer such as a name, which no vocabulary should bend), or the answer to "did
        you say ...?" (None: a question was asked instead, nothing to post)."""
        confirming, self._confirming = self._confirming, None
        if self._staff.person_on_call:
            return text  # a person has the call: the caller's words are kept as heard, the AI asks nothing
        if confirming is not None and transcript.source != "keypad":
            answers = short_answers(text)
            if Answer.AFFIRM in answers and Answer.DENY not in answers and len(text.split()) <= 4:
                return confirming.text
            if Answer.DENY in answers and len(text.split()) <= 4:
                await self._say([self.wording.line("voice_say_again")])
                return None
            # anything else is the caller saying it again, or something new: read it as it comes
        correction = transcript.correction if isinstance(transcript, HeardTranscript) else None
        if correction is None or not correction.changed or self._state.get("awaiting") or text != correction.heard:
            return text
        if correction.sure:
            return correction.text
        self._confirming = correction
        # the business words put in, for whoever watches the call (bench/voice/harness.py answers as the caller
        # would); never the caller's own words: a trace is a log, and what they said may hold personal details
        trace.debug("agent asks did you say: %d word(s) put in", len(correction.replacements),
                    extra={"conversation": self.conversation_id, "meant": [r.meant for r in correction.replacements]})
        await self._say([self.wording.line("voice_confirm_heard", heard=correction.confirming_phrase())])
        return None

    async def _post(self, call: Callable[[], TurnView]) -> None:
        generation = self._generation
        work = asyncio.ensure_future(asyncio.to_thread(call))
        self._posting, self._filler_said = True, False
        done, _ = await asyncio.wait({work}, timeout=self.settings.filler_after)
        if not done and generation == self._generation and not self._filler_said:
            self._filler_said = True
            await self._say([self.wording.line("voice_filler")], filler=True)
        try:
            view = await work
        except ConversationClosed:
            self._ended = True
            last = await self._say([self.wording.line("voice_call_closed")])
            self._hang_up_when_heard(last)
            return
        finally:
            self._posting = False
        await self._after_turn(view, list(view.replies), generation)

    async def _overdue(self, overdue: TurnOverdue) -> None:
        """The caller finished speaking a while ago and has heard nothing: say something now."""
        if self._ended or self._hung_up or self.conversation_id is None or self._staff.person_on_call:
            return
        if self._posting:
            if not self._filler_said:
                self._filler_said = True
                await self._say([self.wording.line("voice_filler")], filler=True)
            return
        if self._said_at >= overdue.ended_at:
            return  # a reply is on its way (synthesis, or held by the transport, which the watchdog releases)
        await self._say([self.wording.line("voice_not_caught")])

    async def _after_turn(self, view: TurnView, lines: list[str], generation: int) -> None:
        self._state = view.state
        if generation != self._generation:
            trace.debug("agent drops %d lines of an interrupted turn", len(lines))
            lines = []  # the caller spoke over this turn: its replies are void, its outcome is not
        newly_escalated = bool(view.state.get("escalated")) and not self._escalated
        self._escalated = self._escalated or newly_escalated
        if view.ended:
            self._ended = True
            self._hang_up_when_heard(await self._say(lines))
            return
        await self._set_keypad(lines)
        await self._set_spelling()
        await self._say(lines)
        asks = bool(lines) and lines[-1].rstrip().endswith("?")
        if newly_escalated:
            await self._hand_over(asks)
        elif self._closing_after_callback and not asks:
            # Out of hours the engine asked how to reach the caller; now that it has stopped asking, close.
            await self._end_call()

    async def _silence(self, timeout: SilenceTimeout) -> None:
        if self._ended or self._transfer.ringing or self._staff.person_on_call:
            return
        view = await asyncio.to_thread(self.conversations.silence, self._id(), timeout.final)
        await self._after_turn(view, list(view.replies), self._generation)

    async def _not_understood(self, transcript: Transcript) -> None:
        trace.debug("agent not understood ended_at=%.3f said_at=%.3f", transcript.ended_at, self._said_at)
        if transcript.ended_at and transcript.ended_at < self._said_at:
            return  # a noise while we were answering the turn before: nothing to ask about
        self._not_caught += 1
        if self._not_caught < 2:
            await self._say([self.wording.line("voice_not_caught")])
            return
        self._menu_offered = True
        await self._set_keypad([], force="menu")
        await self._say([self.wording.line("voice_line_unclear"), self.menu.prompt()])

    async def _close(self) -> None:
        """The caller hung up: close the conversation if it is still open (the ticket stays)."""
        if self._starting is not None:
            await asyncio.wait({self._starting}, timeout=10)
        try:
            if self.conversation_id is not None and not self._ended:
                self._ended = True
                await asyncio.to_thread(self.conversations.end, self.conversation_id, "phone:caller", "caller hung up")
        except Exception:
            log.exception("could not close conversation %s", self.conversation_id)
        finally:
            self.closed.set()

    # -- escalation

    async def _hand_over(self, asks: bool) -> None:
        if not self._transfer.team_open(self._state.get("escalated_tier")):
            # Out of hours the engine books a callback instead. When it still asks the caller something (the
            # number or email to call back on), hanging up now would leave the caller talking to nobody: every
            # later question went unanswered. Close once it stops asking.
            if asks:
                self._closing_after_callback = True
                return
            await self._end_call()
            return
        request = await self._transfer.request()
        if request is None:
            await self._transfer_failed()
            return
        await self.push(request)

    async def _transfer_failed(self) -> None:
        """Nobody picked up (or there was nobody to ring): the engine's callback booking is said, else an apology."""
        lines = await self._transfer.failed(self._caller)
        if lines is None:
            lines = [self.wording.line("voice_transfer_failed")]
        await self._say(lines)
        if lines and lines[-1].rstrip().endswith("?"):
            self._closing_after_callback = True  # it asks how to call back: listen before closing
            return
        await self._end_call()

    async def _end_call(self) -> None:
        if self.conversation_id is None or self._ended:
            return
        self._ended = True
        view = await asyncio.to_thread(self.conversations.end, self.conversation_id, "phone:agent", "call ended")
        self._hang_up_when_heard(await self._say(list(view.replies)))

    # -- speaking

    async def _say(self, lines: list[str], filler: bool = False) -> int | None:
        """One AgentSpeech per line; returns the last utterance number (None when nothing was said)."""
        lines = [line for line in lines if line.strip()]
        trace.debug("agent says %d lines", len(lines))
        for n, line in enumerate(lines):
            self._utterance += 1
            self._lines[self._utterance] = (line, n == len(lines) - 1 and not filler)
            await self.push(AgentSpeech(line, utterance=self._utterance, filler=filler))
        if lines:
            self._said_at = self.clock()
            return self._utterance
        return None

    async def _spell(self) -> None:
        said = [text for _, (text, _) in sorted(self._lines.items())]
        found = _spellable(" ".join(said[-4:]), list(self.pack.business.id_formats.values()))
        if not found:
            await self._say([self.wording.line("voice_nothing_to_spell")])
            return
        await self._say([f"That's {spell(found)}"])

    async def _set_keypad(self, lines: list[str], force: KeypadModeName | None = None) -> None:
        state = self._state
        mode: KeypadModeName = force or ("card" if wants_card(self.pack, state)
                                         else "digits" if state.get("procedure") or state.get("awaiting")
                                         else "menu")
        if mode == self._keypad:
            return
        self._keypad = mode
        await self.push(KeypadMode(mode), Direction.UPSTREAM)
        if mode == "card":
            lines.append(self.wording.line("voice_card_keypad"))

    async def _set_spelling(self) -> None:
        spelling = awaits_id(self.pack, self._state)
        if spelling != self._spelling:
            self._spelling = spelling
            await self.push(SpellingExpected(spelling), Direction.UPSTREAM)

    def _hang_up_when_heard(self, last: int | None) -> None:
        """Hang up once utterance `last` (else whatever was said before) has been heard."""
        last = last or self._utterance
        if not last or last <= self._heard_upto:
            self._spawn(self._hang_up())
            return
        self._hang_up_after = last
        self._spawn(self._hang_up_later())

    async def _hang_up_later(self) -> None:
        await asyncio.sleep(self.settings.hang_up_wait)
        await self._hang_up()

    async def _hang_up(self) -> None:
        if not self._hung_up:
            self._hung_up = True
            await self.push(HangUp())

    def _id(self) -> str:
        if self.conversation_id is None:
            raise RuntimeError("the conversation has not started")
        return self.conversation_id

    async def stop(self) -> None:
        for task in [*self._tasks, *([self._starting] if self._starting else [])]:
            task.cancel()
        await super().stop()


def _spellable(text: str, id_patterns: list[str]) -> str:
    """The last id (a pack id format) or email in what the agent just said."""
    found: list[tuple[int, str]] = []
    for pattern in id_patterns:
        found += [(m.start(), m.group(0)) for m in re.finditer(pattern, text)]
    found += [(m.start(), m.group(0)) for m in _EMAIL.finditer(text)]
    return max(found)[1] if found else ""

