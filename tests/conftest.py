"""Conversation scripts run against the real demo pack, models, SQLite databases and engine."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from helpline.connectors.gateway import PackOperations
from helpline.connectors.sql import SqlOperations
from helpline.pack.loader import BusinessPack, load_pack
from helpline.runtime import PackModels, Runtime, build_models, build_runtime
from tests.smtp_inbox import SmtpTestServer

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo"
TESTS = Path(__file__).resolve().parent
# Tests that play audio against the clock: a caller's pause, a watchdog's bound, a jitter buffer. Beside another
# test on a busy core they measure that test's load, so scripts/test.sh runs them apart, one at a time
# (`-m realtime`), and the rest on both cores (`-m "not realtime" -n 2`).
REALTIME = (TESTS / "channels" / "phone", TESTS / "voice", TESTS / "channels" / "test_mediastream.py",
            TESTS / "deploy" / "test_kamailio_dispatch.py")


def pytest_configure(config: pytest.Config) -> None:
    # `helpline` subprocesses (serve, pack test, chat) run in temporary folders: one cache for them all, so each
    # start reads the pack's embeddings as a restarted server does instead of recomputing them (8 s a start)
    os.environ.setdefault("HELPLINE_CACHE_DIR", str(DEMO.parents[1] / "var" / "cache"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.path == place or place in item.path.parents for place in REALTIME):
            item.add_marker(pytest.mark.realtime)


@dataclass
class DemoModels:
    pack: BusinessPack
    models: PackModels


@pytest.fixture(scope="session")
def demo_models(tmp_path_factory: pytest.TempPathFactory) -> DemoModels:
    pack = load_pack(DEMO)
    records = tmp_path_factory.mktemp("catalogue") / "records.db"
    operations = PackOperations(pack.operations, SqlOperations.open(f"sqlite:///{records}", pack.root,
                                                                    pack.operations.tables))
    return DemoModels(pack, build_models(pack, operations))


RuntimeFactory = Callable[[datetime], Runtime]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpTestServer]:
    """A real SMTP server on loopback receiving the one-time codes the agent sends."""
    with SmtpTestServer() as server:
        yield server


@pytest.fixture()
def make_runtime(demo_models: DemoModels, tmp_path: Path, smtp_server: SmtpTestServer) -> Iterator[RuntimeFactory]:
    """A fresh Helpline database and fresh business records for each conversation script."""
    made: list[Runtime] = []

    def factory(now: datetime) -> Runtime:
        runtime = build_runtime(
            DEMO,
            db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
            records_url=f"sqlite:///{tmp_path / 'records.db'}",
            models=demo_models.models,
            clock=lambda: now,
            code_sender=smtp_server.sender(),
        )
        made.append(runtime)
        return runtime

    yield factory
    for runtime in made:
        runtime.db.engine.dispose()
        runtime.operations.sql.engine.dispose() if runtime.operations.sql else None
