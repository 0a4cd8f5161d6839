"""A colleague's answer reaches a customer who wrote by email: the agent's reply says it asked the team, and the
answer follows in the same thread (real SMTP listener and sink on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpline.runtime import Runtime, build_runtime
from helpline.team.questions import TeamQuestions
from tests.channels.email.harness import EmailHarness, email, parsed, plain_text, settings
from tests.conftest import DemoModels
from tests.smtp_inbox import SmtpTestServer
from tests.team.test_team_questions import Clock, team_pack

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # a Friday, 10:00 in Chicago: the team is in


@pytest.fixture()
def runtime(demo_models: DemoModels, tmp_path: Path) -> Iterator[Runtime]:
    made = build_runtime(team_pack(tmp_path), db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                         records_url=f"sqlite:///{tmp_path / 'records.db'}", models=demo_models.models,
                         clock=Clock(NOW))
    yield made
    made.db.dispose()


def test_the_colleagues_answer_is_emailed_in_the_thread(runtime: Runtime, tmp_path: Path) -> None:
    with SmtpTestServer() as sink:
        harness = EmailHarness(runtime, sink, settings(sink, tmp_path))

        async def scenario(h: EmailHarness) -> None:
            await h.send(email("Packaging", "Hello, is your packaging compostable?", message_id="<p1@example.com>"))
            [question] = TeamQuestions(runtime.conversations).open()
            await asyncio.to_thread(TeamQuestions(runtime.conversations).answer, question.id,
                                    "Yes, our bags are certified home-compostable.", "Sam", "console:sam")
            for _ in range(100):  # the relay hears the bus notice and sends
                if len(h.replies()) == 2:
                    break
                await asyncio.sleep(0.05)

        harness.run(scenario)
        first, answer = harness.replies()
        assert "asked a colleague" in plain_text(first)
        assert "home-compostable" in plain_text(answer) and "Sam" in plain_text(answer)
        assert parsed(answer)["In-Reply-To"] == "<p1@example.com>"
