"""Recording link files: written for a real call recorder's files, read back by conversation, never pointing
outside the folder."""

from __future__ import annotations

import json
from pathlib import Path

from helpline.privacy.recordings import RecordingStore, link_recording
from helpline.voice.recording import CallRecorder


def test_a_recorders_files_are_found_by_their_conversation(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "a84b4c76e66710@pbx.example", 8000)
    recorder.caller(b"\x00\x01" * 800)
    recorder.agent(b"\x00\x01" * 800)
    recorder.close()
    link = link_recording(recorder.paths.values(), "conversation-1")
    assert link is not None and link.name == "a84b4c76e66710_pbx.example.link.json"
    store = RecordingStore(tmp_path)
    found = store.of_conversations({"conversation-1"})
    assert len(found) == 1 and set(found[0].files) == set(recorder.paths.values())
    assert store.of_conversations({"conversation-2"}) == []
    assert RecordingStore.delete(found) == 2 and list(tmp_path.iterdir()) == []


def test_a_link_file_cannot_delete_anything_outside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    outside = tmp_path / "precious.wav"
    outside.write_bytes(b"RIFF")
    (folder / "evil.link.json").write_text(json.dumps(
        {"conversation_id": "c1", "files": ["../precious.wav", str(outside), "notes.txt"]}))
    (folder / "broken.link.json").write_text("{not json")
    found = RecordingStore(folder).of_conversations({"c1"})
    assert RecordingStore.delete(found) == 0
    assert outside.exists() and not (folder / "evil.link.json").exists()
