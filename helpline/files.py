"""File helpers shared by the parts that assemble packaged model files (Whisper weights, the local LLM)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

CACHE_ENV = "HELPLINE_CACHE_DIR"


def cache_folder() -> Path:
    """Where Helpline keeps what it can rebuild (the pack's embeddings, model files assembled from packages):
    `$HELPLINE_CACHE_DIR`, else `var/cache` under the working folder. Read at each use, not at import."""
    return Path(os.environ.get(CACHE_ENV) or "var/cache")


def model_cache_folder() -> Path:
    """Where model files joined from their packages are kept (Whisper, Smart Turn, the local LLM)."""
    return cache_folder() / "models"


def join_atomically(sources: list[Path], target: Path) -> None:
    """Concatenate `sources` into `target` so a reader never sees a half-written file (write a temporary file
    beside it, fsync, rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as part:
                    shutil.copyfileobj(part, out, 8 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
