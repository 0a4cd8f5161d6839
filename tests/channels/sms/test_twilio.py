"""TwilioSender against the loopback Twilio double: accepted, retried, refused for good."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from helpline.channels.sms.twilio import RetryPolicy, TwilioAccount, TwilioSender
from helpline.outbound.ports import DeliveryResult, MessagePurpose, OutboundChannel, OutboundMessage
from tests.sms_double import ScriptedReply, TwilioDouble

TO = "+15125550147"


@pytest.fixture()
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble() as server:
        yield server


def _send(double: TwilioDouble, text: str = "Your order shipped.", token: str | None = None,
          to: str = TO) -> tuple[DeliveryResult, list[float]]:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    account = TwilioAccount(double.url, double.account_sid, token or double.auth_token, "+15125550100")
    sender = TwilioSender(account, RetryPolicy(attempts=3, first_wait=0.5, max_wait=5.0), sleep=sleep)
    message = OutboundMessage(OutboundChannel.SMS, to, text, purpose=MessagePurpose.OUTAGE_NOTICE)
    return asyncio.run(sender.send(message)), waits


def test_accepted_with_the_providers_sid(double: TwilioDouble) -> None:
    result, waits = _send(double)
    assert result.delivered and result.provider_id is not None and result.provider_id.startswith("SM")
    [sent] = double.sent
    assert (sent.to, sent.sender, sent.body, sent.sid) == (TO, "+15125550100", "Your order shipped.",
                                                           result.provider_id)
    assert waits == []


def test_429_then_201_waits_what_retry_after_asks(double: TwilioDouble) -> None:
    double.fail_next(ScriptedReply(429, 20429, "Too Many Requests", retry_after=2))
    result, waits = _send(double)
    assert result.delivered and waits == [2.0] and double.requests == 2


def test_server_errors_back_off_then_give_up_as_temporary(double: TwilioDouble) -> None:
    double.fail_next(*(ScriptedReply(503, 20500, "Service Unavailable") for _ in range(3)))
    result, waits = _send(double)
    assert not result.delivered and not result.permanent and "20500" in (result.error or "")
    assert waits == [0.5, 1.0] and double.requests == 3
    double.fail_next(ScriptedReply(429, retry_after=600))  # a long Retry-After is capped
    result, waits = _send(double)
    assert result.delivered and waits == [5.0]


@pytest.mark.parametrize(("to", "code", "words"), [
    ("+1555", "21211", "not a valid phone number"),
    ("+15125550148", "21610", "unsubscribed"),
])
def test_a_4xx_is_permanent_and_not_retried(double: TwilioDouble, to: str, code: str, words: str) -> None:
    double.unsubscribed.add("+15125550148")
    result, waits = _send(double, to=to)
    assert not result.delivered and result.permanent
    assert (result.error or "").startswith(code) and words in (result.error or "")
    assert waits == [] and double.requests == 1


def test_wrong_credentials_are_named(double: TwilioDouble) -> None:
    result, _ = _send(double, token="wrong")
    assert result.permanent and "HELPLINE_SMS_AUTH_TOKEN" in (result.error or "") and double.sent == []


def test_an_unreachable_provider_is_temporary() -> None:
    account = TwilioAccount("http://127.0.0.1:9", "AC1", "token", "+15125550100")

    async def sleep(_: float) -> None:
        return None

    sender = TwilioSender(account, RetryPolicy(attempts=2), sleep=sleep, timeout=2)
    result = asyncio.run(sender.send(OutboundMessage(OutboundChannel.SMS, TO, "hi")))
    assert not result.delivered and not result.permanent and "could not be reached" in (result.error or "")
    assert "token" not in repr(account)
