"""Fixtures shared by the conversation tests on the Valley Fibre pack (slots, choices, handover) and on the
sandhill-fiber example pack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpline.connectors.gateway import PackOperations
from helpline.conversation.engine import Engine
from helpline.pack.loader import BusinessPack, load_pack
from helpline.runtime import PackModels, build_models
from tests.conversation.valley_fibre import Chat, fresh_engine, load_models


@pytest.fixture(scope="session")
def fibre_models() -> tuple[BusinessPack, PackModels]:
    return load_models()


@pytest.fixture()
def fibre(fibre_models: tuple[BusinessPack, PackModels], tmp_path: Path) -> Chat:
    """A new conversation on fresh business tables."""
    pack, models = fibre_models
    return Chat(fresh_engine(pack, models, tmp_path))


SANDHILL = Path(__file__).resolve().parents[2] / "examples" / "sandhill-fiber"


@pytest.fixture(scope="module")
def sandhill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The sandhill-fiber example pack's engine on its own business tables (one per test module)."""
    pack = load_pack(SANDHILL)
    models = build_models(pack, PackOperations(pack.operations, None))
    engine = fresh_engine(pack, models, tmp_path_factory.mktemp("sandhill"))
    yield engine
    operations = engine.operations
    if isinstance(operations, PackOperations) and operations.sql is not None:
        operations.sql.engine.dispose()
