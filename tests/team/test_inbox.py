"""A colleague answers the agent's question from the console's inbox, and the customer gets it in the chat."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helpline.api.app import create_app
from helpline.console.security import hash_password
from helpline.runtime import Runtime, build_runtime
from helpline.store.repositories import ConsoleUserRepository
from tests.conftest import DemoModels
from tests.console.conftest import PASSWORD, login
from tests.team.test_team_questions import OPEN, Clock, team_pack, transcript


@pytest.fixture()
def runtime(demo_models: DemoModels, tmp_path: Path) -> Iterator[Runtime]:
    made = build_runtime(team_pack(tmp_path), db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                         records_url=f"sqlite:///{tmp_path / 'records.db'}", models=demo_models.models,
                         clock=Clock(OPEN))
    with made.db.session() as session:
        ConsoleUserRepository(session).create(email="agent@example.com", role="agent", name="Sam",
                                              password_hash=hash_password(PASSWORD))
    yield made
    made.db.dispose()


def test_an_agent_answers_from_the_inbox_and_the_customer_reads_it(runtime: Runtime) -> None:
    chat = runtime.conversations.start(channel="chat")
    runtime.conversations.post(chat.id, "Is your packaging compostable?")
    with TestClient(create_app(runtime, sweep_every_seconds=None), follow_redirects=False,
                    raise_server_exceptions=False) as client:
        csrf = login(client, "agent@example.com")
        page = client.get("/console/inbox").text
        assert "Questions for the team (1)" in page and "compostable" in page
        action = re.search(r'action="(/console/inbox/questions/[^"]+/answer)"', page)
        assert action is not None
        assert client.post(action.group(1), data={"text": "Yes, fully home-compostable.", "csrf": csrf}
                           ).status_code == 303
        assert transcript(runtime, chat.id)[-1] == (
            "agent", "My colleague Sam answered your question (Is your packaging compostable?): "
                     "Yes, fully home-compostable.")
        assert "Questions for the team" not in client.get("/console/inbox").text
        again = client.post(action.group(1), data={"text": "again", "csrf": csrf})
        assert again.status_code == 303 and "already" in again.headers["location"]
        assert client.post(action.group(1), data={"text": "x"}).status_code in (401, 403)  # no CSRF token
