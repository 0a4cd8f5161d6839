"""`TwilioSender`: the `MessageSender` for SMS over Twilio's Messages REST API (and anything speaking it).

POST {api_url}/2010-04-01/Accounts/{account}/Messages.json, form-encoded To, From, Body and StatusCallback, HTTP
Basic auth account SID : auth token. 201 with a JSON body {sid, status} is accepted. 429 and 5xx (and a
connection that fails) are retried, waiting what Retry-After asks (capped) or backing off; any other 4xx is
permanent, described from the provider's {code, message}: retrying a bad number or an unsubscribed recipient
only costs money. The message text is never logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from helpline.outbound.ports import DeliveryResult, OutboundChannel, OutboundMessage
from helpline.pack.expressions import mask

log = logging.getLogger(__name__)

MAX_BODY_CHARS = 1600  # Twilio refuses longer bodies (error 21617)
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
UNSUBSCRIBED_RECIPIENT = "21610"

# Provider error codes a supervisor meets most, in words they can act on.
KNOWN_ERRORS = {
    "20003": "the SMS provider refused our credentials (check --sms-account and HELPLINE_SMS_AUTH_TOKEN)",
    "21211": "the number is not a valid phone number",
    "21408": "the SMS account may not send to this region",
    "21606": "the sending number cannot send SMS (check --sms-from)",
    "21608": "a trial account can only send to verified numbers",
    "21610": "the recipient has unsubscribed (replied STOP)",
    "21612": "the provider cannot route to this number",
    "21614": "the number is not a mobile number",
    "21617": "the message is too long",
}


@dataclass(frozen=True)
class TwilioAccount:
    api_url: str  # e.g. https://api.twilio.com
    account_sid: str
    auth_token: str
    from_number: str

    @property
    def messages_url(self) -> str:
        return f"{self.api_url.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def __repr__(self) -> str:  # the token never reaches a log or a traceback
        return f"TwilioAccount(api_url={self.api_url!r}, account_sid={self.account_sid!r})"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_wait: float = 1.0  # doubled after each retry without Retry-After
    max_wait: float = 30.0  # cap on Retry-After: a reply held for minutes is worse than a failure recorded


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff is used instead


def _provider_error(response: httpx.Response) -> tuple[str | None, str]:
    """(code, words) from Twilio's error body {code, message, more_info, status}."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    code = str(body.get("code")) if isinstance(body, dict) and body.get("code") is not None else None
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    words = KNOWN_ERRORS.get(code or "") or message[:300] or f"HTTP {response.status_code}"
    return code, words


class TwilioSender:
    """One message per `send`; an `httpx.AsyncClient` per send, so it works from any event loop (the one-time
    code sender runs it from a worker thread's own loop)."""

    channel = OutboundChannel.SMS

    def __init__(self, account: TwilioAccount, retry: RetryPolicy | None = None, timeout: float = 10.0,
                 status_callback: str | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.account = account
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.status_callback = status_callback
        self._sleep = sleep
        self._transport = transport

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        if message.channel is not OutboundChannel.SMS:
            return DeliveryResult(False, error="not an SMS message", permanent=True)
        if not message.text.strip():
            return DeliveryResult(False, error="the message is empty", permanent=True)
        if len(message.text) > MAX_BODY_CHARS:
            return DeliveryResult(False, error=KNOWN_ERRORS["21617"], permanent=True)
        form = {"To": message.to, "From": self.account.from_number, "Body": message.text}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        wait = self.retry.first_wait
        last_error = "not sent"
        async with httpx.AsyncClient(timeout=self.timeout, transport=self._transport,
                                     auth=(self.account.account_sid, self.account.auth_token)) as client:
            for attempt in range(1, self.retry.attempts + 1):
                retry_after: float | None = None
                try:
                    response = await client.post(self.account.messages_url, data=form)
                except httpx.HTTPError as exc:
                    last_error = f"the SMS provider could not be reached ({type(exc).__name__})"
                else:
                    if response.status_code in (200, 201):
                        return self._accepted(response)
                    code, words = _provider_error(response)
                    if response.status_code not in RETRYABLE_STATUSES:
                        log.warning("SMS to %s refused: %s %s", mask(message.to, "phone"), code, words)
                        return DeliveryResult(False, error=f"{code}: {words}" if code else words, permanent=True)
                    last_error = f"{code}: {words}" if code else words
                    retry_after = _retry_after(response)
                if attempt == self.retry.attempts:
                    break
                await self._sleep(min(self.retry.max_wait, retry_after if retry_after is not None else wait))
                wait *= 2
        log.warning("SMS to %s not sent after %d attempts: %s", mask(message.to, "phone"), self.retry.attempts,
                    last_error)
        return DeliveryResult(False, error=last_error, permanent=False)

    @staticmethod
    def _accepted(response: httpx.Response) -> DeliveryResult:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        sid = str(body.get("sid")) if isinstance(body, dict) and body.get("sid") else None
        return DeliveryResult(True, provider_id=sid)


def error_code(result: DeliveryResult) -> str | None:
    """The provider's error code at the start of a result's error ("21610: ..."), if any."""
    head = (result.error or "").split(":", 1)[0]
    return head if head.isdigit() else None
