import audioop
import warnings

import numpy as np
import pytest

from helpline.voice import audio

warnings.filterwarnings("ignore", category=DeprecationWarning)


def tone(hz: float, seconds: float, rate: int, level: float = 0.5) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * hz * t) * 32767 * level).astype("<i2").tobytes()


@pytest.mark.parametrize(("encode", "reference"), [(audio.pcm_to_ulaw, audioop.lin2ulaw),
                                                   (audio.pcm_to_alaw, audioop.lin2alaw)])
def test_g711_encoding_matches_the_reference_codec(encode, reference) -> None:  # type: ignore[no-untyped-def]
    every_sample = np.arange(-32768, 32768, dtype="<i2").tobytes()
    assert encode(every_sample) == reference(every_sample, 2)


@pytest.mark.parametrize(("decode", "reference"), [(audio.ulaw_to_pcm, audioop.ulaw2lin),
                                                   (audio.alaw_to_pcm, audioop.alaw2lin)])
def test_g711_decoding_matches_the_reference_codec(decode, reference) -> None:  # type: ignore[no-untyped-def]
    every_code = bytes(range(256))
    assert decode(every_code) == reference(every_code, 2)


def test_resampling_keeps_a_phone_band_tone_and_the_duration() -> None:
    narrow = tone(440, 1.0, 8000)
    wide = audio.resample(narrow, 8000, 16000)
    assert len(wide) == 2 * len(narrow)
    spectrum = np.abs(np.fft.rfft(np.frombuffer(wide, dtype="<i2")))
    assert abs(np.argmax(spectrum) * 16000 / (len(wide) // 2) - 440) < 2


def test_downsampling_removes_what_the_phone_cannot_carry() -> None:
    high = tone(6000, 0.5, 22050)
    assert audio.rms(audio.resample(high, 22050, 8000)) < 0.05 * audio.rms(high)


def test_the_quiet_lead_in_of_a_clip_is_dropped_and_every_sound_kept() -> None:
    import numpy as np

    from helpline.voice.audio import trim_leading_silence

    rate = 22050
    tone = (np.sin(np.arange(rate // 10) * 2 * np.pi * 440 / rate) * 8000).astype("<i2")
    lead_in = np.zeros(rate * 50 // 1000, dtype="<i2")  # 50 ms, as piper starts a sentence
    clip = np.concatenate([lead_in, tone]).tobytes()
    trimmed = trim_leading_silence(clip, rate)
    assert clip.endswith(trimmed) and len(clip) - len(trimmed) >= 2 * rate * 40 // 1000
    assert trimmed.endswith(tone.tobytes())  # the sound itself is untouched
    quiet = np.zeros(rate // 10, dtype="<i2").tobytes()
    assert trim_leading_silence(quiet, rate) == quiet  # nothing audible: nothing to decide on
