"""The per-turn watchdog: once the caller has finished speaking, the agent says *something* within a bound.

Every stage between the caller's last word and the agent's first can drop a turn without anyone noticing
(a recogniser that raised, an engine reply with no lines, a call agent that decided the sound was noise
while the caller really asked something, a transport still holding the agent's audio for a verdict that
never came). Silence is the worst thing a phone agent can do, so this stage does not try to know why:
it sees the caller's utterance end (`UserStoppedSpeaking`) and the agent's audio start
(`AgentStartedSpeaking`, sent upstream by the transport when the caller hears it), and when `bound`
seconds pass between the two it sends `TurnOverdue` downstream. The call agent answers it with a filler
when the engine is still working, else "sorry, I didn't catch that"; the transport stops holding paused
audio. The clock is injectable and `check()` can be driven by a test, so the stage is tested with frames
alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from helpline.voice.control import AgentStartedSpeaking, SpeechDiscarded
from helpline.voice.frames import (
    CallEnded,
    Direction,
    Frame,
    HangUp,
    SystemFrame,
    UserStartedSpeaking,
    UserStoppedSpeaking,
)
from helpline.voice.pipeline import Processor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnOverdue(SystemFrame):
    """The caller finished speaking `waited` seconds ago and has heard nothing since."""

    ended_at: float = 0.0  # when the caller's utterance ended (the watchdog's clock)
    waited: float = 0.0


@dataclass(frozen=True)
class WatchdogSettings:
    bound: float = 4.0  # seconds from the end of the caller's speech to the agent's first audio
    poll_seconds: float = 0.1


@dataclass
class WatchdogStats:
    turns: int = 0  # utterances watched
    overdue: int = 0  # of them, rescued by a TurnOverdue


class TurnWatchdog(Processor):
    """UserStoppedSpeaking starts the clock; AgentStartedSpeaking (upstream) stops it; otherwise TurnOverdue."""

    def __init__(self, settings: WatchdogSettings | None = None, clock: Callable[[], float] = time.monotonic,
                 run_timer: bool = True) -> None:
        super().__init__()
        self.settings = settings or WatchdogSettings()
        self.clock = clock
        self.stats = WatchdogStats()
        self._waiting_since: float | None = None  # the end of the caller's unanswered utterance
        self._before_sound: float | None = None  # ... kept while a sound may turn out to be a cough
        self._over = False
        self._run_timer = run_timer  # tests drive check() themselves
        self._timer: asyncio.Task[None] | None = None

    async def process(self, frame: Frame, direction: Direction) -> None:
        if direction is Direction.UPSTREAM:
            if isinstance(frame, AgentStartedSpeaking):
                self._waiting_since = None
        elif isinstance(frame, UserStoppedSpeaking):
            if not self._over:
                self.stats.turns += 1
                # The bound runs from when the VAD declared the end (now), not from the last voiced sample:
                # the end-of-speech pause is the VAD's, and its own latency is measured elsewhere.
                self._waiting_since = self.clock()
        elif isinstance(frame, UserStartedSpeaking):
            # The caller talks on: the agent rightly waits; the clock restarts when they stop.
            self._before_sound, self._waiting_since = self._waiting_since, None
        elif isinstance(frame, SpeechDiscarded):
            # Only a click or a cough: the turn before it is still owed an answer.
            self._waiting_since, self._before_sound = self._before_sound, None
        elif isinstance(frame, CallEnded | HangUp):
            self._over = True
            self._waiting_since = None
        await self.push(frame, direction)

    async def check(self) -> bool:
        """Send TurnOverdue if the bound has passed; True when it did."""
        since = self._waiting_since
        if since is None or self._over:
            return False
        waited = self.clock() - since
        if waited < self.settings.bound:
            return False
        self._waiting_since = None
        self.stats.overdue += 1
        log.info("nothing said %.1f s after the caller stopped speaking: the watchdog steps in", waited)
        await self.push(TurnOverdue(ended_at=since, waited=waited))
        return True

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.settings.poll_seconds)
            try:
                await self.check()
            except Exception:
                log.exception("turn watchdog check failed")

    async def start(self) -> None:
        await super().start()
        if self._run_timer and self._timer is None:
            self._timer = asyncio.create_task(self._tick(), name="voice:watchdog")

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.wait({self._timer})
            self._timer = None
        await super().stop()
