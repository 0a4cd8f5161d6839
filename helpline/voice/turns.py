"""Turn-taking: barge-in, backchannels and reprompts on silence.

Two stages, because the decision comes in two halves:

- `BargeIn` sits right after the VAD. The moment the caller starts speaking it tells the transport
  to *pause* the agent (a system frame, so nothing queued delays it); the transport keeps the rest
  of the agent's audio. It cannot wait for the words: the recogniser is slower than 200 ms.
- `TurnTaking` sits after the recogniser and sees the words. A backchannel ("uh-huh", "okay") or
  noise resumes the agent where it stopped; anything else interrupts it for good (the rest of the
  reply is dropped) and the new utterance goes on to the call agent. It also runs the silence
  timer: after the agent finished speaking, N quiet seconds make a `SilenceTimeout` (a reprompt,
  and after `reprompts` of them a final one that ends the call politely).

The 200 ms goal is measured by the transport: `PauseAgent.at` is when the caller's speech began on
the transport's clock, and the transport records how long after that it stopped sending
(`CallMetrics.barge_in`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

from helpline.voice.control import (
    AgentPaused,
    AgentStartedSpeaking,
    CallMetrics,
    KeyPressed,
    PauseAgent,
    ResumeAgent,
    SpeechDiscarded,
)
from helpline.voice.frames import (
    AgentFinishedSpeaking,
    CallEnded,
    Direction,
    Frame,
    HangUp,
    Interruption,
    SilenceTimeout,
    Transcript,
    UserStartedSpeaking,
)
from helpline.voice.pipeline import Processor

trace = logging.getLogger("helpline.voice.trace")
BACKCHANNELS = frozenset({
    "uh huh", "uhuh", "uh-huh", "mhm", "mm hmm", "mm-hmm", "mmhmm", "mm", "hmm", "hm", "okay", "ok", "k",
    "yeah", "yep", "yup", "right", "sure", "alright", "all right", "i see", "got it", "go on", "uh", "um",
})
MAX_BACKCHANNEL_WORDS = 4
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")


def is_backchannel(text: str) -> bool:
    """Only acknowledgement words, a few at most ("uh-huh", "okay, sure", "yeah right")."""
    words = _WORD.findall(text.lower())
    if not words or len(words) > MAX_BACKCHANNEL_WORDS:
        return False
    i = 0
    while i < len(words):
        pair = " ".join(words[i:i + 2])
        if pair in BACKCHANNELS:
            i += 2
        elif words[i] in BACKCHANNELS:
            i += 1
        else:
            return False
    return True


class BargeIn(Processor):
    """Caller speech starts -> pause the agent now; speech that turned out to be noise -> resume."""

    async def process(self, frame: Frame, direction: Direction) -> None:
        if direction is Direction.DOWNSTREAM and isinstance(frame, UserStartedSpeaking):
            await self.push(PauseAgent(at=frame.at))
        elif direction is Direction.DOWNSTREAM and isinstance(frame, SpeechDiscarded):
            await self.push(ResumeAgent())
        await self.push(frame, direction)


@dataclass(frozen=True)
class TurnSettings:
    silence_seconds: float = 8.0  # quiet after the agent finished speaking before a reprompt
    reprompts: int = 1  # reprompts before the final timeout that ends the call
    min_confidence: float = 0.0  # below this a transcript is noise (the recogniser's own floor already empties it)
    answer_window: float = 0.8  # a "yeah" this close to the end of a question answers it


class TurnTaking(Processor):
    """Transcript after a pause -> resume (backchannel, noise) or interrupt (a real turn); silence timer."""

    def __init__(self, settings: TurnSettings | None = None, metrics: CallMetrics | None = None):
        super().__init__()
        self.settings = settings or TurnSettings()
        self.metrics = metrics or CallMetrics()
        self._held: AgentPaused | None = None  # agent speech the transport is holding for our verdict
        self._timer: asyncio.Task[None] | None = None
        self._timeouts = 0  # consecutive silence timeouts since the caller last said anything
        self._over = False

    async def process(self, frame: Frame, direction: Direction) -> None:
        if direction is Direction.UPSTREAM:
            await self._upstream(frame)
            return
        if isinstance(frame, Transcript):
            await self._transcript(frame)
            return
        if isinstance(frame, Interruption | ResumeAgent):
            self._held = None  # someone before us (the keypad) already settled the pause
        elif isinstance(frame, PauseAgent | UserStartedSpeaking | KeyPressed):
            self._cancel_timer()
            if isinstance(frame, KeyPressed):
                self._timeouts = 0
        elif isinstance(frame, CallEnded | HangUp):
            self._over = True
            self._cancel_timer()
        await self.push(frame, direction)

    async def _upstream(self, frame: Frame) -> None:
        if isinstance(frame, AgentPaused):
            self._held = frame
        elif isinstance(frame, AgentStartedSpeaking):
            self._cancel_timer()
        elif isinstance(frame, AgentFinishedSpeaking):
            self._start_timer()
        await self.push(frame, Direction.UPSTREAM)

    async def _transcript(self, transcript: Transcript) -> None:
        held, self._held = self._held, None
        if self.metrics.turn is not None and self.metrics.turn.transcript is None:
            self.metrics.turn.transcript = time.monotonic()
        trace.debug("turn-taking: %d words, agent held=%s", len(transcript.text.split()), held is not None)
        self._cancel_timer()
        noise = not transcript.text.strip() or transcript.confidence < self.settings.min_confidence
        if transcript.source != "keypad" and noise:
            # Not words: let the agent carry on; the call agent decides whether to ask again.
            await self.push(ResumeAgent())
            if held is None:
                await self.push(transcript)
                self._start_timer()  # nothing else may be said that would start it
            return
        self._timeouts = 0
        if transcript.source != "keypad" and held is not None and is_backchannel(transcript.text):
            answering = held.question and held.complete and held.remaining_seconds <= self.settings.answer_window
            if not answering:
                await self.push(ResumeAgent())
                return
        await self.push(Interruption())
        await self.push(transcript)

    def _start_timer(self) -> None:
        self._cancel_timer()
        if not self._over and self._held is None:
            self._timer = asyncio.create_task(self._wait_for_silence(), name="voice:silence")

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        self._timer = None

    async def _wait_for_silence(self) -> None:
        await asyncio.sleep(self.settings.silence_seconds)
        self._timer = None
        final = self._timeouts >= self.settings.reprompts
        self._timeouts += 1
        await self.push(SilenceTimeout(self.settings.silence_seconds, final=final))

    async def stop(self) -> None:
        self._cancel_timer()
        await super().stop()

