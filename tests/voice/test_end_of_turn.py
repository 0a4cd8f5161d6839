import threading
import time
from collections.abc import Sequence

import pytest

from helpline.voice import models
from helpline.voice.end_of_turn import SharedRecognitions, SmartTurnModel, TranscriptTurnCheck, transcript_finished
from helpline.voice.ports import Recognition
from tests.voice.speech import script


class SlowRecognizer:
    sample_rate = 16000
    name = "slow"

    def __init__(self, text: str) -> None:
        self.text = text
        self.runs = 0

    def transcribe(self, pcm: bytes, hints: Sequence[str] = ()) -> Recognition:
        self.runs += 1
        time.sleep(0.1)
        return Recognition(self.text, 0.9)


def test_a_turn_is_finished_when_the_words_end_a_sentence_not_on_a_dangling_word() -> None:
    assert transcript_finished("Can I return the travel mug?")
    assert transcript_finished("I'd like to cancel my order.")
    assert not transcript_finished("Can I return the.")  # a breath before the object
    assert not transcript_finished("I was wondering if")
    assert not transcript_finished("")


def test_the_transcript_check_reads_the_pipelines_own_recognition_without_a_second_run() -> None:
    recognizer = SlowRecognizer("Do you sell decaf?")
    shared = SharedRecognitions(recognizer)
    check = TranscriptTurnCheck(shared, wait_seconds=2.0)
    audio_8k = script(0.2, "Do you sell decaf?", 0.2).pcm
    from helpline.voice.audio import resample

    answers: list[float] = []
    # the check asks first (it runs as soon as the pause begins); the recognition of that audio follows
    asking = threading.Thread(target=lambda: answers.append(check.probability(audio_8k, 8000)))
    asking.start()
    time.sleep(0.05)
    assert shared.transcribe(resample(audio_8k, 8000, 16000)).text == "Do you sell decaf?"
    asking.join(timeout=5)
    assert answers == [1.0] and recognizer.runs == 1
    # audio nobody recognises: no verdict within the wait, so the pause decides
    quick = TranscriptTurnCheck(shared, wait_seconds=0.1)
    assert quick.probability(script(0.2, "Hello there", 0.2).pcm, 8000) == 0.0
    assert recognizer.runs == 1


def test_smart_turn_hears_a_finished_question_and_an_unfinished_one() -> None:
    try:
        model = SmartTurnModel()
    except models.ModelError as exc:
        pytest.skip(f"Smart Turn not installed: {exc}")
    finished = model.probability(script(0.3, "Can I return the travel mug?", 0.2).pcm, 8000)
    unfinished = model.probability(script(0.3, "Can I return the", 0.2).pcm, 8000)
    assert finished > 0.5 > unfinished


def test_a_swapped_smart_turn_file_is_refused(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    fake = Path(str(tmp_path)) / models.SMART_TURN_FILE
    fake.write_bytes(b"not the model")
    monkeypatch.setenv("HELPLINE_SMART_TURN_MODEL", str(fake))
    with pytest.raises(models.ModelError, match="sha256"):
        models.smart_turn_model()
