import wave
from pathlib import Path

from helpline.voice.recording import CallRecorder


def frames(path: Path) -> bytes:
    with wave.open(str(path), "rb") as file:
        assert (file.getnchannels(), file.getsampwidth(), file.getframerate()) == (1, 2, 8000)
        return file.readframes(file.getnframes())


def test_each_side_is_recorded_and_nothing_while_paused(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "abc@127.0.0.1", 8000)
    recorder.caller(b"\x01\x00" * 160)
    recorder.agent(b"\x02\x00" * 160)
    recorder.pause(True)  # a card number is being keyed
    recorder.caller(b"\x09\x00" * 160)
    recorder.agent(b"\x09\x00" * 160)
    recorder.pause(False)
    recorder.caller(b"\x03\x00" * 160)
    recorder.close()
    recorder.caller(b"\x04\x00" * 160)  # after the call: ignored, not an error
    assert frames(recorder.paths["caller"]) == b"\x01\x00" * 160 + b"\x03\x00" * 160
    assert frames(recorder.paths["agent"]) == b"\x02\x00" * 160
    assert recorder.paths["caller"].name == "abc_127.0.0.1-caller.wav"
