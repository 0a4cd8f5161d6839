"""The Twilio webhook end to end: signed texts in over HTTP, answers out through the REST double, opt-outs."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from helpline.api.app import create_app
from helpline.api.auth import AUTH_FAILURES_PER_ADDRESS
from helpline.channels.sms.keywords import START_CONFIRMATION, STOP_CONFIRMATION
from helpline.channels.sms.segments import count_segments
from helpline.channels.sms.service import InboundSms
from helpline.channels.sms.signature import twilio_signature
from helpline.outbound.ports import MessagePurpose, OutboundChannel, OutboundMessage
from helpline.store.models import Conversation, Message, SmsDelivery
from helpline.store.sms import SmsDeliveryRepository
from tests.channels.sms.conftest import CUSTOMER, NOW, SmsServer, eventually
from tests.conftest import RuntimeFactory
from tests.sms_double import ScriptedReply

SHIPPING = "How long does shipping take?"


@dataclass(frozen=True)
class Stored:
    id: str
    channel: str
    status: str


@dataclass(frozen=True)
class Delivery:
    status: str
    error_code: str | None
    error: str


def _conversations(server: SmsServer) -> list[Stored]:
    with server.runtime.db.read_session() as session:
        return [Stored(c.id, c.channel, c.status)
                for c in session.scalars(select(Conversation).order_by(Conversation.started_at))]


def _deliveries(server: SmsServer) -> list[Delivery]:
    with server.runtime.db.read_session() as session:
        return [Delivery(d.status, d.error_code, d.error)
                for d in session.scalars(select(SmsDelivery).order_by(SmsDelivery.id))]


def _notice(server: SmsServer) -> bool:
    """An outage notice to the customer through the outbox every sender uses; True when it went out."""
    from helpline.channels.sms.codes import run_coroutine

    result = run_coroutine(server.channel.outbox.send(OutboundMessage(
        OutboundChannel.SMS, CUSTOMER, "Brightbean: our app is down until 6pm. Orders still ship.",
        purpose=MessagePurpose.OUTAGE_NOTICE)))
    return result.delivered


def test_a_signed_text_is_answered_through_the_rest_api(sms_server: SmsServer) -> None:
    response = sms_server.text(SHIPPING)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Response>" in response.text  # empty TwiML: the answer goes by REST, not in the webhook reply
    [sent] = sms_server.double.wait_for_messages(1)
    assert sent.to == CUSTOMER and sent.sender == "+15125550100"
    assert "3-5 business days" in sent.body  # the article's answer, en dash made GSM-7
    assert "*" not in sent.body and count_segments(sent.body).segments <= 2
    # the conversation is an SMS one, holding the customer's text and the reply
    [conversation] = _conversations(sms_server)
    assert conversation.channel == "sms"
    with sms_server.runtime.db.read_session() as session:
        texts = [m.text for m in session.scalars(select(Message).where(
            Message.conversation_id == conversation.id).order_by(Message.seq))]
    assert SHIPPING in texts
    # delivery recorded, then the double's signed status callbacks move it to delivered
    assert eventually(lambda: [d.status for d in _deliveries(sms_server)] == ["delivered"])
    assert all(code == 204 for _, _, code in sms_server.double.wait_for_callbacks(2))


def test_the_next_text_continues_the_conversation_and_a_new_one_starts_after_it_ended(sms_server: SmsServer) -> None:
    sms_server.text(SHIPPING)
    sms_server.double.wait_for_messages(1)
    sms_server.text("How do I descale my espresso machine?")
    second = sms_server.double.wait_for_messages(2)[1]
    assert "Descale" in second.body or "descale" in second.body
    assert len(_conversations(sms_server)) == 1
    sms_server.runtime.conversations.end(_conversations(sms_server)[0].id)
    sms_server.text(SHIPPING)
    sms_server.double.wait_for_messages(3)
    conversations = _conversations(sms_server)
    assert len(conversations) == 2 and conversations[1].status == "active"


def test_a_missing_or_wrong_signature_is_refused(sms_server: SmsServer) -> None:
    form = {"From": CUSTOMER, "To": "+15125550100", "Body": SHIPPING, "MessageSid": "SM" + "b" * 32}
    assert sms_server.post(form, signature=None).status_code == 401  # no credentials at all
    assert sms_server.post(form, signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA=").status_code == 403
    assert sms_server.post(form, token="someone-elses-token").status_code == 403
    # signed for another URL (a replay against a different endpoint)
    signed_elsewhere = twilio_signature(sms_server.double.auth_token, sms_server.webhook, form.items())
    other = sms_server.post(form, signature=signed_elsewhere, url=f"{sms_server.webhook}?x=1")
    assert other.status_code == 403
    # a signature over other parameters (the body changed in transit)
    forged = twilio_signature(sms_server.double.auth_token, sms_server.webhook, {**form, "Body": "hi"}.items())
    assert sms_server.post(form, signature=forged).status_code == 403
    assert _conversations(sms_server) == []
    assert sms_server.double.requests == 0


def test_stop_blocks_later_notices_and_start_resumes_them(sms_server: SmsServer) -> None:
    double = sms_server.double
    assert _notice(sms_server) is True
    sms_server.text("stop")
    stop_reply = double.wait_for_messages(2)[1]
    assert stop_reply.body == STOP_CONFIRMATION
    assert _notice(sms_server) is False  # blocked before the provider
    sms_server.text("How long does shipping take?")  # not even a reply goes to a STOPped number
    assert not eventually(lambda: len(double.sent) > 2, timeout=2)
    statuses = [d.status for d in _deliveries(sms_server)]
    assert statuses.count("blocked") == 2
    sms_server.text("START")
    assert double.wait_for_messages(3)[2].body == START_CONFIRMATION
    assert _notice(sms_server) is True
    assert len(double.wait_for_messages(4)) == 4


def test_carrier_synonyms_opt_out_and_yes_opts_back_in_only_after_an_opt_out(sms_server: SmsServer) -> None:
    prefs = sms_server.channel.preferences
    for word in ("UNSUBSCRIBE", "Cancel", "end.", "QUIT", "stopall"):
        sms_server.text(word)
        assert not prefs.allows(OutboundChannel.SMS, CUSTOMER, MessagePurpose.OUTAGE_NOTICE), word
        sms_server.text("unstop")
        assert prefs.allows(OutboundChannel.SMS, CUSTOMER, MessagePurpose.OUTAGE_NOTICE), word
    sms_server.text("STOP")
    sms_server.text("yes")
    assert prefs.allows(OutboundChannel.SMS, CUSTOMER, MessagePurpose.SURVEY)
    # while subscribed, "yes" is an answer for the agent, not a keyword
    outcome = sms_server.channel.receive(InboundSms(CUSTOMER, "yes"))
    assert outcome.keyword is None and outcome.conversation_id is not None
    # a sentence containing stop is a request, not an opt-out
    outcome = sms_server.channel.receive(InboundSms(CUSTOMER, "please stop my subscription"))
    assert outcome.keyword is None
    assert prefs.allows(OutboundChannel.SMS, CUSTOMER, MessagePurpose.OUTAGE_NOTICE)


def test_help_answers_with_the_business_and_how_to_stop(sms_server: SmsServer) -> None:
    sms_server.text("HELP")
    [sent] = sms_server.double.wait_for_messages(1)
    assert sent.body.startswith("Brightbean Coffee Co.") and "Reply STOP" in sent.body
    assert _conversations(sms_server) == []  # a keyword is not a conversation


def test_a_429_then_201_is_retried(sms_server: SmsServer) -> None:
    sms_server.double.fail_next(ScriptedReply(429, 20429, "Too Many Requests", retry_after=0.2))
    sms_server.text(SHIPPING)
    [sent] = sms_server.double.wait_for_messages(1)
    assert "business days" in sent.body
    assert sms_server.double.requests == 2
    assert eventually(lambda: [d.status for d in _deliveries(sms_server)] in (["accepted"], ["sent"],
                                                                                ["delivered"]))


def test_a_permanent_error_is_recorded_on_the_delivery_and_the_conversation(sms_server: SmsServer) -> None:
    sms_server.double.unsubscribed.add(CUSTOMER)  # the carrier saw STOP: 21610
    sms_server.text(SHIPPING)
    assert eventually(lambda: len(_deliveries(sms_server)) == 1)
    [delivery] = _deliveries(sms_server)
    assert delivery.status == "rejected" and delivery.error_code == "21610"
    assert "unsubscribed" in delivery.error
    assert sms_server.double.requests == 1  # never retried
    # later notices are not attempted, and staff see why the customer got no answer
    assert _notice(sms_server) is False and sms_server.double.requests == 1
    [conversation] = _conversations(sms_server)
    with sms_server.runtime.db.read_session() as session:
        staff = [m.text for m in session.scalars(select(Message).where(
            Message.conversation_id == conversation.id, Message.role == "system"))]
    assert any("not delivered" in line and "21610" in line for line in staff)


def test_an_undelivered_status_callback_is_recorded(sms_server: SmsServer) -> None:
    sms_server.double.undeliverable.add(CUSTOMER)
    sms_server.text(SHIPPING)
    assert eventually(lambda: [d.status for d in _deliveries(sms_server)] == ["undelivered"])
    assert _deliveries(sms_server)[0].error_code == "30003"


def test_an_address_that_keeps_failing_signatures_is_held_off(sms_server: SmsServer) -> None:
    """Wrong signatures count against the address like wrong API keys (api/auth.py): past the limit, even a
    correctly signed webhook from there waits (429 with Retry-After) and nothing is read into a conversation."""
    form = {"From": CUSTOMER, "To": "+15125550100", "Body": SHIPPING, "MessageSid": "SM" + "d" * 32}
    statuses = [sms_server.post(form, signature="AAAA").status_code for _ in range(AUTH_FAILURES_PER_ADDRESS)]
    assert set(statuses) == {403}
    held = sms_server.post(form)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    assert held.json()["error"]["code"] == "too_many_requests"
    assert _conversations(sms_server) == [] and sms_server.double.requests == 0


def test_status_callbacks_must_be_signed(sms_server: SmsServer) -> None:
    url = f"{sms_server.url}/api/v1/sms/twilio/status"
    form = {"MessageSid": "SM" + "c" * 32, "MessageStatus": "delivered"}
    assert httpx.post(url, data=form).status_code == 401
    assert httpx.post(url, data=form, headers={"X-Twilio-Signature": "AAAA"}).status_code == 403
    with sms_server.runtime.db.session() as session:
        SmsDeliveryRepository(session).record(to=CUSTOMER, purpose="reply", status="accepted",
                                              provider_id=form["MessageSid"])
    assert sms_server.post(form, url=url).status_code == 204
    assert _deliveries(sms_server)[0].status == "delivered"
    assert sms_server.post({"MessageSid": form["MessageSid"]}, url=url).status_code == 400


def test_a_long_answer_is_shortened_to_two_segments(sms_server: SmsServer) -> None:
    sms_server.text("How do I descale my espresso machine?")
    [sent] = sms_server.double.wait_for_messages(1)
    count = count_segments(sent.body)
    assert count.segments <= 2 and count.encoding.value == "GSM-7"


FIELD_NAMES = st.sampled_from(["From", "To", "Body", "MessageSid", "NumMedia", "AccountSid", "SmsSid", "X"])
VALUES = st.text(alphabet=st.characters(codec="utf-8"), max_size=60) | \
    st.sampled_from(["", "STOP", "+15125550147", "HELP", "0" * 40, "\x00", "%00", "yes", "+1"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(FIELD_NAMES, VALUES, max_size=6))
def test_no_signed_form_gives_a_500(sms_server: SmsServer, form: dict[str, str]) -> None:
    response = sms_server.post(form)
    # 422: the server's edge refuses NUL characters anywhere in a body, before the signature is read
    assert response.status_code in (200, 400, 422), (form, response.status_code, response.text)
    if response.status_code != 200:
        assert response.json()["error"]["message"]


def test_the_generic_json_webhook_returns_the_reply(sms_server: SmsServer) -> None:
    from helpline.store.repositories import ApiKeyRepository

    with sms_server.runtime.db.session() as session:
        key, _ = ApiKeyRepository(session).create(role="integration", label="gateway")
    url = f"{sms_server.url}/api/v1/sms/inbound"
    assert httpx.post(url, json={"from": CUSTOMER, "text": SHIPPING}).status_code == 401
    auth = {"Authorization": f"Bearer {key}"}
    answer = httpx.post(url, json={"from": CUSTOMER, "text": SHIPPING}, headers=auth, timeout=60).json()
    assert answer["send"] is True and "business days" in answer["reply"]["text"]
    assert answer["reply"]["segments"] <= 2 and answer["conversation_id"]
    stop = httpx.post(url, json={"from": CUSTOMER, "text": "STOP"}, headers=auth).json()
    assert stop["keyword"] == "opt_out" and stop["reply"]["text"] == STOP_CONFIRMATION and stop["send"] is True
    after = httpx.post(url, json={"from": CUSTOMER, "text": SHIPPING}, headers=auth, timeout=60).json()
    assert after["send"] is False
    assert httpx.post(url, json={"from": "", "text": "hi"}, headers=auth).status_code == 422
    assert sms_server.double.requests == 0  # the generic webhook never sends itself
    with sms_server.runtime.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1



def test_with_sms_off_the_webhooks_say_so_and_the_document_lists_it(make_runtime: RuntimeFactory,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELPLINE_SMS_AUTH_TOKEN", raising=False)
    app = create_app(make_runtime(NOW), sweep_every_seconds=None)
    with TestClient(app) as client:
        for path in ("/api/v1/sms/twilio", "/api/v1/sms/twilio/status"):
            response = client.post(path, data={"From": CUSTOMER, "Body": "hi"}, headers={"X-Twilio-Signature": "x"})
            assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"
        paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/sms/twilio", "/api/v1/sms/twilio/status", "/api/v1/sms/inbound"):
        documented = paths[path]["post"]["responses"]
        assert {"401", "403", "413", "422", "429", "503"} <= set(documented), (path, sorted(documented))
