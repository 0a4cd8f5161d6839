"""The phone line: the SIP user agent answering calls into the voice pipeline, warm and cold transfers,
and the dialer that keeps promised callbacks.

A SIP call's audio has exactly one reader. While the caller talks to the agent that reader feeds the
pipeline; during a warm transfer it feeds the person instead, so `SipCallMedia` owns the reading and
routes each frame to whoever is listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from helpline.application.callbacks import CallbackDesk
from helpline.channels.phone.config import SipConfig
from helpline.channels.phone.supervision import CallSupervision, PhoneDesk
from helpline.channels.phone.ua import CallFailed, PhoneCall, SipUserAgent, TransferFailed, relay_frame
from helpline.privacy.recordings import link_recording_quietly
from helpline.voice.answering import Answer, AnsweringListener
from helpline.voice.audio import resample
from helpline.voice.frames import AudioIn, KeypadDigit
from helpline.voice.ports import SpeechSynthesizer
from helpline.voice.recording import CallRecorder
from helpline.voice.speakable import speakable
from helpline.voice.transport import CallOutcome, VoiceServices, run_call

log = logging.getLogger(__name__)
ACTOR = "system:phone"


@dataclass(frozen=True)
class PhoneSettings:
    transfer_ring_seconds: float = 20.0  # a person who does not answer by then: back to the caller
    warm_transfer: bool = True  # False: hand the call over with REFER (the PBX rings the person)
    callback_poll_seconds: float = 30.0
    callback_attempts: int = 3  # then the callback is marked missed for a person to pick up
    callback_retry_seconds: float = 600.0  # between attempts at one number
    # a node holding a claim longer than this (ringing plus the whole call) has died: another node takes it
    callback_claim_timeout_seconds: float = 3600.0
    callback_ring_seconds: float = 30.0
    dial_callbacks: bool = True
    # How a customer's number becomes a SIP target: "{number}" goes to the registrar (trunk) as tel,
    # "sip:{number}@gateway.example" names a gateway.
    callback_target: str = "{number}"
    queue_max_seconds: float = 300.0  # waiting longer than this for a busy team: a callback instead
    queue_retry_seconds: float = 20.0  # how often a busy team is rung again (and the caller updated)
    average_handle_seconds: float = 240.0  # the wait estimate before any transfer has been timed
    answer_listen_seconds: float = 6.0  # at most this long to tell a person from a machine
    voicemail_wait_seconds: float = 20.0  # at most this long for a machine's beep


class Speaker:
    """Text to 8 kHz phone audio in one piece (announcements to a person or a voicemail box)."""

    def __init__(self, synthesizer: SpeechSynthesizer, rate: int = 8000) -> None:
        self.synthesizer = synthesizer
        self.rate = rate

    async def audio(self, text: str) -> bytes:
        def render() -> bytes:
            pcm = b"".join(self.synthesizer.synthesize(speakable(text)))
            return resample(pcm, self.synthesizer.sample_rate, self.rate)

        return await asyncio.to_thread(render)

    async def say(self, call: PhoneCall, text: str) -> None:
        await call.play(await self.audio(text))
        await call.wait_played()


class HoldQueue:
    """Callers waiting for a busy team, first come first served, with a wait estimate from how long the
    team's recent calls lasted."""

    def __init__(self, average_handle_seconds: float = 240.0) -> None:
        self._waiting: dict[str, list[str]] = {}
        self._average = average_handle_seconds

    def join(self, target: str, call_id: str) -> int:
        line = self._waiting.setdefault(target, [])
        if call_id not in line:
            line.append(call_id)
        return self.position(target, call_id)

    def position(self, target: str, call_id: str) -> int:
        line = self._waiting.get(target, [])
        return line.index(call_id) + 1 if call_id in line else 0

    def leave(self, target: str, call_id: str) -> None:
        line = self._waiting.get(target, [])
        if call_id in line:
            line.remove(call_id)

    def estimated_wait(self, position: int) -> float:
        """The wait of the caller at `position` (1 = next): the calls ahead of them, not their own."""
        return max(position - 1, 0) * self._average

    def handled(self, seconds: float) -> None:
        """A transferred call lasted `seconds`: fold it into the estimate (recent calls weigh more)."""
        self._average = 0.8 * self._average + 0.2 * max(seconds, 30.0)


def wait_words(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return "about a minute" if minutes == 1 else f"about {minutes} minutes"


class SipCallMedia:
    """A SIP call as the pipeline's `CallMedia`, able to transfer the caller to a person."""

    def __init__(self, call: PhoneCall, ua: SipUserAgent, speaker: Speaker, settings: PhoneSettings,
                 recorder: CallRecorder | None = None, queue: HoldQueue | None = None,
                 supervision: CallSupervision | None = None) -> None:
        self.call = call
        self.recorder = recorder
        self.queue = queue or HoldQueue(settings.average_handle_seconds)
        self.ua = ua
        self.speaker = speaker
        self.settings = settings
        self.call_id = call.call_id
        self.caller = call.caller_number or call.caller
        self.callee = call.callee
        self.sample_rate = call.sample_rate
        self.transferred_to: str | None = None
        self._inbox: asyncio.Queue[AudioIn | KeypadDigit | None] = asyncio.Queue()
        self._person: PhoneCall | None = None
        self.supervision = supervision  # staff on their own phones in this call (take-over, listening in)
        self._pump = asyncio.create_task(self._read(), name=f"phone:read:{call.call_id}")
        self._tasks: set[asyncio.Task[None]] = set()

    async def _read(self) -> None:
        try:
            async for frame in self.call.receive():
                person = self._person
                if self.recorder is not None and isinstance(frame, AudioIn):
                    self.recorder.caller(frame.pcm)
                if self.supervision is not None:
                    await self.supervision.caller_frame(frame)
                if person is None:  # the pipeline hears the caller (its transcript goes on under a take-over)
                    self._inbox.put_nowait(frame)
                elif not person.ended:
                    await relay_frame(frame, person)
        finally:
            self._inbox.put_nowait(None)
            if self._person is not None and not self._person.ended:
                await self._person.hang_up()

    async def receive(self) -> AsyncIterator[AudioIn | KeypadDigit]:
        while (frame := await self._inbox.get()) is not None:
            yield frame

    def follow(self, conversation_id: Callable[[], str | None]) -> None:
        """The call's conversation, as the pipeline's agent knows it: how the console finds this call."""
        if self.supervision is not None:
            self.supervision.conversation_id = conversation_id

    @property
    def _agent_muted(self) -> bool:
        return self.supervision is not None and self.supervision.agent_muted

    async def play(self, pcm: bytes) -> None:
        if self._agent_muted:
            return  # a person took the call on their phone: the AI's voice stays out of it
        if self.recorder is not None:
            self.recorder.agent(pcm)
        await self.call.play(pcm)

    def pause_recording(self, paused: bool) -> None:
        if self.recorder is not None:
            self.recorder.pause(paused)

    def clear(self) -> None:
        if not self._agent_muted:  # what is queued then is the person's voice: the pipeline's barge-in spares it
            self.call.clear()

    def queued_seconds(self) -> float:
        return 0.0 if self._agent_muted else self.call.queued_seconds()

    async def hang_up(self) -> None:
        await self.call.hang_up()

    @property
    def ended(self) -> bool:
        return self.call.ended

    async def transfer(self, target: str, summary: str, warm: bool) -> bool:
        """Warm: ring the person, tell them who is coming, then connect the caller. Cold: REFER."""
        if not (warm and self.settings.warm_transfer):
            try:
                await self.call.refer(target)
            except (TransferFailed, CallFailed, TimeoutError) as error:
                log.info("cold transfer of %s to %s failed: %s", self.call_id, target, error)
                return False
            self.transferred_to = target
            return True
        person = await self._ring_when_free(target)
        if person is None:
            return False
        if self.call.ended:
            await person.hang_up()
            return False
        await self.speaker.say(person, f"Incoming transfer from the virtual agent. {summary} "
                                       "Connecting you with the caller now.")
        if person.ended or self.call.ended:
            await person.hang_up()
            return False
        self._person = person
        self.transferred_to = target
        self.call.clear()
        relay = asyncio.create_task(self._relay_from(person), name=f"phone:relay:{self.call_id}")
        self._tasks.add(relay)
        relay.add_done_callback(self._tasks.discard)
        return True

    def transferred_person(self) -> PhoneCall | None:
        """The person a warm transfer connected the caller to (a supervisor may whisper to them)."""
        return self._person

    async def _ring_when_free(self, target: str) -> PhoneCall | None:
        """Ring the person; while the team is busy, hold the caller in the queue with their position and
        the estimated wait, ringing again now and then. None: no answer, the caller left, or waited too long."""
        loop = asyncio.get_running_loop()
        gave_up_at = loop.time() + self.settings.queue_max_seconds
        self.queue.join(target, self.call_id)
        try:
            while not self.call.ended:
                if self.queue.position(target, self.call_id) == 1:
                    try:
                        return await self.ua.call(target, timeout=self.settings.transfer_ring_seconds,
                                                  display_name="Helpline transfer")
                    except (CallFailed, ValueError, OSError) as error:  # OSError: the target's host does not resolve
                        if not isinstance(error, CallFailed) or error.reason != "busy":
                            log.info("warm transfer of %s to %s failed: %s", self.call_id, target, error)
                            return None
                if loop.time() >= gave_up_at:
                    return None
                position = self.queue.position(target, self.call_id)
                wait = wait_words(self.queue.estimated_wait(position))
                await self.speaker.say(self.call, f"Everyone on the team is busy right now. You are number {position} "
                                                  f"in the queue, and the wait is {wait}. Please stay on the line.")
                await asyncio.sleep(min(self.settings.queue_retry_seconds, max(gave_up_at - loop.time(), 0.0)))
            return None
        finally:
            self.queue.leave(target, self.call_id)

    async def _relay_from(self, person: PhoneCall) -> None:
        bridged_at = asyncio.get_running_loop().time()
        async for frame in person.receive():
            if self.call.ended:
                break
            await relay_frame(frame, self.call)
        self.queue.handled(asyncio.get_running_loop().time() - bridged_at)
        # whoever hangs up first ends the bridge for both
        await self.call.hang_up()
        await person.hang_up()

    async def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
        if self.supervision is not None:
            await self.supervision.close()
        for task in [self._pump, *self._tasks]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass
class CallbackResult:
    callback_id: str
    outcome: str  # reached | voicemail | no-answer | busy | failed
    conversation_id: str | None = None


@dataclass
class PhoneService:
    """Answers every SIP call with the voice pipeline and dials due callbacks."""

    services: VoiceServices
    config: SipConfig
    speaker: Speaker
    settings: PhoneSettings = field(default_factory=PhoneSettings)
    on_outcome: Callable[[CallOutcome], Awaitable[None]] | None = None
    ua: SipUserAgent = field(init=False)
    # who claims callbacks in the database (several nodes may dial; each callback is claimed by one)
    node: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")
    queue: HoldQueue = field(init=False)
    desk: PhoneDesk = field(default_factory=PhoneDesk)  # the console's way into live calls
    _dialer: asyncio.Task[None] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.ua = SipUserAgent(self.config, self._answer)
        self.queue = HoldQueue(self.settings.average_handle_seconds)

    async def start(self) -> None:
        await self.ua.start()
        if self.settings.dial_callbacks:
            self._dialer = asyncio.create_task(self._dial_forever(), name="phone:callbacks")
        host, port = self.ua.address
        log.info("SIP user agent listening on %s:%s (RTP %s-%s)", host, port, *self.config.rtp_ports)

    async def stop(self) -> None:
        if self._dialer is not None:
            self._dialer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dialer
        await self.ua.stop()

    def _recorder(self, call: PhoneCall) -> CallRecorder | None:
        recording = self.services.pack.business.call_recording
        return CallRecorder(Path(recording.folder), call.call_id, call.sample_rate) if recording.enabled else None

    async def _answer(self, call: PhoneCall) -> None:
        media = self._media(call)
        try:
            outcome = await run_call(media, self.services, "sip")
            if media.recorder is not None and outcome.conversation_id:
                link_recording_quietly(media.recorder.paths.values(), outcome.conversation_id)
            if self.on_outcome is not None:
                await self.on_outcome(outcome)
        finally:
            if media.transferred_to is not None:
                await call.wait_ended()  # the caller and the person talk until one hangs up
            await media.close()
            if media.supervision is not None:
                self.desk.remove(media.supervision)

    def _media(self, call: PhoneCall) -> SipCallMedia:
        """A call as the pipeline's media, listed on the desk so staff can take it over or listen in."""
        supervision = CallSupervision(call, self.ua, self.services, self.settings.transfer_ring_seconds)
        media = SipCallMedia(call, self.ua, self.speaker, self.settings, self._recorder(call), self.queue,
                             supervision)
        supervision.transferred_person = media.transferred_person
        if media.recorder is not None:
            supervision.record_staff = media.recorder.agent
        self.desk.add(supervision)
        return media

    # -- callbacks

    async def _dial_forever(self) -> None:
        while True:
            try:
                await self.dial_due_callbacks()
            except Exception:
                log.exception("dialing due callbacks failed")
            await asyncio.sleep(self.settings.callback_poll_seconds)

    async def dial_due_callbacks(self) -> list[CallbackResult]:
        """Call every scheduled callback whose time has come (one attempt each), once across all nodes:
        each is claimed in the database first (committed), and only the claimer dials it."""
        due = self._desk().claim_due(
            self.services.conversations.clock(),
            retry_after=timedelta(seconds=self.settings.callback_retry_seconds),
            claim_timeout=timedelta(seconds=self.settings.callback_claim_timeout_seconds))
        results = await asyncio.gather(*(self._place_callback(c.id, c.phone, c.reason, c.ticket_id) for c in due))
        return list(results)

    async def _place_callback(self, callback_id: str, phone: str, reason: str,
                              ticket_id: str | None) -> CallbackResult:
        business = self.services.pack.business.name
        target = self.settings.callback_target.format(number=phone)
        try:
            call = await self.ua.call(target, timeout=self.settings.callback_ring_seconds, display_name=business)
        except CallFailed as error:
            outcome = "busy" if error.reason == "busy" else "no-answer" if error.reason == "no-answer" else "failed"
            self._record(callback_id, ticket_id, outcome, f"Callback attempt: {outcome} ({error.reason}).")
            return CallbackResult(callback_id, outcome)
        answer = await self._listen(call)
        ticket_number = self._desk().ticket_number(ticket_id)
        opening = f"Hello, this is {business} returning your call about {reason or 'your request'}."
        if answer is Answer.MACHINE:
            reference = f" Your reference is ticket {ticket_number}." if ticket_number else ""
            await self.speaker.say(call, f"{opening}{reference} Please call us back at your convenience. "
                                         "Thank you, goodbye.")
            await call.hang_up()
            self._record(callback_id, ticket_id, "voicemail", "Callback attempt: left a voicemail message.")
            return CallbackResult(callback_id, "voicemail")
        await self.speaker.say(call, opening)
        media = self._media(call)
        try:
            reached = await run_call(media, self.services, "sip-callback")
        finally:
            await media.close()
            if media.supervision is not None:
                self.desk.remove(media.supervision)
        self._record(callback_id, ticket_id, "reached",
                     f"Callback made: reached the customer (conversation {reached.conversation_id}).", done=True)
        return CallbackResult(callback_id, "reached", reached.conversation_id)

    async def _listen(self, call: PhoneCall) -> Answer:
        """Person or machine; for a machine, also wait for its beep so the message is recorded whole."""
        listener = AnsweringListener(self.services.vad_model(call.sample_rate), call.sample_rate)
        frames = call.receive()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.answer_listen_seconds + self.settings.voicemail_wait_seconds
        try:
            while loop.time() < deadline:
                try:
                    frame = await asyncio.wait_for(anext(frames), max(deadline - loop.time(), 0.01))
                except (StopAsyncIteration, TimeoutError):
                    break
                if not isinstance(frame, AudioIn):
                    return Answer.PERSON  # only a person presses keys
                verdict = listener.feed(frame.pcm)
                if verdict in (Answer.PERSON, Answer.UNSURE):
                    return Answer.PERSON
                if verdict is Answer.MACHINE and listener.ready_for_message():
                    return Answer.MACHINE
        finally:
            await frames.aclose()  # type: ignore[attr-defined]
        return listener.verdict or Answer.PERSON

    def _desk(self) -> CallbackDesk:
        return CallbackDesk(self.services.conversations.db, node=self.node, actor=ACTOR)

    def _record(self, callback_id: str, ticket_id: str | None, outcome: str, note: str, done: bool = False) -> None:
        now: datetime = self.services.conversations.clock()
        self._desk().record_attempt(callback_id, ticket_id, note, completed=done or outcome == "voicemail",
                                    max_attempts=self.settings.callback_attempts, now=now)
