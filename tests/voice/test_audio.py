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
