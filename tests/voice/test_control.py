"""A turn's time split into the benchmark's stages."""

from __future__ import annotations

from helpline.voice.control import TurnTimes


def test_stages_add_up_to_the_wait_the_caller_had() -> None:
    times = TurnTimes(speech_end=10.0, decided=10.4, transcript=10.7, reply=10.8, first_chunk=10.95, wire=10.96)
    stages = times.stages()
    assert round(stages["end_of_turn"], 3) == 0.4 and round(stages["recognition"], 3) == 0.3
    assert round(sum(stages.values()), 3) == 0.96


def test_words_ready_before_the_turn_ended_cost_no_recognition_time() -> None:
    """The early recognition finished inside the VAD's pause: the caller waited for the pause, not for Whisper."""
    times = TurnTimes(speech_end=10.0, decided=10.4, transcript=10.38, reply=10.5, first_chunk=10.6, wire=10.61)
    stages = times.stages()
    assert stages["recognition"] == 0.0
    assert round(stages["engine"], 3) == 0.1  # from the turn's end, not from the earlier words
    assert all(value >= 0 for value in stages.values())
    assert round(sum(stages.values()), 3) == 0.61


def test_a_missing_mark_leaves_out_the_stages_it_bounds() -> None:
    stages = TurnTimes(speech_end=10.0, decided=10.4, reply=10.9, first_chunk=11.0).stages()
    assert set(stages) == {"end_of_turn", "first_chunk"}
