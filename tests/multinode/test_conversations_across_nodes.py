"""Two nodes (two ConversationService instances, each with its own connection pool and in-process
locks, as two processes would have) posting to one conversation on one PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from helpline.application.conversations import ConversationBusy, ConversationService
from helpline.conversation.state import ConversationState
from helpline.runtime import Runtime, build_runtime
from helpline.store.models import Conversation, Message
from tests.conftest import DEMO, DemoModels

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
PAIRS = 20
QUESTIONS = ("What are your opening hours?", "How do I contact you by email?")


@pytest.fixture()
def two_nodes(postgres_pair: tuple[str, str], demo_models: DemoModels) -> Iterator[tuple[Runtime, Runtime]]:
    helpline_url, records_url = postgres_pair
    nodes = [build_runtime(DEMO, db_url=helpline_url, records_url=records_url, models=demo_models.models,
                           clock=lambda: NOW) for _ in range(2)]
    try:
        yield nodes[0], nodes[1]
    finally:
        for node in nodes:
            node.db.dispose()
            if node.operations.sql is not None:
                node.operations.sql.engine.dispose()


def _stored(service: ConversationService, conversation_id: str) -> tuple[list[Message], ConversationState]:
    with service.db.session() as session:
        messages = list(session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                        .order_by(Message.seq)))
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        return messages, ConversationState.from_json(conversation.state)


def test_concurrent_posts_through_two_nodes_lose_nothing(two_nodes: tuple[Runtime, Runtime]) -> None:
    node_a, node_b = (node.conversations for node in two_nodes)
    started = node_a.start(actor="test")
    errors: list[BaseException] = []

    def post(service: ConversationService, text: str, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            view = service.post(started.id, text, actor="test")
            assert view.replies, "every served turn answers"
        except BaseException as error:  # collected: a lost message must fail the test, not a thread
            errors.append(error)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for pair in range(PAIRS):
            barrier = threading.Barrier(2)
            futures = [pool.submit(post, node_a, f"{QUESTIONS[0]} (a{pair})", barrier),
                       pool.submit(post, node_b, f"{QUESTIONS[1]} (b{pair})", barrier)]
            for future in futures:
                future.result()

    assert errors == []
    messages, state = _stored(node_b, started.id)
    customer = [m.text for m in messages if m.role == "customer"]
    assert len(customer) == 2 * PAIRS
    for pair in range(PAIRS):
        assert any(f"(a{pair})" in line for line in customer) and any(f"(b{pair})" in line for line in customer)
    # every turn was applied on the state the previous one stored: none overwrote another's update
    assert state.turn == 2 * PAIRS
    # each customer message is followed by its own answer before the next one (turns never interleave)
    roles = [m.role for m in messages if m.role in ("customer", "agent")]
    assert all(roles[i + 1] == "agent" for i, role in enumerate(roles) if role == "customer")
    assert len({m.seq for m in messages}) == len(messages)


def test_a_turn_waits_boundedly_then_is_told_to_retry(two_nodes: tuple[Runtime, Runtime]) -> None:
    node_a, node_b = (node.conversations for node in two_nodes)
    started = node_a.start(actor="test")
    node_b.turn_wait_seconds = 0.5
    # Another process is in the middle of a long turn on this conversation: it holds the row lock.
    with two_nodes[0].db.engine.connect() as other:
        other.execute(text("SELECT id FROM conversations WHERE id = :id FOR UPDATE"), {"id": started.id})
        with pytest.raises(ConversationBusy):
            node_b.post(started.id, "What are your opening hours?", actor="test")
        other.rollback()
    messages, state = _stored(node_b, started.id)
    assert [m for m in messages if m.role == "customer"] == []  # nothing half-stored while busy
    # once the other turn is over, the same message (the client retries) is served
    view = node_b.post(started.id, "What are your opening hours?", actor="test")
    assert view.replies and _stored(node_b, started.id)[1].turn == state.turn + 1
