"""Fixtures shared by the conversation tests on the Valley Fibre pack (slots, choices, handover)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpline.pack.loader import BusinessPack
from helpline.runtime import PackModels
from tests.conversation.valley_fibre import Chat, fresh_engine, load_models


@pytest.fixture(scope="session")
def fibre_models() -> tuple[BusinessPack, PackModels]:
    return load_models()


@pytest.fixture()
def fibre(fibre_models: tuple[BusinessPack, PackModels], tmp_path: Path) -> Chat:
    """A new conversation on fresh business tables."""
    pack, models = fibre_models
    return Chat(fresh_engine(pack, models, tmp_path))
