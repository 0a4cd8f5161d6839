"""The packaged local model behind its real llama.cpp server on loopback, as a session-scoped pytest fixture.

Use it from any test module with `from tests.llm_local import local_llm` (and mark the tests `@pytest.mark.llm`).
The server starts once per session (loading the 0.5B model takes a few seconds) and is stopped by its pid at
the end. Without the `llm` extra the tests are skipped with the reason, unless HELPLINE_REQUIRE_LLM is set
(CI), in which case they fail: a missing extra must not turn into a green run that tested nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpline.llm.local_model import DEFAULT_MODEL, INSTALL_HINT, is_installed
from helpline.llm.server import server_installed, start_local_server, stop_local_server

ROOT = Path(__file__).resolve().parents[1]
# The repository's own cache: the model is joined once per checkout (~1 s to verify later), not once per run.
MODEL_CACHE = ROOT / "var" / "cache" / "models"


@dataclass(frozen=True)
class LocalLlm:
    url: str  # base URL, as passed to `--llm-url`
    model: str  # model name, as passed to `--llm-model`
    start_seconds: float  # join/verify + load, until /v1/models answered


def missing_reason() -> str | None:
    if not server_installed():
        return f"llama-cpp-python[server] is not installed ({INSTALL_HINT})"
    if not is_installed(DEFAULT_MODEL):
        return f"the packaged model {DEFAULT_MODEL.name} is not installed ({INSTALL_HINT})"
    return None


@pytest.fixture(scope="session")
def local_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLlm]:
    reason = missing_reason()
    if reason is not None:
        if os.environ.get("HELPLINE_REQUIRE_LLM"):
            pytest.fail(f"{reason}; HELPLINE_REQUIRE_LLM is set")
        pytest.skip(f"{reason}; set HELPLINE_REQUIRE_LLM=1 to make this fail")
    log = tmp_path_factory.mktemp("llm") / "server.log"
    started = time.monotonic()
    try:
        url, process = start_local_server(log_path=log, cache_dir=MODEL_CACHE)
    except Exception as exc:
        pytest.fail(f"the local model server did not start: {exc}\n{log.read_text(errors='replace')[-3000:]}")
    try:
        yield LocalLlm(url, DEFAULT_MODEL.name, time.monotonic() - started)
    finally:
        stop_local_server(process)
