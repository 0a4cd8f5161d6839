"""An SMS-enabled Helpline served by uvicorn on loopback, talking to the Twilio double over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn

from helpline.api.app import create_app
from helpline.channels.sms.service import SmsChannel
from helpline.channels.sms.settings import SmsSettings
from helpline.channels.sms.setup import install_sms
from helpline.channels.sms.signature import twilio_signature
from helpline.channels.sms.twilio import RetryPolicy, TwilioAccount, TwilioSender
from helpline.runtime import Runtime
from tests.conftest import RuntimeFactory
from tests.sms_double import TwilioDouble

OUR_NUMBER = "+15125550100"
CUSTOMER = "+15125550147"
NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


@pytest.fixture()
def twilio() -> Iterator[TwilioDouble]:
    with TwilioDouble() as double:
        yield double


@dataclass(repr=False)
class SmsServer:
    url: str
    runtime: Runtime
    channel: SmsChannel
    settings: SmsSettings
    double: TwilioDouble

    @property
    def webhook(self) -> str:
        return f"{self.url}/api/v1/sms/twilio"

    def post(self, form: Mapping[str, str], signature: str | None = "sign", url: str | None = None,
             token: str | None = None) -> httpx.Response:
        """POST a form to the inbound webhook, signed as Twilio would (or with the given bad signature)."""
        target = url or self.webhook
        headers = {}
        if signature == "sign":
            signature = twilio_signature(token or self.double.auth_token, target, form.items())
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return httpx.post(target, data=dict(form), headers=headers, timeout=60)

    def text(self, body: str, sender: str = CUSTOMER) -> httpx.Response:
        return self.post({"MessageSid": "SM" + "a" * 32, "AccountSid": self.double.account_sid, "From": sender,
                          "To": OUR_NUMBER, "Body": body, "NumMedia": "0"})


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture()
def sms_server(make_runtime: RuntimeFactory, twilio: TwilioDouble) -> Iterator[SmsServer]:
    runtime = make_runtime(NOW)
    sock = _free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = SmsSettings(TwilioAccount(twilio.url, twilio.account_sid, twilio.auth_token, OUR_NUMBER),
                           public_url=url)
    app = create_app(runtime, sweep_every_seconds=None)
    # Quick retries: the policy is the production one's shape, with the waits of a test.
    sender = TwilioSender(settings.account, RetryPolicy(attempts=3, first_wait=0.05, max_wait=1.0),
                          status_callback=f"{url}/api/v1/sms/twilio/status")
    channel = install_sms(app, runtime, settings, provider=sender)
    assert channel is not None
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield SmsServer(url, runtime, channel, settings, twilio)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


Waiter = Callable[[Callable[[], bool]], bool]


def eventually(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
