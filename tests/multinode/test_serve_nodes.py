"""Real `helpline serve` processes over loopback HTTP: one node on SQLite under 100 concurrent chat
clients, and two nodes on one PostgreSQL and Redis taking posts to one conversation at once."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from bench.load import api_key, database, nodes, run_clients
from tests.multinode.conftest import redis_or_skip
from tests.store.conftest import postgres_admin


def test_sqlite_node_serves_100_concurrent_chat_clients_without_a_server_error() -> None:
    with database("sqlite") as url, nodes(url, 1, []) as served:
        figures, _wall, _cost = asyncio.run(run_clients(served, api_key(url), clients=100, messages=2, timeout=120))
    assert dict(figures.errors) == {}  # no 500, no "database is locked", no timeout
    assert len(figures.latencies) == 200  # every message answered (a 503 busy is retried, as clients do)


@pytest.mark.postgres
@pytest.mark.redis
def test_two_nodes_on_postgresql_and_redis_lose_no_concurrent_post() -> None:
    postgres_admin().dispose()  # skip (or fail, when required) without the server
    redis_url = redis_or_skip()
    env_prefix = f"helpline-test-{os.getpid()}-nodes:"
    os.environ["HELPLINE_REDIS_PREFIX"] = env_prefix  # inherited by the node processes
    try:
        with database("postgres") as url, nodes(url, 2, ["--redis-url", redis_url]) as served:
            bases = [node.base for node in served]
            key = api_key(url)
            headers = {"Authorization": f"Bearer {key}"}

            async def scenario() -> tuple[list[int], dict[str, object]]:
                async with httpx.AsyncClient(headers=headers, timeout=120) as client:
                    started = await client.post(f"{bases[0]}/api/v1/conversations", json={"channel": "chat"})
                    conversation_id = started.json()["id"]
                    statuses: list[int] = []
                    for pair in range(20):
                        replies = await asyncio.gather(*(
                            client.post(f"{base}/api/v1/conversations/{conversation_id}/messages",
                                        json={"text": f"what are your opening hours? ({name}{pair})"})
                            for base, name in zip(bases, ("a", "b"), strict=True)))
                        statuses += [reply.status_code for reply in replies]
                    stored = await client.get(f"{bases[1]}/api/v1/conversations/{conversation_id}")
                    return statuses, stored.json()

            statuses, stored = asyncio.run(scenario())
    finally:
        os.environ.pop("HELPLINE_REDIS_PREFIX", None)
    assert statuses == [200] * 40  # no 409, no 500: the second post waits for the first
    texts = [m["text"] for m in stored["messages"] if m["role"] == "customer"]  # type: ignore[index, union-attr]
    assert len(texts) == 40
    assert all(any(f"({name}{pair})" in t for t in texts) for pair in range(20) for name in ("a", "b"))
