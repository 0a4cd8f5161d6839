"""Call recordings on disk: which conversation each belongs to, and deleting them.

A recording is named after the SIP call (``<call id>-caller.wav``, ``<call id>-agent.wav``), which is
known before the conversation is. When the call ends the phone line writes a small link file next to it,
``<call id>.link.json`` = ``{"conversation_id": ..., "files": [...]}``, so an erasure can find a
customer's recordings; retention needs no link (it goes by the files' age).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

LINK_SUFFIX = ".link.json"
AUDIO_SUFFIX = ".wav"


def link_recording(paths: Iterable[Path], conversation_id: str) -> Path | None:
    """Write the link file for one call's recording files (all in one folder); returns its path."""
    files = sorted(Path(path) for path in paths)
    if not files:
        return None
    folder = files[0].parent
    stem = files[0].name.rsplit("-", 1)[0]  # "<call id>-caller.wav" -> "<call id>"
    link = folder / f"{stem}{LINK_SUFFIX}"
    body = {"conversation_id": conversation_id, "files": [file.name for file in files]}
    temporary = link.with_name(link.name + ".tmp")
    temporary.write_text(json.dumps(body), encoding="utf-8")
    os.replace(temporary, link)  # atomic: a reader never sees half a link
    return link


def link_recording_quietly(paths: Iterable[Path], conversation_id: str) -> None:
    """``link_recording`` for the phone line: a failure is logged, never raised into the call's handling
    (retention still deletes the recording by age; only an erasure would miss it)."""
    try:
        link_recording(paths, conversation_id)
    except OSError:
        log.warning("could not link a call recording to conversation %s", conversation_id, exc_info=True)


@dataclass(frozen=True)
class Recording:
    """One call's files: its audio and, when the call reached a conversation, its link file."""

    files: tuple[Path, ...]
    link: Path | None
    conversation_id: str | None


@dataclass
class RecordingStore:
    folder: Path

    def _links(self) -> list[Recording]:
        found = []
        for link in sorted(self.folder.glob(f"*{LINK_SUFFIX}")):
            try:
                body = json.loads(link.read_text(encoding="utf-8"))
                names = [str(name) for name in body.get("files", [])]
                conversation_id = str(body["conversation_id"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                log.warning("unreadable recording link %s", link.name)
                continue
            # Only plain names inside the folder: a link file never makes us delete anything elsewhere.
            files = tuple(self.folder / name for name in names if name == Path(name).name and
                          name.endswith(AUDIO_SUFFIX))
            found.append(Recording(files, link, conversation_id))
        return found

    def of_conversations(self, conversation_ids: set[str]) -> list[Recording]:
        """The recordings linked to any of these conversations."""
        if not conversation_ids or not self.folder.is_dir():
            return []
        return [r for r in self._links() if r.conversation_id in conversation_ids]

    def older_than(self, cutoff: datetime, is_open: Callable[[str], bool]) -> list[Recording]:
        """Recordings whose newest file was written before ``cutoff``, except those of a conversation that
        ``is_open`` (a call still going on)."""
        if not self.folder.is_dir():
            return []
        limit = cutoff.timestamp()
        recordings: list[Recording] = []
        linked: set[Path] = set()
        for recording in self._links():
            linked.update(recording.files)
            times = [_mtime(path) for path in (*recording.files, recording.link) if path is not None]
            newest = max((t for t in times if t is not None), default=None)
            if newest is not None and newest < limit and not is_open(recording.conversation_id or ""):
                recordings.append(recording)
        for audio in sorted(self.folder.glob(f"*{AUDIO_SUFFIX}")):
            written = _mtime(audio)
            if audio not in linked and written is not None and written < limit:
                recordings.append(Recording((audio,), None, None))  # a call that never reached a conversation
        return recordings

    @staticmethod
    def existing_audio(recordings: Iterable[Recording]) -> int:
        return sum(1 for r in recordings for path in r.files if path.exists())

    @staticmethod
    def delete(recordings: Iterable[Recording]) -> int:
        """Delete the audio, then the link (so a failure part-way leaves the link to find the rest).
        Returns how many audio files were deleted; an OSError other than "already gone" propagates."""
        deleted = 0
        for recording in recordings:
            for path in recording.files:
                try:
                    path.unlink()
                    deleted += 1
                except FileNotFoundError:
                    pass
            if recording.link is not None:
                recording.link.unlink(missing_ok=True)
        return deleted


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
