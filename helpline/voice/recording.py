"""Call recordings: each side of a call in its own WAV file, with gaps where recording was paused.

Two mono files rather than one mix keep the caller and the agent apart for quality review, and need no
clock alignment between what came in and what went out.
"""

from __future__ import annotations

import threading
import wave
from pathlib import Path


class CallRecorder:
    """Writes `<call_id>-caller.wav` and `<call_id>-agent.wav` (16-bit mono) into `folder`."""

    def __init__(self, folder: Path, call_id: str, sample_rate: int = 8000) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in call_id)[:80]
        self.paths = {side: folder / f"{safe}-{side}.wav" for side in ("caller", "agent")}
        # open for the call's whole life (closed in close()), so no context manager
        self._files = {side: wave.open(str(path), "wb") for side, path in self.paths.items()}  # noqa: SIM115
        for file in self._files.values():
            file.setnchannels(1)
            file.setsampwidth(2)
            file.setframerate(sample_rate)
        self._lock = threading.Lock()
        self.paused = False
        self.closed = False

    def pause(self, paused: bool) -> None:
        """While paused nothing is written: a card number keyed or read out is never on the recording."""
        self.paused = paused

    def caller(self, pcm: bytes) -> None:
        self._write("caller", pcm)

    def agent(self, pcm: bytes) -> None:
        self._write("agent", pcm)

    def _write(self, side: str, pcm: bytes) -> None:
        with self._lock:
            if not self.paused and not self.closed:
                self._files[side].writeframes(pcm)

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                for file in self._files.values():
                    file.close()
