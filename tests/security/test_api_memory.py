"""Finding 8: made-up ids and addresses cost no memory that stays (issue 10; docs/security.md)."""

from __future__ import annotations

import tracemalloc
import uuid

import pytest
from fastapi.testclient import TestClient

from helpline.application.conversations import ConversationNotFound
from helpline.store.repositories import ApiKeyRepository
from tests.console.conftest import Console, console  # noqa: F401 (fixtures)


def test_posts_to_unknown_conversations_leave_nothing_behind(console: Console) -> None:  # noqa: F811
    service = console.runtime.conversations
    with console.runtime.db.session() as session:
        key = ApiKeyRepository(session).create(role="integration")[0]
    with TestClient(console.app, raise_server_exceptions=False) as client:
        for _ in range(500):
            response = client.post(f"/api/v1/conversations/{uuid.uuid4()}/messages", json={"text": "hi"},
                                   headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 404
    for _ in range(20_000):
        with pytest.raises(ConversationNotFound):
            service.post(str(uuid.uuid4()), "hello?")
    assert len(service._locks) == 0
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(2_000):
            with pytest.raises(ConversationNotFound):
                service.post(str(uuid.uuid4()), "hello?")
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename")
                    if "helpline/channels" in s.traceback[0].filename)
    finally:
        tracemalloc.stop()
    assert grown < 50_000, f"{grown} bytes kept by the conversation service"
    # A real conversation still takes its lock and gives it back.
    started = service.start(channel="chat")
    service.post(started.id, "hello")
    assert len(service._locks) == 0


def test_every_per_key_map_is_bounded(console: Console) -> None:  # noqa: F811
    from helpline.api.limits import SlidingWindow
    from helpline.channels.widget import SEEN_CLIENT_IDS, SEEN_CONVERSATIONS, WidgetHub

    limiter = SlidingWindow(5, 60.0, max_keys=1000)
    for n in range(20_000):
        limiter.hit(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert len(limiter) == 1000
    hub: WidgetHub = console.app.state.widget
    for n in range(SEEN_CONVERSATIONS + 500):
        for m in range(3):
            assert hub.claim(f"conversation-{n}", f"id-{m}") == "new"
            hub.settle(f"conversation-{n}", f"id-{m}", stored=True)
    assert len(hub.seen) == SEEN_CONVERSATIONS and not hub.in_flight
    for m in range(SEEN_CLIENT_IDS * 3):
        hub.settle("one", f"id-{m}", stored=hub.claim("one", f"id-{m}") == "new")
    assert len(hub.seen["one"]) == SEEN_CLIENT_IDS
    for limiter in (hub.starts, hub.messages):
        assert isinstance(limiter, SlidingWindow) and limiter.max_keys <= 10_000
