"""The agent apologises for frustration the customer shows, not for plain requests and answers that the learned tone
model alone scores as upset (found with the sandhill-fiber example pack: "I can hear how frustrating this has been"
after "I want to change my plan")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpline.connectors.business_tables import open_business_tables
from helpline.connectors.gateway import PackOperations
from helpline.conversation.engine import Engine
from helpline.pack.loader import load_pack
from helpline.runtime import build_engine, build_models
from tests.conversation.valley_fibre import Chat

SANDHILL = Path(__file__).resolve().parents[2] / "examples" / "sandhill-fiber"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    pack = load_pack(SANDHILL)
    models = build_models(pack, PackOperations(pack.operations, None))
    records = tmp_path_factory.mktemp("sandhill") / "records.db"
    _, sql = open_business_tables(pack, f"sqlite:///{records}", None)
    yield build_engine(pack, models, PackOperations(pack.operations, sql))
    if sql is not None:
        sql.engine.dispose()


def apologised(chat: Chat) -> bool:
    return any("frustrating" in reply.lower() or "sorry for the trouble" in reply.lower() for reply in chat.replies)


@pytest.mark.parametrize("message", ["I want to change my plan", "I'd like to switch to a cheaper package",
                                     "we're moving house next month"])
def test_a_plain_request_gets_no_apology(engine: Engine, message: str) -> None:
    chat = Chat(engine)
    chat.say(message)
    assert not apologised(chat), chat.replies


@pytest.mark.parametrize("message", ["This is the third time I'm calling about my internet, it's ridiculous",
                                     "I'm so fed up, my internet has been down for three days and nobody cares"])
def test_real_frustration_is_still_acknowledged(engine: Engine, message: str) -> None:
    chat = Chat(engine)
    chat.say(message)
    assert chat.state.apologised, chat.replies
