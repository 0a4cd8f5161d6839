"""People on their own phones in a call the AI answers: take over, listen in, whisper, barge in (issue 14).

What each does to the audio (C the caller, A the AI's voice, P a person who took the call on their phone or
whom a warm transfer connected, S a supervisor monitoring):

- **Take over on my phone**: P's softphone is rung. Once P answers, C and P are bridged and A is muted: the
  conversation is taken over as from the console (`handled_by` is P), so the engine answers nothing. The
  transcript goes on: C's speech still reaches the call's recogniser and is stored as the customer's lines,
  P's speech is recognised by the same recogniser and stored as P's lines (marked spoken, so the call's voice
  does not say them again). Hand back, from the console or by P hanging up, unmutes A. If P does not answer,
  nothing changes for the caller and P finds a staff-only note on the conversation saying so.
- **Listen in**: S hears C and whoever answers C (A, or P), one way; S's microphone goes nowhere.
- **Whisper**: as listening, and S's speech reaches the staff side only. With a person on the call it is mixed
  into P's ear; with the AI on the call it is recognised and stored as a staff-only note the console shows
  (an AI takes no spoken hint, and speaking it would reach the caller). It is noted in both cases.
- **Barge in**: S's voice is mixed into what C hears (and P, if any), a three-way call; A keeps answering C.
  S's speech is stored as S's line.

Each phone leg has exactly one reader (its task here); the caller's leg stays read by `SipCallMedia`, which
hands each frame to `caller_frame`. The console reaches all this through `PhoneDesk`, by conversation id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from helpline.application.conversations import ConversationClosed, ConversationNotFound
from helpline.channels.phone.ua import CallFailed, PhoneCall, SipUserAgent, relay_frame
from helpline.voice.frames import AudioIn, Direction, Frame, KeypadDigit, Transcript
from helpline.voice.pipeline import Pipeline, Processor
from helpline.voice.transport import VoiceServices
from helpline.voice.vad import VoiceActivityProcessor

log = logging.getLogger(__name__)

MODES = ("listen", "whisper", "barge")


class DeskRefused(Exception):
    """The console asked for something this call cannot do now (said plainly to the person)."""


@dataclass(frozen=True)
class StaffPhone:
    """A staff member and the softphone they want rung."""

    uri: str
    by: str  # their email: who handles the conversation, who whispered
    name: str
    actor: str  # the audit log's name for them


@dataclass(frozen=True)
class DeskState:
    """What the console shows about a live phone call."""

    conversation_id: str
    person: str  # email of whoever talks to the caller on their phone ("" when nobody)
    monitor: str  # email of the supervisor on the line ("" when nobody)
    mode: str  # listen | whisper | barge ("" when nobody monitors)
    ringing: str  # email of someone whose phone is being rung ("" when none)


# --- one leg's words ------------------------------------------------------------------------------


class _Lines(Processor):
    """The end of a leg's little pipeline: each non-empty transcript is handed on."""

    def __init__(self, on_line: Callable[[str], Awaitable[None]]) -> None:
        super().__init__("leg-lines")
        self.on_line = on_line

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, Transcript) and frame.text.strip():
            # the conversation may have ended while they spoke: then there is nothing to add the line to
            with contextlib.suppress(ConversationClosed, ConversationNotFound):
                await self.on_line(frame.text.strip())


class LegTranscriber:
    """A person's leg recognised as the caller's is: voice activity, then the call's recogniser."""

    def __init__(self, services: VoiceServices, on_line: Callable[[str], Awaitable[None]], rate: int = 8000) -> None:
        self.services = services
        self.on_line = on_line
        self.rate = rate
        self._pipeline: Pipeline | None = None

    async def start(self) -> None:
        # The VAD model loads native code: off the event loop, as run_call does.
        vad = await asyncio.to_thread(VoiceActivityProcessor, self.rate, self.services.settings.vad,
                                      self.services.vad_model)
        self._pipeline = Pipeline([vad, self.services.recognition(), _Lines(self.on_line)])
        await self._pipeline.start()

    async def feed(self, frame: AudioIn) -> None:
        if self._pipeline is not None:
            await self._pipeline.send(frame)

    async def stop(self, drain_seconds: float = 3.0) -> None:
        """Let words already heard be recognised (bounded), then stop."""
        if self._pipeline is None:
            return
        pipeline, self._pipeline = self._pipeline, None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(pipeline.idle(), drain_seconds)
        await pipeline.stop()


@dataclass
class _Leg:
    call: PhoneCall
    staff: StaffPhone
    transcriber: LegTranscriber
    reader: asyncio.Task[None] | None = None


# --- one call -------------------------------------------------------------------------------------


class CallSupervision:
    """The people on their own phones in one call (see the module's note)."""

    def __init__(self, call: PhoneCall, ua: SipUserAgent, services: VoiceServices, ring_seconds: float = 20.0,
                 transferred_person: Callable[[], PhoneCall | None] = lambda: None) -> None:
        self.call = call
        self.ua = ua
        self.services = services
        self.ring_seconds = ring_seconds
        self.conversation_id: Callable[[], str | None] = lambda: None  # known once the call agent started it
        self.transferred_person = transferred_person  # the person a warm transfer connected, if any
        # the call recording's answering side: a person on their phone is recorded as the agent would be
        self.record_staff: Callable[[bytes], None] = lambda pcm: None
        self.person: _Leg | None = None
        self.monitor: _Leg | None = None
        self.mode = ""
        self.ringing: StaffPhone | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- what the caller's side asks

    @property
    def agent_muted(self) -> bool:
        """A person took the call on their phone: the AI's voice must not reach the caller."""
        return self.person is not None

    async def caller_frame(self, frame: AudioIn | KeypadDigit) -> None:
        """One frame from the caller: to the person who took the call over, and into the supervisor's ear."""
        person = self.person
        if person is not None and not person.call.ended:
            await relay_frame(frame, person.call)
        monitor = self.monitor
        if monitor is not None and isinstance(frame, AudioIn):
            monitor.call.rtp.mix("caller", frame.pcm)

    def state(self) -> DeskState:
        return DeskState(self.conversation_id() or "", self.person.staff.by if self.person else "",
                         self.monitor.staff.by if self.monitor else "", self.mode if self.monitor else "",
                         self.ringing.by if self.ringing else "")

    # -- take over on a phone

    def start_take_over(self, staff: StaffPhone) -> None:
        """Ring the person (in the background); the console is told how it went on the conversation."""
        if self.person is not None:
            raise DeskRefused(f"{self.person.staff.name} already has this call on their phone.")
        self._ring(staff, self._take_over(staff))

    async def _take_over(self, staff: StaffPhone) -> None:
        conversation_id = self._conversation()
        leg = await self._answered(staff, conversation_id)
        if leg is None:
            return
        self.person = _Leg(leg, staff, LegTranscriber(self.services, lambda text: self._said(staff, text)))
        self.call.clear()  # the AI's words still queued would play over the person
        try:
            await asyncio.to_thread(self.services.conversations.take_over, conversation_id, staff.by, staff.name,
                                    staff.actor)
        except (ConversationClosed, ConversationNotFound):
            await self._release_person()
            return
        await self.person.transcriber.start()
        self.person.reader = asyncio.create_task(self._read_person(self.person), name=f"phone:person:{leg.call_id}")
        self._keep(self._watch_hand_back(conversation_id))

    async def _read_person(self, leg: _Leg) -> None:
        async for frame in leg.call.receive():
            if self.call.ended:
                break
            await relay_frame(frame, self.call)  # heard by a monitor too: it taps what the caller is sent
            if isinstance(frame, AudioIn):
                self.record_staff(frame.pcm)
                await leg.transcriber.feed(frame)
        if self.person is leg and not self.call.ended:
            # They hung up their phone: the AI answers again.
            await self._release_person()
            with contextlib.suppress(ConversationClosed, ConversationNotFound):
                await asyncio.to_thread(self.services.conversations.hand_back, self._conversation(), leg.staff.by,
                                        leg.staff.actor)

    async def _watch_hand_back(self, conversation_id: str) -> None:
        """Handed back (or ended) from the console: the person's phone leaves the call and the AI speaks again."""
        with self.services.conversations.bus.subscribe(conversation_id) as subscription:
            while self.person is not None and not self.call.ended:
                event = await subscription.get(timeout=1.0)
                if event is not None and event.kind in ("handback", "ended"):
                    await self._release_person()
                    return

    async def _release_person(self) -> None:
        leg, self.person = self.person, None
        if leg is None:
            return
        await self._end_leg(leg)

    async def _said(self, staff: StaffPhone, text: str) -> None:
        await asyncio.to_thread(self.services.conversations.staff_spoke, self._conversation(), staff.by, staff.name,
                                text, staff.actor)

    # -- listen in, whisper, barge in

    def start_monitoring(self, staff: StaffPhone, mode: str) -> None:
        """Ring the supervisor to listen in (or change how they are heard when already on the line)."""
        if mode not in MODES:
            raise DeskRefused(f"Unknown mode {mode!r}: listen, whisper or barge.")
        if self.monitor is not None:
            if self.monitor.staff.by != staff.by:
                raise DeskRefused(f"{self.monitor.staff.name} is already listening to this call.")
            self._set_mode(mode)
            return
        self.mode = mode
        self._ring(staff, self._monitor(staff))

    async def _monitor(self, staff: StaffPhone) -> None:
        leg = await self._answered(staff, self._conversation())
        if leg is None:
            return
        monitor = _Leg(leg, staff, LegTranscriber(self.services, lambda text: self._monitor_said(staff, text)))
        self.monitor = monitor
        self.call.rtp.tap = lambda pcm: leg.rtp.mix("agent", pcm)
        await monitor.transcriber.start()
        monitor.reader = asyncio.create_task(self._read_monitor(monitor), name=f"phone:monitor:{leg.call_id}")

    async def _read_monitor(self, leg: _Leg) -> None:
        async for frame in leg.call.receive():
            if self.call.ended:
                break
            if not isinstance(frame, AudioIn) or self.mode == "listen":
                continue
            person = self._person_call()
            if person is not None:
                person.rtp.mix("monitor", frame.pcm)
            if self.mode == "barge":
                self.call.rtp.mix("monitor", frame.pcm)
            await leg.transcriber.feed(frame)
        if self.monitor is leg:
            await self.stop_monitoring()

    def _set_mode(self, mode: str) -> None:
        self.mode = mode
        if mode != "barge":
            self.call.rtp.stop_mixing("monitor")
        person = self._person_call()
        if mode == "listen" and person is not None:
            person.rtp.stop_mixing("monitor")

    async def _monitor_said(self, staff: StaffPhone, text: str) -> None:
        conversations = self.services.conversations
        if self.mode == "barge":
            await asyncio.to_thread(conversations.staff_spoke, self._conversation(), staff.by, staff.name, text,
                                    staff.actor)
        elif self.mode == "whisper":
            await asyncio.to_thread(conversations.whisper, self._conversation(), staff.by, text, staff.actor)

    async def stop_monitoring(self) -> None:
        leg, self.monitor = self.monitor, None
        if leg is None:
            return
        self.mode = ""
        self.call.rtp.tap = None
        self.call.rtp.stop_mixing("monitor")
        person = self._person_call()
        if person is not None:
            person.rtp.stop_mixing("monitor")
        await self._end_leg(leg)

    # -- shared

    def _person_call(self) -> PhoneCall | None:
        person = self.person.call if self.person is not None else self.transferred_person()
        return person if person is not None and not person.ended else None

    def _conversation(self) -> str:
        conversation_id = self.conversation_id()
        if conversation_id is None:
            raise DeskRefused("The call has no conversation yet: try again in a moment.")
        return conversation_id

    def _ring(self, staff: StaffPhone, work: Awaitable[None]) -> None:
        if self.ringing is not None:
            raise DeskRefused(f"{self.ringing.name}'s phone is already ringing for this call.")
        self._conversation()
        self.ringing = staff

        async def ring() -> None:
            try:
                await work
            finally:
                self.ringing = None

        self._keep(ring())

    async def _answered(self, staff: StaffPhone, conversation_id: str) -> PhoneCall | None:
        """Ring `staff`'s phone; None (and a note for them on the conversation) when it was not answered."""
        try:
            leg = await self.ua.call(staff.uri, timeout=self.ring_seconds, display_name="Helpline call")
        except (CallFailed, ValueError, OSError) as error:
            reason = error.reason if isinstance(error, CallFailed) else "unreachable"
            log.info("staff phone %s for %s: %s", staff.uri, conversation_id, error)
            with contextlib.suppress(ConversationClosed, ConversationNotFound):
                await asyncio.to_thread(self.services.conversations.whisper, conversation_id, staff.by,
                                        f"{staff.name}'s phone ({staff.uri}) did not answer ({reason}); the AI "
                                        "still has the call.", staff.actor)
            return None
        if self.call.ended:
            await leg.hang_up()
            return None
        return leg

    async def _end_leg(self, leg: _Leg) -> None:
        current = asyncio.current_task()
        if leg.reader is not None and leg.reader is not current:
            leg.reader.cancel()
            await asyncio.wait({leg.reader})
        if not leg.call.ended:
            await leg.call.hang_up()
        await leg.transcriber.stop()

    def _keep(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """The call is over: every staff phone leaves it."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        await self._release_person()
        await self.stop_monitoring()


# --- the console's way in -------------------------------------------------------------------------


class PhoneDesk:
    """The live phone calls on this node, by conversation (implements helpline.console.calls.PhoneDesk).

    A call answered on another node is not here: the console says so rather than pretending."""

    def __init__(self) -> None:
        self._calls: list[CallSupervision] = []

    def add(self, supervision: CallSupervision) -> None:
        self._calls.append(supervision)

    def remove(self, supervision: CallSupervision) -> None:
        if supervision in self._calls:
            self._calls.remove(supervision)

    def _find(self, conversation_id: str) -> CallSupervision:
        for supervision in self._calls:
            if supervision.conversation_id() == conversation_id and not supervision.call.ended:
                return supervision
        raise DeskRefused("This conversation is not a live phone call on this server.")

    def state(self, conversation_id: str) -> DeskState | None:
        try:
            return self._find(conversation_id).state()
        except DeskRefused:
            return None

    def take_over(self, conversation_id: str, uri: str, by: str, name: str, actor: str) -> None:
        self._find(conversation_id).start_take_over(StaffPhone(uri, by, name, actor))

    def monitor(self, conversation_id: str, uri: str, by: str, name: str, actor: str, mode: str) -> None:
        self._find(conversation_id).start_monitoring(StaffPhone(uri, by, name, actor), mode)

    async def stop_monitoring(self, conversation_id: str) -> None:
        await self._find(conversation_id).stop_monitoring()
