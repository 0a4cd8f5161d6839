"""Team chats hear about questions and hand-offs: posted over real HTTP to loopback receivers that answer as Slack
(200 "ok"), Mattermost (200 "ok") and a Teams workflow (202) do; masked unless the pack shares customer data;
retried when a chat refuses; posted once when two nodes race."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from helpline.pack.models import TeamChatKind, TeamWebhook
from helpline.runtime import Runtime, build_runtime
from helpline.store.models import TeamNotice
from helpline.team.notices import TeamNotifier, mask_contacts
from helpline.team.webhooks import IncomingWebhook, TeamChat, team_chats
from tests.conftest import DemoModels
from tests.team.test_team_questions import OPEN, Clock, team_pack


@dataclass
class Receiver:
    """An incoming-webhook endpoint on loopback; `fail_next` answers that many posts with a 500."""

    status: int = 200
    body: bytes = b"ok"
    fail_next: int = 0
    posts: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if state.fail_next:
                state.fail_next -= 1
                self.send_response(500)
                self.end_headers()
                self.wfile.write(b"internal_error")
                return
            assert self.headers.get("Content-Type", "").startswith("application/json")
            state.posts.append(json.loads(data))
            self.send_response(state.status)
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/B000/XXXX"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


@pytest.fixture()
def runtime(demo_models: DemoModels, tmp_path: Path) -> Iterator[Runtime]:
    made = build_runtime(team_pack(tmp_path), db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                         records_url=f"sqlite:///{tmp_path / 'records.db'}", models=demo_models.models,
                         clock=Clock(OPEN))
    yield made
    made.db.dispose()


def notifier(runtime: Runtime, chats: list[TeamChat], share: bool = False) -> TeamNotifier:
    business = runtime.pack.business.model_copy(
        update={"team": runtime.pack.business.team.model_copy(update={"share_customer_data": share})})
    return TeamNotifier(runtime.db, business, chats, console_url="https://help.example.com", clock=Clock(OPEN))


def ask(runtime: Runtime, text: str) -> None:
    chat = runtime.conversations.start(channel="chat")
    assert "asked a colleague" in runtime.conversations.post(chat.id, text).replies[0]


def test_a_question_reaches_slack_masked_with_a_link_to_the_inbox(runtime: Runtime, receiver: Receiver) -> None:
    ask(runtime, "Is your packaging compostable? Email me at ana.lopez@example.org or call 312-555-0147")
    slack = IncomingWebhook(TeamChatKind.SLACK, receiver.url, name="slack")
    assert asyncio.run(notifier(runtime, [slack]).run_once()) == 1
    [post] = receiver.posts
    assert "compostable" in post["text"] and "<https://help.example.com/console/inbox|" in post["text"]
    assert "ana.lopez" not in post["text"] and "555" not in post["text"]
    assert "[email]" in post["text"] and "[phone]" in post["text"]
    assert asyncio.run(notifier(runtime, [slack]).run_once()) == 0  # posted once


def test_sharing_customer_data_keeps_the_contact_details(runtime: Runtime, receiver: Receiver) -> None:
    ask(runtime, "Is your packaging compostable? Email me at ana.lopez@example.org")
    slack = IncomingWebhook(TeamChatKind.MATTERMOST, receiver.url)
    asyncio.run(notifier(runtime, [slack], share=True).run_once())
    assert "ana.lopez@example.org" in receiver.posts[0]["text"]


def test_teams_gets_an_adaptive_card_and_a_handoff_notice(runtime: Runtime, receiver: Receiver) -> None:
    receiver.status, receiver.body = 202, b""
    chat = runtime.conversations.start(channel="chat")
    runtime.conversations.post(chat.id, "I want to talk to a human right now, my grinder is broken")
    teams = IncomingWebhook(TeamChatKind.TEAMS, receiver.url)
    assert asyncio.run(notifier(runtime, [teams]).run_once()) == 1
    [post] = receiver.posts
    card = post["attachments"][0]
    assert post["type"] == "message" and card["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = " ".join(block["text"] for block in card["content"]["body"])
    assert texts.startswith("Hand-off to") and "grinder" in texts
    assert card["content"]["actions"][0]["url"] == "https://help.example.com/console/inbox"


def test_a_refusing_chat_is_retried_with_backoff_and_the_error_kept(runtime: Runtime, receiver: Receiver) -> None:
    ask(runtime, "Is your packaging compostable?")
    receiver.fail_next = 1
    slack = IncomingWebhook(TeamChatKind.SLACK, receiver.url, name="slack")
    first = notifier(runtime, [slack])
    assert asyncio.run(first.run_once()) == 0
    with runtime.db.session() as session:
        notice = session.scalars(select(TeamNotice)).one()
        assert notice.attempts == 1 and "HTTP 500" in notice.last_error and notice.posted_at is None
        retry_at = notice.next_attempt_at
    assert asyncio.run(first.run_once()) == 0  # not before the backoff
    later = notifier(runtime, [slack])
    later.clock = Clock(retry_at + timedelta(seconds=1))  # type: ignore[operator]
    assert asyncio.run(later.run_once()) == 1
    assert len(receiver.posts) == 1


def test_two_nodes_racing_post_each_notice_once(runtime: Runtime, receiver: Receiver) -> None:
    for question in ("Is your packaging compostable?", "Can I visit your roastery on weekends?"):
        ask(runtime, question)
    slack = IncomingWebhook(TeamChatKind.SLACK, receiver.url)

    async def race() -> list[int]:
        nodes = [notifier(runtime, [slack]) for _ in range(3)]
        for number, node in enumerate(nodes):
            node.node = f"node-{number}"
        return list(await asyncio.gather(*(asyncio.to_thread(lambda n=n: asyncio.run(n.run_once())) for n in nodes)))

    assert sum(asyncio.run(race())) == 2
    assert len(receiver.posts) == 2


def test_webhook_urls_come_from_the_environment_and_a_missing_one_is_skipped() -> None:
    hooks = [TeamWebhook(kind=TeamChatKind.SLACK, url_env="SLACK_HOOK"),
             TeamWebhook(kind=TeamChatKind.TEAMS, url_env="TEAMS_HOOK")]
    chats = team_chats(hooks, env={"SLACK_HOOK": "https://hooks.slack.com/services/T/B/X"})
    assert [chat.name for chat in chats] == ["slack (SLACK_HOOK)"]


def test_contact_masking_finds_numbers_in_local_and_international_forms() -> None:
    masked = mask_contacts("call (312) 555-0147 or +44 20 7946 0958, mail bo@x.co", "US")
    assert masked == "call [phone] or [phone], mail [email]"
