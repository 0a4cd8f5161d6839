"""Failed signatures per address on the SMS webhooks, with several nodes: the shared counter (Redis) is asked
only when a signature is missing or wrong, never for a signed request; a sender that keeps failing is still
held off (429) on every node it fails on, as for wrong API keys (tests/api/test_auth_failures.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from helpline.api.app import create_app
from helpline.api.auth import AUTH_FAILURES_PER_ADDRESS
from helpline.api.limits import SlidingWindow
from helpline.channels.sms.settings import SmsSettings
from helpline.channels.sms.setup import install_sms
from helpline.channels.sms.signature import twilio_signature
from helpline.channels.sms.twilio import TwilioAccount
from helpline.outbound.ports import DeliveryResult, OutboundChannel, OutboundMessage
from helpline.runtime import Runtime
from helpline.store.models import Conversation
from tests.api.counting import CountingCounter
from tests.channels.sms.conftest import CUSTOMER, NOW, OUR_NUMBER
from tests.conftest import RuntimeFactory

AUTH_TOKEN = "node-test-auth-token"
BASE = "http://testserver"
INBOUND = "/api/v1/sms/twilio"
STATUS = "/api/v1/sms/twilio/status"


class AcceptingProvider:
    """Takes every reply as sent (the provider is not what these tests are about)."""

    channel = OutboundChannel.SMS

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        self.sent.append(message)
        return DeliveryResult(True, provider_id=f"SM{len(self.sent):032d}")


def _node(runtime: Runtime, counter: CountingCounter) -> TestClient:
    app = create_app(runtime, sweep_every_seconds=None)
    app.state.api_auth_failures = counter  # what failed_auth_limiter would build over Redis, shared by the nodes
    install_sms(app, runtime, SmsSettings(TwilioAccount("http://127.0.0.1:9", "AC" + "0" * 32, AUTH_TOKEN,
                                                        OUR_NUMBER)), provider=AcceptingProvider())
    return TestClient(app, base_url=BASE, raise_server_exceptions=False)


def _send(node: TestClient, path: str, form: Mapping[str, str], signature: str | None = "sign") -> Response:
    """POST ``form`` signed as Twilio would, or with the given wrong signature, or with none."""
    headers = {}
    if signature == "sign":
        signature = twilio_signature(AUTH_TOKEN, f"{BASE}{path}", form.items())
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return node.post(path, data=dict(form), headers=headers)


def _post(node: TestClient, path: str, form: Mapping[str, str], signature: str | None = "sign") -> int:
    return _send(node, path, form, signature).status_code


def _text(body: str, sid: str) -> dict[str, str]:
    return {"MessageSid": sid, "From": CUSTOMER, "To": OUR_NUMBER, "Body": body, "NumMedia": "0"}


def _conversations(runtime: Runtime) -> int:
    with runtime.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(Conversation)) or 0


@pytest.fixture
def shared() -> CountingCounter:
    return CountingCounter(SlidingWindow(AUTH_FAILURES_PER_ADDRESS, 60.0))


@pytest.fixture
def runtime(make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime(NOW)


@pytest.fixture
def two_nodes(runtime: Runtime, shared: CountingCounter) -> Iterator[tuple[TestClient, TestClient]]:
    with _node(runtime, shared) as a, _node(runtime, shared) as b:
        yield a, b


def test_signed_webhooks_cost_no_round_trip(two_nodes: tuple[TestClient, TestClient],
                                            shared: CountingCounter) -> None:
    node_a, node_b = two_nodes
    for number, body in enumerate(("How long does shipping take?", "And to Canada?", "thanks")):
        assert _post(node_a, INBOUND, _text(body, f"SM{number:032d}")) == 200
    for number in range(12):
        status = {"MessageSid": f"SM{number:032d}", "MessageStatus": "delivered"}
        assert _post(node_a if number % 2 else node_b, STATUS, status) == 204
    assert shared.calls == []
    assert _post(node_b, STATUS, {"MessageSid": "SM" + "9" * 32, "MessageStatus": "sent"}, signature="AAAA") == 403
    assert shared.calls  # a failure is counted where every node sees it


def test_a_sender_that_keeps_failing_is_held_off_on_every_node(two_nodes: tuple[TestClient, TestClient],
                                                              runtime: Runtime) -> None:
    node_a, node_b = two_nodes
    form = _text("Where is my order?", "SM" + "d" * 32)
    failures = [_post(node_a, INBOUND, form, signature=None if attempt % 2 else "AAAA")
                for attempt in range(AUTH_FAILURES_PER_ADDRESS)]
    assert set(failures) == {401, 403}
    assert _post(node_a, INBOUND, form) == 429  # signed or not, this node remembers
    # the other node has not seen it fail: its next failure is refused by the shared count, and from then on
    # a signed request from there waits too
    assert _post(node_b, INBOUND, form, signature="AAAA") == 429
    held = _send(node_b, STATUS, {"MessageSid": "SM" + "e" * 32, "MessageStatus": "sent"})
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    assert held.json()["error"]["code"] == "too_many_requests"
    assert _post(node_b, INBOUND, form) == 429
    assert _conversations(runtime) == 0
