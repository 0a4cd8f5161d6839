"""The Valley Fibre fixture pack (tests/fixtures/packs/valley-fibre) on real models, a real SQLite file for
its declared tables and the real engine: one customer's conversation at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from helpline.connectors.business_tables import open_business_tables
from helpline.connectors.gateway import PackOperations
from helpline.conversation.engine import Engine, TurnContext
from helpline.conversation.state import ConversationState
from helpline.pack.loader import BusinessPack, load_pack
from helpline.runtime import PackModels, build_engine, build_models

PACK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "valley-fibre"


def load_models() -> tuple[BusinessPack, PackModels]:
    pack = load_pack(PACK)
    return pack, build_models(pack, PackOperations(pack.operations, None))


def fresh_engine(pack: BusinessPack, models: PackModels, folder: Path) -> Engine:
    _, sql = open_business_tables(pack, f"sqlite:///{folder / 'records.db'}", None)
    return build_engine(pack, models, PackOperations(pack.operations, sql))


@dataclass
class Chat:
    engine: Engine
    state: ConversationState = field(default_factory=ConversationState)
    replies: list[str] = field(default_factory=list)
    now: datetime | None = None  # the conversation's clock (None: the real time)

    def say(self, message: str) -> str:
        context = TurnContext(now=self.now or datetime.now(UTC))
        reply = " ".join(self.engine.handle(self.state, message, context).replies)
        self.replies.append(reply)
        return reply

    def slot(self, name: str) -> object:
        assert self.state.active is not None, f"no procedure running; said: {self.replies}"
        return self.state.active.slots.get(name)

    def rows(self, sql: str) -> list[dict[str, object]]:
        operations = self.engine.operations
        assert isinstance(operations, PackOperations) and operations.sql is not None
        with operations.sql.engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(text(sql))]
