"""The bilingual fixture pack (tests/fixtures/packs/bilingual: English first, Spanish second) on real models;
conversations run as on the Valley Fibre pack (a real SQLite file for its tables, the real engine)."""

from __future__ import annotations

from pathlib import Path

from helpline.connectors.gateway import PackOperations
from helpline.pack.loader import BusinessPack, load_pack
from helpline.runtime import PackModels, build_models
from tests.conversation.valley_fibre import Chat, fresh_engine

PACK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "bilingual"

__all__ = ["PACK", "Chat", "fresh_engine", "load_models"]


def load_models() -> tuple[BusinessPack, PackModels]:
    pack = load_pack(PACK)
    return pack, build_models(pack, PackOperations(pack.operations, None))
