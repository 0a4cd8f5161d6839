"""Plain data that flows through the voice pipeline.

Audio inside the pipeline is always signed 16-bit little-endian mono PCM; each audio frame says its
sample rate so a stage converts only when it must (phone audio is 8 kHz, Whisper wants 16 kHz, piper
speaks at 22.05 kHz).

A *system* frame (an interruption, the call ending) overtakes the queued data frames: a caller who
talks over the agent must silence it at once, not after the audio already queued has played.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Direction(Enum):
    DOWNSTREAM = "downstream"  # from the caller's audio towards the agent's audio
    UPSTREAM = "upstream"  # back towards the transport (e.g. "the agent finished speaking")


@dataclass(frozen=True)
class Frame:
    """Anything that flows through the pipeline."""


@dataclass(frozen=True)
class SystemFrame(Frame):
    """Handled ahead of queued data frames."""


# --- call lifecycle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallStarted(SystemFrame):
    call_id: str
    caller: str = ""  # the caller's number or SIP URI as the transport knows it
    callee: str = ""
    transport: str = "sip"  # sip | media-stream | test


@dataclass(frozen=True)
class CallEnded(SystemFrame):
    reason: str = "hangup"  # hangup | agent | error | timeout


@dataclass(frozen=True)
class Interruption(SystemFrame):
    """The caller spoke over the agent: drop every queued and playing agent audio now."""


@dataclass(frozen=True)
class HangUp(SystemFrame):
    """The agent ends the call once the audio already queued has played."""


# --- caller side ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioIn(Frame):
    """A short chunk (typically 20 ms) of the caller's audio."""

    pcm: bytes
    sample_rate: int = 8000
    received_at: float = 0.0  # time.monotonic() when the transport got it


@dataclass(frozen=True)
class KeypadDigit(Frame):
    """A key the caller pressed (RFC 4733 event or in-band tone): 0-9, *, #, A-D."""

    digit: str
    received_at: float = 0.0


@dataclass(frozen=True)
class UserStartedSpeaking(Frame):
    at: float = 0.0


@dataclass(frozen=True)
class UserStoppedSpeaking(Frame):
    """The end of one utterance, with its audio."""

    pcm: bytes
    sample_rate: int
    started_at: float = 0.0
    ended_at: float = 0.0  # when the caller's speech ended (before the end-of-speech pause)
    guess: int | None = None  # the UtteranceMayHaveEnded this confirms (no speech since it)


@dataclass(frozen=True)
class UtteranceMayHaveEnded(Frame):
    """A short pause in the caller's speech: recognition may start on the audio so far, so that when the
    pause turns out to be the end (`UserStoppedSpeaking.guess`), the words are ready sooner."""

    pcm: bytes
    sample_rate: int
    guess: int
    started_at: float = 0.0


@dataclass(frozen=True)
class Transcript(Frame):
    text: str
    confidence: float = 1.0  # 0..1; below the recogniser's floor the text is "not understood"
    ended_at: float = 0.0  # copied from the utterance, for latency measurement
    source: str = "speech"  # speech | keypad


@dataclass(frozen=True)
class SilenceTimeout(Frame):
    """The caller said nothing for a while after the agent finished speaking."""

    seconds: float
    final: bool = False


# --- agent side -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentSpeech(Frame):
    """Text for the caller to hear. `utterance` groups the sentences of one reply."""

    text: str
    utterance: int = 0
    filler: bool = False  # "one moment…" while a slow operation runs; may be cut short freely


@dataclass(frozen=True)
class AudioOut(Frame):
    """A chunk of the agent's synthesised audio."""

    pcm: bytes
    sample_rate: int
    utterance: int = 0


@dataclass(frozen=True)
class UtteranceDone(Frame):
    """Every audio chunk of an utterance has been handed to the transport."""

    utterance: int = 0


@dataclass(frozen=True)
class AgentFinishedSpeaking(Frame):
    """Sent upstream by the transport when the last sample of an utterance has been played out."""

    utterance: int = 0
    at: float = 0.0


@dataclass(frozen=True)
class TransferRequested(Frame):
    """The engine escalated: connect the caller to a person (warm by default)."""

    target: str  # SIP URI or extension
    summary: str = ""
    warm: bool = True


@dataclass(frozen=True)
class Mark(Frame):
    """A named point in the outgoing audio (media streams echo it back when played)."""

    name: str
    extra: dict[str, str] = field(default_factory=dict)
