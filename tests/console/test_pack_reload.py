"""Settings and replies saved in the console on one node reach the other nodes through the event bus
(issue 16): here two runtimes on one pack folder share one in-process bus, as nodes share Redis."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from helpline.console.pack_reload import PackFollower
from helpline.runtime import build_runtime
from tests.conftest import DemoModels
from tests.console.conftest import Console


def test_a_save_on_one_node_applies_on_the_other(console: Console, as_role: dict[str, tuple[TestClient, str]],
                                                 demo_models: DemoModels, tmp_path: Path) -> None:
    other = build_runtime(console.pack_dir, db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                          records_url=f"sqlite:///{tmp_path / 'records.db'}", models=demo_models.models)
    try:
        other.conversations.bus = console.runtime.conversations.bus  # what Redis does between real nodes
        PackFollower(other)
        client, csrf = as_role["admin"]

        new = "Howdy, this is {agent name} at {business name}. How can I help?"
        assert client.post("/console/settings/texts", data={"csrf": csrf, "reply_greeting": new}).status_code == 303
        assert other.pack.replies["greeting"] == ["Howdy, this is {{ persona.name }} at {{ business.name }}. "
                                                  "How can I help?"]
        other.pack.business.persona.greeting = None  # the demo's business.yaml has its own greeting
        assert other.conversations.start(channel="chat").replies[0].startswith("Howdy, this is Bea at Brightbean")

        text = (console.pack_dir / "business.yaml").read_text(encoding="utf-8")
        assert "name: Brightbean Coffee Co." in text
        saved = client.post("/console/settings/advanced", data={
            "csrf": csrf, "business_yaml": text.replace("name: Brightbean Coffee Co.", "name: Beanery Two")})
        assert saved.status_code == 303
        assert other.pack.business.name == "Beanery Two"
    finally:
        other.db.dispose()
        if other.operations.sql:
            other.operations.sql.engine.dispose()
