"""The SIP user agent: answers and places calls over UDP, one `PhoneCall` per call.

Why our own asyncio stack rather than pjsua2 (the issue allowed either). With pjsua2, media and
signalling run on pjsip's C threads and call into Python through SWIG callbacks; the audio reaches us
through an `AudioMediaPort` fed by its conference bridge and sound-device clock. We would have to marshal
every 20 ms frame from a C thread into the event loop, keep pjlib's thread registration and object lifetimes
right (a Python object collected while C still holds it crashes the process), and we would inherit its
port and binding policy, its global endpoint (one per process, hard to run two in a test) and a 10 MB
binary wheel. Our pipeline is asyncio and wants plain PCM frames; G.711 is a table lookup and a phone
call needs a small, well-specified subset of SIP. So signalling and RTP here are plain asyncio datagram
endpoints on the server's own loop: call audio is `AudioIn` frames with no thread hop, we bind exactly the
host/ports configured, many user agents can live in one test process, and everything is inspectable.
The price is that we implement (and test against real peers: sipp, baresip) the subset ourselves: UDP
only, RFC 3261 transactions and dialogs, digest auth, offer/answer with G.711 and RFC 4733, hold,
CANCEL, REFER. Not done: TCP/TLS, SRTP, ICE, PRACK/100rel, session timers, forked 2xx beyond the first.

Timers follow RFC 3261 17 (T1 = 500 ms): requests are retransmitted until answered, our 2xx to an
INVITE is retransmitted until its ACK (13.3.1.4) and a retransmitted request is answered from its
transaction without reaching the call logic again.

Where things are, by duty: `transactions.py` (the RFC 3261 transaction layer), `endpoint.py` (the shared core:
socket, dialogs, building and routing requests, hanging up), `inbound.py` (calls received), `outbound.py` (calls
placed, CANCEL, REFER), `registration.py`, `phonecall.py` (one call: dialog and RTP audio) and `bridging.py` (two
calls relayed). This module puts them together: `SipUserAgent` receives every datagram and dispatches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from helpline.channels.phone.bridging import bridge, relay_frame
from helpline.channels.phone.endpoint import ALLOW, KNOWN_METHODS, CallHandler, SipEndpoint
from helpline.channels.phone.inbound import InboundCalls
from helpline.channels.phone.outbound import OutboundCalls
from helpline.channels.phone.phonecall import CallFailed, PhoneCall, TransferFailed
from helpline.channels.phone.registration import Registration
from helpline.channels.phone.sip import (
    SipParseError,
    SipRequest,
    SipResponse,
    new_tag,
    parse_message,
    response_to,
)
from helpline.channels.phone.transactions import _ServerTransaction, _transaction_key

__all__ = ["ALLOW", "KNOWN_METHODS", "CallFailed", "CallHandler", "PhoneCall", "SipEndpoint", "SipUserAgent",
           "TransferFailed", "bridge", "relay_frame"]

log = logging.getLogger(__name__)


class _SipProtocol(asyncio.DatagramProtocol):
    def __init__(self, ua: SipUserAgent) -> None:
        self.ua = ua

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            self.ua._datagram(data, (str(addr[0]), int(addr[1])))
        except Exception:
            log.exception("SIP message from %s", addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP socket error: %s", exc)


class SipUserAgent(InboundCalls, OutboundCalls, Registration):
    """Answers INVITEs (handing each call to `on_call`, which runs for the call's life) and places calls.

    `async with SipUserAgent(config, on_call) as ua:` or `await ua.start()` … `await ua.stop()`.
    """

    async def __aenter__(self) -> SipUserAgent:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- lifecycle ---

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _SipProtocol(self),
                                                           local_addr=(self.config.host, self.config.port))
        self._transport = transport
        sockname = transport.get_extra_info("sockname")
        self._bound = (str(sockname[0]), int(sockname[1]))
        self._stopping = False
        self._registered_event = asyncio.Event()
        if self.config.registrar is not None:
            self._registration_task = asyncio.create_task(self._register_loop(self.config.registrar),
                                                          name="sip:register")
        log.info("SIP listening on %s:%d (RTP %d-%d)", *self._bound, *self.config.rtp_ports)

    async def stop(self) -> None:
        """Hang up every call, unregister, release every port."""
        if self._transport is None:
            return
        self._stopping = True
        for call in list(self._early.values()):
            self._reject_early(call, 503)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3.0):
                await asyncio.gather(*(self._hang_up(call, "stopped") for call in list(self.calls)),
                                     return_exceptions=True)
        if self._registration_task is not None:
            self._registration_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._registration_task
            self._registration_task = None
            if self.registered and self.config.registrar is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._register(self.config.registrar, expires=0), 2.0)
        if self._handlers:
            _, pending = await asyncio.wait(self._handlers, timeout=2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)
        for call in list(self.calls):
            await call.rtp.close()
        self.calls.clear()
        self._transport.close()
        self._transport = None

    async def wait_registered(self, timeout: float = 10.0) -> None:
        assert self._registered_event is not None, "start() first"
        async with asyncio.timeout(timeout):
            await self._registered_event.wait()

    # --- receiving ---

    def _datagram(self, data: bytes, source: tuple[str, int]) -> None:
        if not data.strip():
            return  # CRLF keep-alive (RFC 5626)
        try:
            message = parse_message(data)
        except SipParseError as error:
            log.debug("unparsable SIP from %s:%d: %s", *source, error)
            return
        try:
            if isinstance(message, SipResponse):
                self._on_response(message)
            else:
                self._on_request(message, source)
        except SipParseError as error:
            log.debug("bad SIP from %s:%d: %s", *source, error)
            if isinstance(message, SipRequest) and message.method != "ACK":
                with contextlib.suppress(Exception):
                    self._send(response_to(message, 400, str(error)[:80]).serialize(), source)

    def _on_response(self, response: SipResponse) -> None:
        _, method = response.cseq
        transaction = self._client_transactions.get(_transaction_key(response, method))
        if transaction is not None:
            transaction.on_response(response)
        elif method == "INVITE" and 200 <= response.status < 300:
            self._reacknowledge(response)  # a 2xx retransmitted after its transaction ended

    def _on_request(self, request: SipRequest, source: tuple[str, int]) -> None:
        method = request.method
        if not self._allowed_source(source[0]):
            if method != "ACK":
                log.info("refused %s from %s (not in allow_from)", method, source[0])
                self._send(response_to(request, 403, to_tag=new_tag()).serialize(), source)
            return
        if method == "ACK":
            self._on_ack(request)
            return
        key = _transaction_key(request, method)
        existing = self._server_transactions.get(key)
        if existing is not None:
            existing.retransmission()
            return
        transaction = _ServerTransaction(self, request, source)
        self._server_transactions[key] = transaction
        to_tag = request.to.tag
        if method == "CANCEL":
            self._on_cancel(request, transaction)
        elif method == "OPTIONS":
            transaction.respond(response_to(request, 200, to_tag=new_tag(), headers=[
                *self._common_headers(), ("Accept", "application/sdp"), ("Contact", self._contact(source[0]))]))
        elif method == "INVITE" and not to_tag:
            self._on_new_invite(request, source, transaction)
        elif method in ("INVITE", "BYE", "NOTIFY", "INFO"):
            call = self._dialogs.get((request.call_id, to_tag, request.from_.tag))
            if call is None or (call.ended and method != "BYE"):
                transaction.respond(response_to(request, 481))
            elif method == "INVITE":
                self._on_reinvite(call, request, transaction)
            elif method == "BYE":
                self._on_bye(call, transaction)
            elif method == "NOTIFY":
                self._on_notify(call, request, transaction)
            else:
                self._on_info(call, request, transaction)
        elif method in KNOWN_METHODS:
            transaction.respond(response_to(request, 405, to_tag=new_tag(), headers=self._common_headers()))
        else:
            transaction.respond(response_to(request, 501, to_tag=new_tag(), headers=self._common_headers()))
