from bench.voice.callers import Clip
from bench.voice.pause import run_vad
from helpline.voice.vad import VadSettings
from tests.voice.speech import script


def test_the_pause_alone_ends_a_question_about_400_ms_after_its_last_sound_and_a_silent_phone_waits_longer() -> None:
    question = Clip(script(0.4, "Do you sell decaf?", 0.0).pcm)
    sending = run_vad(question, VadSettings(), gap_seconds=0.0)
    silent = run_vad(question, VadSettings(), gap_seconds=0.04)
    assert sending.utterances == silent.utterances == 1
    assert 0.4 <= sending.end_of_turn <= 0.6
    # the jitter buffer's wait before it supplies quiet is added when the phone stops sending
    assert abs(silent.end_of_turn - sending.end_of_turn - 0.04) < 0.005


def test_a_pause_inside_a_question_longer_than_the_closing_pause_cuts_it() -> None:
    question = Clip(script(0.4, "My grinder", 0.8, "makes a loud noise.", 0.0).pcm)
    assert run_vad(question, VadSettings()).utterances == 2
    assert run_vad(question, VadSettings(end_ms=1000)).utterances == 1
