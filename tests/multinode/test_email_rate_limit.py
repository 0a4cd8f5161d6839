"""The email channel's per-sender limit shared through Redis (issue 13): a flood spread over two nodes' listeners
meets one limit, another sender has their own, and Redis holds a hash of the address, not the address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpline.adapters.redis_shared import SharedRedis
from helpline.channels.email.safety import SenderRateLimit, sender_key

pytestmark = pytest.mark.redis

FLOODER = "Robot@Example.com"


@pytest.fixture()
def two_nodes(redis_prefix: tuple[str, str]) -> Iterator[tuple[SharedRedis, SharedRedis]]:
    url, prefix = redis_prefix
    nodes = (SharedRedis.connect(url, prefix), SharedRedis.connect(url, prefix))
    yield nodes
    for node in nodes:
        node.close()


def test_the_sender_limit_holds_across_two_nodes(two_nodes: tuple[SharedRedis, SharedRedis],
                                                 redis_prefix: tuple[str, str]) -> None:
    node_a = SenderRateLimit.across_nodes(two_nodes[0], limit=3)
    node_b = SenderRateLimit.across_nodes(two_nodes[1], limit=3)
    allowed = [(node_a if i % 2 else node_b).allow(FLOODER if i % 3 else FLOODER.lower()) for i in range(8)]
    assert sum(allowed) == 3 and allowed[:3] == [True, True, True]
    assert not node_a.allow("robot@example.com") and not node_b.allow(FLOODER)
    assert node_b.allow("julia.campbell@example.com")  # another sender has their own allowance
    keys = [key.decode() for key in two_nodes[0].client.scan_iter(match=f"{redis_prefix[1]}*")]
    assert keys and not any("example.com" in key.lower() for key in keys)
    assert any(sender_key(FLOODER) in key for key in keys)


def test_without_redis_each_node_counts_alone() -> None:
    node_a, node_b = SenderRateLimit.across_nodes(None, limit=2), SenderRateLimit.across_nodes(None, limit=2)
    assert [node_a.allow(FLOODER) for _ in range(3)] == [True, True, False]
    assert node_b.allow(FLOODER)  # one process's count: the documented single-node behaviour
