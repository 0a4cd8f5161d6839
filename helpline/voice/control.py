"""Frames the call-logic stages use to coordinate turn-taking, and the per-call measurements.

They complement `frames.py`: the stages that pause, resume and hand the floor back and forth need
to tell each other more than "interrupt". Most are system frames because they must overtake audio
and text queued behind a slow stage (a recogniser busy with the previous utterance must not delay a
barge-in, and the transport must learn at once that the caller started talking).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from helpline.voice.frames import Frame, SystemFrame

KeypadModeName = Literal["digits", "menu", "card"]


# --- downstream: towards the transport ----------------------------------------------------------


@dataclass(frozen=True)
class PauseAgent(SystemFrame):
    """The caller started talking (or typing): stop sending agent audio now, but keep what is left,
    since a backchannel ("uh-huh") lets the agent carry on. `at` is when the caller's speech began,
    on the transport's clock, so the transport can measure how fast the agent went quiet."""

    at: float = 0.0


@dataclass(frozen=True)
class ResumeAgent(SystemFrame):
    """The caller's sound was a backchannel or noise: play the rest of what was paused."""


@dataclass(frozen=True)
class AgentSpeechCancelled(SystemFrame):
    """Utterances up to `upto` are void: audio of theirs still on its way (a synthesiser finishing a
    chunk after the interruption) must not be played."""

    upto: int


@dataclass(frozen=True)
class SpeechDiscarded(Frame):
    """What looked like the start of speech was too short to be an utterance (a cough, a click).

    Sent in order after the `UserStartedSpeaking` it cancels, instead of a `UserStoppedSpeaking`."""

    started_at: float = 0.0


@dataclass(frozen=True)
class KeyPressed(Frame):
    """The caller pressed a key. Which one is deliberately not said: it may be part of a card number."""

    at: float = 0.0


@dataclass(frozen=True)
class KeypadPrompt(Frame):
    """The keypad stage needs the caller told something: `card_by_keypad` (they spoke during card
    entry), `card_invalid` (the digits typed are not a card number)."""

    reason: str


@dataclass(frozen=True)
class EarlyWords(SystemFrame):
    """The early recognition's words, before the pause has ended the turn (it may not: the caller may go on).
    The call agent understands them ahead, so that if they are the turn, only the engine's write is left at its
    end. Nothing is said or recorded from them. A system frame: it must not wait behind a turn being posted."""

    text: str
    guess: int = 0


# --- upstream: back towards the caller's side ----------------------------------------------------


@dataclass(frozen=True)
class AgentStartedSpeaking(SystemFrame):
    """The first sample of an utterance is going out to the caller."""

    utterance: int = 0
    at: float = 0.0


@dataclass(frozen=True)
class AgentPaused(SystemFrame):
    """The transport paused audible agent speech for a possible barge-in."""

    utterance: int = 0
    heard_seconds: float = 0.0  # of the paused utterance, before the pause
    remaining_seconds: float = 0.0  # of audio already synthesised and not yet heard
    complete: bool = False  # the paused utterance's audio has all arrived (its end is in `remaining`)
    question: bool = False  # it is the last line of a reply and asks something (set by the call agent)


@dataclass(frozen=True)
class KeypadMode(SystemFrame):
    """What the agent expects from the keypad now. `card` also means: recordings and logs hold
    nothing of the caller until the mode changes (the PCI rule)."""

    mode: KeypadModeName = "digits"


@dataclass(frozen=True)
class SpellingExpected(SystemFrame):
    """Whether the agent waits for an id now (an order or customer number, set by the call agent): the recognition
    stage then reads every spelling-alphabet word as a letter ("charlie twelve thirty four" is C1234), not only
    one beside another letter or leading digits. Words said meanwhile ("the one kilo bag") are read as an id's too."""

    on: bool = False


@dataclass(frozen=True)
class TransferConnected(Frame):
    """The transport connected the caller to a person (a warm transfer they answered, or a REFER accepted)."""

    target: str


@dataclass(frozen=True)
class TransferFailed(Frame):
    """The transport could not connect the caller to the escalation target."""

    target: str
    reason: str = "unsupported"


# --- measurements ---------------------------------------------------------------------------------


@dataclass
class TurnTimes:
    """When each stage finished its part of one caller turn (time.monotonic(), the transport's clock), so a
    benchmark can say where the time between the caller's last word and the agent's first goes."""

    speech_end: float  # the caller's last voiced sample, as the VAD places it
    decided: float  # the VAD (and end-of-turn check) declared the turn over
    transcript: float | None = None  # the words reached turn-taking
    reply: float | None = None  # the first line for the caller reached synthesis (the engine's, or a filler)
    filler: bool = False  # ... and it was a filler
    first_chunk: float | None = None  # synthesis produced its first audio
    wire: float | None = None  # the first audio was handed to the call

    def stages(self) -> dict[str, float]:
        """Seconds per stage: end of turn, recognition, engine, first audio chunk, hand-off to the wire."""
        marks = [("end_of_turn", self.speech_end, self.decided), ("recognition", self.decided, self.transcript),
                 ("engine", self.transcript, self.reply), ("first_chunk", self.reply, self.first_chunk),
                 ("to_wire", self.first_chunk, self.wire)]
        # The early recognition's words may be ready before the VAD's pause has ended the turn: that stage then
        # cost the caller nothing (0), and the next one is counted from the later of the two marks.
        stages: dict[str, float] = {}
        latest = self.speech_end
        for name, start, end in marks:
            if start is not None and end is not None:
                stages[name] = max(0.0, end - max(start, latest))
            if end is not None:
                latest = max(latest, end)
        return stages


@dataclass
class CallMetrics:
    """What one call measured, in seconds (stages append; run_call returns it).

    - barge_in: caller speech start -> the transport stopped sending agent audio (goal < 0.2)
    - end_of_speech: end of the caller's speech -> the VAD declared the utterance over
    - response: end of the caller's speech -> the first agent audio handed to the transport
    - turns: each answered turn's stage times; `turn` is the one being answered
    """

    barge_in: list[float] = field(default_factory=list)
    end_of_speech: list[float] = field(default_factory=list)
    response: list[float] = field(default_factory=list)
    last_speech_end: float | None = None
    turns: list[TurnTimes] = field(default_factory=list)
    turn: TurnTimes | None = None
