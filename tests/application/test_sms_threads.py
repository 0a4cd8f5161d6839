"""A number's texts and their conversation through the application layer: one open conversation per number,
lines said outside a reply queued and claimed once, texts and their statuses recorded, opt-outs read."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from helpline.application.opt_outs import OptOuts, sms_address
from helpline.application.sms_deliveries import SentText, SmsDeliveries
from helpline.application.sms_threads import LineToText, SmsThreads, said_outside_a_reply
from helpline.outbound.ports import DeliveryResult, OutboundChannel
from helpline.outbound.queue import RetryPolicy
from helpline.store.models import OutboundMessageRecord
from tests.conftest import RuntimeFactory

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
PHONE = "+15125550147"


def test_a_number_continues_its_open_conversation_and_the_first_attached_wins(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    threads = SmsThreads(runtime.db)
    assert threads.open_conversation(PHONE) is None
    first = runtime.conversations.start("sms", actor="test").id
    second = runtime.conversations.start("sms", actor="test").id
    assert threads.attach(PHONE, first) == first
    assert threads.attach(PHONE, second) == first  # another process started one at the same moment
    assert threads.open_conversation(PHONE) == first
    assert set(threads.active_conversations()) == {first, second}
    runtime.conversations.end(first, actor="test")
    assert threads.open_conversation(PHONE) is None  # ended: the next text starts a new one
    assert threads.attach(PHONE, second) == second


def test_a_persons_reply_is_queued_and_claimed_by_one_node_only(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    service, threads = runtime.conversations, SmsThreads(runtime.db)
    conversation = service.start("sms", actor="test").id
    threads.attach(PHONE, conversation)
    service.take_over(conversation, by="ana", display_name="Ana", actor="test")
    service.whisper(conversation, by="ana", text="a note for the team", actor="test")
    service.human_reply(conversation, by="ana", display_name="Ana", text="Hi, Ana here.", actor="test")

    def word(line: LineToText) -> str:
        return f"worded: {line.text}"

    [line] = threads.queue_unsent_lines(conversation, now=NOW, node="node-a", actor="test", word=word)
    assert (line.message.to, line.message.text, line.message.purpose) == (PHONE, "worded: Hi, Ana here.",
                                                                          "staff_reply")
    assert threads.queue_unsent_lines(conversation, now=NOW, node="node-b", actor="test", word=word) == []
    threads.finish_line(line, DeliveryResult(True, provider_id="SM1"), node="node-a", now=NOW,
                        policy=RetryPolicy(), actor="test", blocked=False)
    with runtime.db.read_session() as session:
        [row] = session.scalars(select(OutboundMessageRecord)).all()
        assert (row.status, row.dedupe_key, row.claimed_by) == ("sent", f"sms_line:{conversation}:{line.seq}", None)


def test_only_customer_visible_lines_said_outside_a_reply_are_texted() -> None:
    assert said_outside_a_reply("human", None)
    assert said_outside_a_reply("agent", {"unprompted": True})
    assert not said_outside_a_reply("agent", None)  # a reply to a text: the webhook sent it
    assert not said_outside_a_reply("system", {"visibility": "staff"})
    assert not said_outside_a_reply("agent", {"unprompted": True, "visibility": "staff"})


def test_texts_statuses_and_opt_outs(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    deliveries, opt_outs = SmsDeliveries(runtime.db), OptOuts(runtime.db)
    deliveries.record(SentText(to=PHONE, purpose="reply", status="accepted", provider_id="SM9"))
    assert deliveries.update_status("SM-unknown", "delivered", None) is None
    updated = deliveries.update_status("SM9", "delivered", None)
    assert updated is not None and (updated.to, updated.status) == (PHONE, "delivered")
    late = deliveries.update_status("SM9", "sent", None)  # an earlier status arriving after the final one
    assert late is not None and late.status == "delivered"
    assert not opt_outs.opted_out(OutboundChannel.SMS, PHONE)
    opt_outs.opt_out(OutboundChannel.SMS, "+1 512-555-0147", "STOP", "test")
    assert opt_outs.opted_out(OutboundChannel.SMS, PHONE)
    assert sms_address("(512) 555-0147", "US") == PHONE
    assert sms_address(" 72345 ") == "72345"  # a short code stays as given
