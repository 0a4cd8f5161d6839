"""A pack-changed notice (settings or replies saved in the console, issue 16) crosses nodes through Redis to
every node's listeners, and is not mistaken for a conversation's change by the live views."""

from __future__ import annotations

import asyncio
import threading

import pytest

from helpline.adapters.redis_shared import RedisEventBus, SharedRedis
from helpline.application.bus import PACK_CHANGED, ConversationChanged

pytestmark = pytest.mark.redis


def test_a_pack_notice_from_node_a_reaches_node_bs_listener(redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    shared_a, shared_b = SharedRedis.connect(url, prefix), SharedRedis.connect(url, prefix)
    bus_a, bus_b = RedisEventBus(shared_a), RedisEventBus(shared_b)
    heard: list[ConversationChanged] = []
    arrived = threading.Event()

    def on_pack_changed(event: ConversationChanged) -> None:
        heard.append(event)
        arrived.set()

    bus_b.listen(PACK_CHANGED, on_pack_changed)

    async def live_view_on_b() -> ConversationChanged | None:
        with bus_b.subscribe(None) as everything:
            bus_a.publish("node-a", PACK_CHANGED)
            return await everything.get(1.0)

    try:
        seen_by_live_view = asyncio.run(live_view_on_b())
        assert arrived.wait(5.0)
    finally:
        for bus in (bus_a, bus_b):
            bus.close()
        for shared in (shared_a, shared_b):
            shared.close()
    assert heard == [ConversationChanged("node-a", PACK_CHANGED)]
    assert seen_by_live_view is None
