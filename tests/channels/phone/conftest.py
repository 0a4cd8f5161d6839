"""Fixtures for tests with real SIP peers on loopback (sipp, baresip). The peers themselves live in
`peers.py` as async context managers, since each test runs its own event loop (`run`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.channels.phone.peers import BARESIP, ESPEAK, SIPP, SOX

T = TypeVar("T")

needs_sipp = pytest.mark.skipif(SIPP is None, reason="sipp (apt sip-tester) is not installed")
needs_baresip = pytest.mark.skipif(BARESIP is None or ESPEAK is None or SOX is None,
                                   reason="baresip-core, espeak-ng and sox (apt) are needed")


def run(coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run one test's scenario in a fresh event loop, bounded in time."""

    async def bounded() -> T:
        return await asyncio.wait_for(coroutine, timeout)

    return asyncio.run(bounded())


@pytest.fixture()
def peers_dir(tmp_path: Path) -> Path:
    """Where the peers of one test keep their configuration, logs, captures and recordings."""
    folder = tmp_path / "peers"
    folder.mkdir()
    return folder


Runner = Callable[[Coroutine[Any, Any, T]], T]
