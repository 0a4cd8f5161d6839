"""The packaged small model, through its real llama.cpp server, understands a short conversation in `llm`
mode and the engine completes a procedure with it (issue 11: "one CI test with the real packaged model")."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from helpline.llm.openai_compatible import OpenAICompatibleModel
from helpline.llm.settings import LlmMode, LlmSettings
from helpline.runtime import ModelAssistance, build_runtime
from tests.conftest import DEMO, DemoModels
from tests.llm_local import LocalLlm, local_llm

__all__ = ["local_llm"]

pytestmark = pytest.mark.llm
NOW = datetime.fromisoformat("2026-11-20T16:00:00+00:00")


def test_a_short_conversation_completes_a_procedure_in_llm_mode(
        demo_models: DemoModels, tmp_path: Path, local_llm: LocalLlm) -> None:
    settings = LlmSettings(url=local_llm.url, model=local_llm.model, mode=LlmMode.LLM, timeout_s=60,
                           max_retries=0)
    model = OpenAICompatibleModel(settings)
    rt = build_runtime(DEMO, db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                       records_url=f"sqlite:///{tmp_path / 'records.db'}", models=demo_models.models,
                       clock=lambda: NOW, assistance=ModelAssistance(model, LlmMode.LLM))
    cid = rt.conversations.start(channel="chat", actor="test").id
    said = []
    for message in ("hi, please cancel my order BB-10166", "samuel.rogers@example.com", "ordered it by mistake",
                    "yes"):
        said.append(" ".join(rt.conversations.post(cid, message, actor="test").replies))
    assert rt.operations.sql is not None
    with rt.operations.sql.engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM orders WHERE id = 'BB-10166'")).scalar()
    assert status == "cancelled", "\n".join(said)
    with rt.db.session() as session:
        metas = session.execute(text("SELECT meta FROM messages WHERE conversation_id = :c AND role = 'customer'"),
                                {"c": cid}).scalars().all()
    # the model was asked on every turn (llm mode); the engine still verified and asked for the yes
    assert any('"understood_by": "llm"' in str(m) or "'understood_by': 'llm'" in str(m) for m in metas), metas
