"""What nodes share through Redis: the event bus, rate limits, the widget's duplicate-message check.

Each "node" has its own Redis connection and its own in-process state, as two processes would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from helpline.adapters.redis_shared import RedisEventBus, SharedRedis
from helpline.api.limits import RedisSlidingWindow
from helpline.application.bus import ConversationChanged
from helpline.channels.widget import STARTS_PER_MINUTE, WidgetHub

pytestmark = pytest.mark.redis


@pytest.fixture()
def two_nodes(redis_prefix: tuple[str, str]) -> Iterator[tuple[SharedRedis, SharedRedis]]:
    url, prefix = redis_prefix
    nodes = (SharedRedis.connect(url, prefix), SharedRedis.connect(url, prefix))
    yield nodes
    for node in nodes:
        node.close()


def test_an_event_published_on_node_a_reaches_a_subscriber_on_node_b(
        two_nodes: tuple[SharedRedis, SharedRedis]) -> None:
    bus_a, bus_b = RedisEventBus(two_nodes[0]), RedisEventBus(two_nodes[1])

    async def scenario() -> tuple[ConversationChanged | None, ConversationChanged | None, ConversationChanged | None]:
        with bus_b.subscribe("conv-1") as watcher, bus_b.subscribe("conv-2") as other, \
                bus_a.subscribe(None) as everything_on_a:
            bus_a.publish("conv-1", "message")
            received = await watcher.get(5.0)
            on_a = await everything_on_a.get(5.0)  # the publishing node's own views hear of it too
            unrelated = await other.get(0.5)
            return received, on_a, unrelated

    try:
        received, on_a, unrelated = asyncio.run(scenario())
    finally:
        bus_a.close()
        bus_b.close()
    assert received == ConversationChanged("conv-1", "message")
    assert on_a == ConversationChanged("conv-1", "message")
    assert unrelated is None


def test_the_widget_start_limit_holds_across_two_nodes(two_nodes: tuple[SharedRedis, SharedRedis]) -> None:
    hub_a, hub_b = WidgetHub.across_nodes(two_nodes[0]), WidgetHub.across_nodes(two_nodes[1])
    allowed = [(hub_a if i % 2 else hub_b).starts.allow("203.0.113.7") for i in range(2 * STARTS_PER_MINUTE)]
    assert sum(allowed) == STARTS_PER_MINUTE
    assert not hub_a.starts.allow("203.0.113.7") and not hub_b.starts.allow("203.0.113.7")
    assert hub_b.starts.retry_after("203.0.113.7") >= 1
    assert hub_a.starts.allow("198.51.100.9")  # another address has its own allowance


def test_a_failed_attempt_released_on_one_node_frees_room_on_the_other(
        two_nodes: tuple[SharedRedis, SharedRedis]) -> None:
    node_a = RedisSlidingWindow(two_nodes[0].client, two_nodes[0].key("limit", "t", ""), 2, 60.0)
    node_b = RedisSlidingWindow(two_nodes[1].client, two_nodes[1].key("limit", "t", ""), 2, 60.0)
    node_a.hit("x")
    node_b.hit("x")
    assert node_a.blocked("x") and node_b.blocked("x")
    node_b.release("x")
    assert not node_a.blocked("x") and node_a.allow("x") and not node_b.allow("x")


def test_a_resent_widget_message_is_stored_once_whichever_node_it_reaches(
        two_nodes: tuple[SharedRedis, SharedRedis]) -> None:
    hub_a, hub_b = WidgetHub.across_nodes(two_nodes[0]), WidgetHub.across_nodes(two_nodes[1])
    assert hub_a.claim("conv-1", "m-1") == "new"
    assert hub_b.claim("conv-1", "m-1") == "busy"  # still being posted on node A
    hub_a.settle("conv-1", "m-1", stored=True)
    assert hub_b.claim("conv-1", "m-1") == "done"  # the resend after a reconnect is acknowledged, not posted
    assert hub_b.claim("conv-1", "m-2") == "new"
    hub_b.settle("conv-1", "m-2", stored=False)  # failed: the client's resend is posted
    assert hub_a.claim("conv-1", "m-2") == "new"
