"""Console replies on an email conversation go out once: two relays (two nodes hearing the same bus notice) racing
for a line nobody sent yet send one email, claimed through the send queue, threaded under the customer's email."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from helpline.channels.email.channel import EmailChannel, Outcome
from helpline.channels.email.reply import ReplyComposer
from helpline.channels.email.staff import StaffReplyRelay, relayed_lines
from helpline.outbound.ports import DeliveryResult, MessagePurpose, OutboundChannel, OutboundMessage
from helpline.runtime import Runtime, build_runtime
from helpline.store.models import EmailRecord, OutboundMessageRecord, Ticket
from tests.channels.email.harness import SUPPORT, email
from tests.conftest import DEMO, DemoModels, RuntimeFactory
from tests.store.conftest import POSTGRES_URL, postgres_admin, with_search_path

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
ANA = "ana@brightbean.example"


class Outbox:
    """Stands for the SMTP relay: keeps every email, delivers it after a pause (so the racers overlap)."""

    channel = OutboundChannel.EMAIL

    def __init__(self, delivered: bool = True) -> None:
        self.sent: list[OutboundMessage] = []
        self.delivered = delivered

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        await asyncio.sleep(0.05)
        self.sent.append(message)
        return DeliveryResult(self.delivered, error="" if self.delivered else "relay refused")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def runtime(request: pytest.FixtureRequest, make_runtime: RuntimeFactory, demo_models: DemoModels,
            tmp_path: Path) -> Iterator[Runtime]:
    """The demo pack's runtime with Helpline's records on SQLite, or on PostgreSQL (where two nodes' transactions
    really overlap)."""
    if request.param == "sqlite":
        yield make_runtime(NOW)
        return
    admin = postgres_admin()
    schema = f"helpline_relay_{secrets.token_hex(5)}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    made = build_runtime(DEMO, db_url=with_search_path(POSTGRES_URL, schema),
                         records_url=f"sqlite:///{tmp_path / 'records.db'}", models=demo_models.models,
                         clock=lambda: NOW)
    try:
        yield made
    finally:
        made.db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _email_conversation(runtime: Runtime, outbox: Outbox) -> tuple[EmailChannel, str]:
    channel = EmailChannel(runtime.conversations, outbox, ReplyComposer(runtime.pack), SUPPORT)
    raw = email("Descaling", "How do I descale my espresso machine?", message_id="<r1@example.com>").as_bytes()
    handled = asyncio.run(channel.receive(raw))
    assert handled.outcome is Outcome.ANSWERED and handled.conversation_id is not None
    return channel, handled.conversation_id


def test_two_relays_racing_for_a_console_reply_send_one_email(runtime: Runtime) -> None:
    outbox = Outbox()
    channel, conversation_id = _email_conversation(runtime, outbox)
    answer = outbox.sent[0]
    service = channel.service
    service.take_over(conversation_id, by=ANA, display_name="Ana", actor="console:ana")
    service.whisper(conversation_id, by=ANA, text="she sounds in a hurry", actor="console:ana")
    service.human_reply(conversation_id, by=ANA, display_name="Ana", text="Hi Julia, a free descaler is on its way.",
                        actor="console:ana")
    relays = [StaffReplyRelay(channel, node="node-a"), StaffReplyRelay(channel, node="node-b")]
    # Both relays have read the line as unsent before either claims it (where the database lets both in at once:
    # SQLite serialises writing transactions, so there the second waits for the first and the pause runs out).
    both_read = threading.Barrier(2)
    new_message_id = channel.new_message_id

    def message_id_once_both_read() -> str:
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait(timeout=2)
        return new_message_id()

    channel.new_message_id = message_id_once_both_read  # type: ignore[method-assign]

    async def race() -> list[int]:
        return list(await asyncio.gather(*(relay.relay(conversation_id) for relay in relays)))

    assert sorted(asyncio.run(race())) == [0, 1]
    [staff] = outbox.sent[1:]
    assert "free descaler" in staff.text and "hurry" not in staff.text  # the whisper stays with the staff
    assert staff.purpose is MessagePurpose.STAFF_REPLY and staff.to == "julia.campbell@example.com"
    assert staff.headers["In-Reply-To"] == "<r1@example.com>"
    assert staff.headers["References"].split() == ["<r1@example.com>", answer.headers["Message-ID"]]
    channel.new_message_id = new_message_id  # type: ignore[method-assign]
    assert asyncio.run(race()) == [0, 0]  # sent: nothing left for either
    with service.db.read_session() as session:
        [row] = session.scalars(select(OutboundMessageRecord)).all()
        record = session.scalars(select(EmailRecord).where(EmailRecord.source_seq.is_not(None))).one()
        assert row.dedupe_key == f"email_line:{conversation_id}:{record.source_seq}"
        assert (row.status, row.claimed_by, row.headers["Message-ID"]) == ("sent", None, staff.headers["Message-ID"])
        assert (record.message_id, record.status) == (staff.headers["Message-ID"], "sent")
        seq = record.source_seq
    assert relayed_lines(channel, conversation_id) == [seq]


def test_a_console_reply_the_relay_could_not_send_is_on_the_ticket_and_not_sent_again(
        make_runtime: RuntimeFactory) -> None:
    outbox = Outbox()
    channel, conversation_id = _email_conversation(make_runtime(NOW), outbox)
    service = channel.service
    service.take_over(conversation_id, by=ANA, display_name="Ana", actor="console:ana")
    service.human_reply(conversation_id, by=ANA, display_name="Ana", text="Hi Julia, Ana here.", actor="console:ana")
    outbox.delivered = False
    relay = StaffReplyRelay(channel, node="node-a")
    assert asyncio.run(relay.relay(conversation_id)) == 0
    assert asyncio.run(relay.relay(conversation_id)) == 0 and len(outbox.sent) == 2  # tried once
    with service.db.read_session() as session:
        row = session.scalars(select(OutboundMessageRecord)).one()
        record = session.scalars(select(EmailRecord).where(EmailRecord.source_seq.is_not(None))).one()
        assert (row.status, row.last_error, record.status, record.error) == ("failed", "relay refused", "failed",
                                                                             "relay refused")
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)).one()
        assert "was not delivered: relay refused" in ticket.notes and "email_undelivered" in ticket.flags
