"""Outbound tests: the queue on SQLite files and PostgreSQL (a throw-away schema per test), and a sender that
records what it was asked to send (the MessageSender port, in memory: the channels' own tests speak SMTP and
the SMS provider's protocol)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from helpline.outbound.ports import DeliveryResult, MessagePurpose, OutboundChannel, OutboundMessage
from helpline.store.db import Database
from tests.multinode.conftest import postgres_schema  # noqa: F401  (a fixture used by the postgres cases)


@dataclass
class RecordingSender:
    """A MessageSender that keeps every message and answers with the results it is given, in turn."""

    channel: OutboundChannel = OutboundChannel.EMAIL
    results: list[DeliveryResult] = field(default_factory=list)
    sent: list[OutboundMessage] = field(default_factory=list)

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        self.sent.append(message)
        if self.results:
            return self.results.pop(0)
        return DeliveryResult(delivered=True, provider_id=f"<{len(self.sent)}@test>")


@dataclass
class OptOuts:
    """ContactPreferences with a set of opted-out (channel, address) pairs."""

    blocked: set[tuple[OutboundChannel, str]] = field(default_factory=set)

    def allows(self, channel: OutboundChannel, address: str, purpose: MessagePurpose) -> bool:
        return (channel, address) not in self.blocked


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_databases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[Database, Database]]:
    """Two Database handles (two pools, as two nodes have) on one migrated database."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_schema")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('outbound') / 'helpline.db'}"
    first = Database(url)
    first.migrate()
    second = Database(url)
    yield first, second
    first.dispose()
    second.dispose()
