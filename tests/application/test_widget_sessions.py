"""A widget chat's session through the application layer: the resume token, the replay without whispers, one
rating per chat."""

from __future__ import annotations

from datetime import UTC, datetime

from helpline.application.widget_sessions import bind_chat, customer_replay, owns_chat, rate_once
from helpline.store.db import Database
from helpline.store.repositories import WidgetKeyRepository
from tests.conftest import RuntimeFactory

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def widget_key(db: Database, label: str) -> str:
    with db.session() as session:
        return WidgetKeyRepository(session).create(label=label).id


def test_only_the_token_handed_out_resumes_the_chat_through_its_key(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    chat = runtime.conversations.start(actor="test")
    other = runtime.conversations.start(actor="test")
    shop, blog = widget_key(runtime.db, "shop"), widget_key(runtime.db, "blog")
    token = bind_chat(runtime.db, chat.id, shop)
    assert owns_chat(runtime.db, chat.id, token, shop)
    assert not owns_chat(runtime.db, chat.id, token, blog)  # another site's key
    assert not owns_chat(runtime.db, other.id, token, shop)  # another conversation
    assert not owns_chat(runtime.db, chat.id, token + "x", shop)


def test_the_replay_shows_what_the_customer_may_see_after_a_line(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    service = runtime.conversations
    chat = service.start(actor="test")
    greeting = customer_replay(runtime.db, chat.id, 0)
    assert greeting.status == "active" and not greeting.handled_by_person
    assert [line.role for line in greeting.lines] == ["agent"] * len(greeting.lines) and greeting.lines
    seen = greeting.lines[-1].seq
    service.post(chat.id, "where is my order", actor="test")
    service.take_over(chat.id, by="u1", display_name="Dana", actor="test")
    service.whisper(chat.id, by="u1", text="check the courier first", actor="test")
    service.human_reply(chat.id, by="u1", display_name="Dana", text="Hi, Dana here.", actor="test")
    replay = customer_replay(runtime.db, chat.id, seen)
    texts = [line.text for line in replay.lines]
    assert texts[0] == "where is my order"
    assert "check the courier first" not in texts
    assert replay.lines[-1].role == "human" and replay.lines[-1].by == "Dana"
    assert all(line.by == "" for line in replay.lines if line.role != "human")
    assert [line.seq for line in replay.lines] == sorted(line.seq for line in replay.lines)
    assert all(line.seq > seen for line in replay.lines)
    assert replay.handled_by_person
    assert customer_replay(runtime.db, "no-such-conversation", 0).status == "ended"


def test_a_chat_is_rated_once(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    chat = runtime.conversations.start(actor="test")
    assert rate_once(runtime.db, chat.id, 4, actor="test") is True
    assert rate_once(runtime.db, chat.id, 1, actor="test") is False
    assert runtime.conversations.ticket_number(chat.id) is not None
    assert rate_once(runtime.db, "no-such-conversation", 5, actor="test") is None
