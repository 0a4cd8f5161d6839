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
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any

from helpline.channels.phone.config import RegistrarConfig, SipConfig
from helpline.channels.phone.dtmf import EVENT_KEYS, dtmf_tone
from helpline.channels.phone.rtp import NoRtpPort, RtpPortRange, RtpSession, RtpStats
from helpline.channels.phone.sdp import (
    LocalSdp,
    Negotiated,
    SdpError,
    SessionDescription,
    accept_answer,
    negotiate,
)
from helpline.channels.phone.sip import (
    BRANCH_COOKIE,
    Credentials,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    digest_authorization,
    new_branch,
    new_call_id,
    new_tag,
    parse_challenge,
    parse_message,
    response_to,
)
from helpline.voice.frames import AudioIn, KeypadDigit

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY, INFO"
KNOWN_METHODS = frozenset({"REGISTER", "SUBSCRIBE", "PUBLISH", "MESSAGE", "PRACK", "UPDATE", "REFER"})


class CallFailed(Exception):
    """An outbound call did not connect. `reason`: busy | no-answer | rejected | timeout | error."""

    def __init__(self, reason: str, status: int = 0, detail: str = "") -> None:
        super().__init__(f"call failed: {reason}" + (f" ({status} {detail})" if status else f" ({detail})"
                                                      if detail else ""))
        self.reason = reason
        self.status = status
        self.detail = detail


class TransferFailed(Exception):
    """A REFER was refused, or the transfer target did not answer (`status` is the final SIP status)."""

    def __init__(self, status: int, detail: str = "") -> None:
        super().__init__(f"transfer failed: {status} {detail}".strip())
        self.status = status
        self.detail = detail


def _failure_reason(status: int) -> str:
    if status in (486, 600):
        return "busy"
    if status in (408, 480, 487):
        return "no-answer"
    return "rejected"


# --- transactions ---------------------------------------------------------------------------------


def _transaction_key(message: SipRequest | SipResponse, method: str) -> tuple[str, ...]:
    branch = message.top_via.branch
    if branch.startswith(BRANCH_COOKIE):
        return (branch, method)
    # RFC 2543 peers: no unique branch, so match on what identifies the request (RFC 3261 17.2.3)
    return (message.call_id, message.from_.tag, str(message.cseq[0]), method)


class _ServerTransaction:
    def __init__(self, ua: SipUserAgent, request: SipRequest, source: tuple[str, int]) -> None:
        self.ua = ua
        self.request = request
        self.source = source
        self.method = request.method
        self.key = _transaction_key(request, request.method)
        self.last: bytes | None = None
        self.final_status = 0
        self.acked = asyncio.Event()

    def respond(self, response: SipResponse) -> None:
        if self.final_status:
            return  # one final response per transaction
        data = response.serialize()
        self.last = data
        self.ua._send(data, self.source)
        if response.status < 200:
            return
        self.final_status = response.status
        if self.method == "INVITE" and response.status >= 300:
            self.ua._spawn(self._retransmit_until_ack(data), "sip:timer-g")
        else:
            # Kept to answer retransmitted requests from `last` (Timer J; for 2xx, RFC 6026's Accepted state).
            self.ua._spawn(self._linger(), "sip:timer-j")

    def retransmission(self) -> None:
        if self.last is not None:
            self.ua._send(self.last, self.source)

    async def _retransmit_until_ack(self, data: bytes) -> None:
        t1, t2 = self.ua.config.t1, self.ua.config.t2
        interval, waited = t1, 0.0
        try:
            while waited < 64 * t1:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.acked.wait(), min(interval, 64 * t1 - waited))
                if self.acked.is_set():
                    await asyncio.sleep(5.0 if t1 >= 0.5 else 10 * t1)  # Timer I: absorb ACK retransmissions
                    return
                waited += interval
                interval = min(interval * 2, t2)
                self.ua._send(data, self.source)
        finally:
            self.ua._server_transactions.pop(self.key, None)

    async def _linger(self) -> None:
        try:
            await asyncio.sleep(64 * self.ua.config.t1)
        finally:
            self.ua._server_transactions.pop(self.key, None)


class _ClientTransaction:
    def __init__(self, ua: SipUserAgent, request: SipRequest, address: tuple[str, int]) -> None:
        self.ua = ua
        self.request = request
        self.address = address
        self.invite = request.method == "INVITE"
        self.key = _transaction_key(request, request.method)
        self.data = request.serialize()
        self.responses: asyncio.Queue[SipResponse | None] = asyncio.Queue()
        self.provisional: SipResponse | None = None
        self.final: SipResponse | None = None
        self._answered = asyncio.Event()  # any response: stops INVITE retransmission
        self._done = asyncio.Event()  # the final response came
        self._ack: bytes | None = None

    def start(self) -> None:
        self.ua._client_transactions[self.key] = self
        self.ua._send(self.data, self.address)
        self.ua._spawn(self._retransmit(), f"sip:{self.request.method.lower()}-tx")

    async def _retransmit(self) -> None:
        loop = asyncio.get_running_loop()
        t1, t2 = self.ua.config.t1, self.ua.config.t2
        interval = t1
        deadline = loop.time() + 64 * t1  # Timer B (INVITE) / F (others)
        try:
            while self.final is None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._done.wait(), min(interval, remaining))
                if self.final is not None:
                    break
                if self.invite and self._answered.is_set():
                    # Proceeding: the callee rings and only the final response is left. The caller CANCELs when
                    # it stops waiting; the cap (RFC 3261's Timer C) frees us from a peer that died meanwhile.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._done.wait(), 180.0)
                    break
                if loop.time() >= deadline:
                    break
                self.ua._send(self.data, self.address)  # Timer A / E
                interval = interval * 2 if self.invite else min(interval * 2, t2)
                if self.provisional is not None:
                    interval = t2  # a non-INVITE with a provisional: keep going at T2
            if self.final is None:
                self.responses.put_nowait(None)  # timed out: the TU sees it as a 408
            elif self.invite:
                await asyncio.sleep(64 * t1)  # absorb retransmitted final responses (Timer D, RFC 6026)
        finally:
            self.ua._client_transactions.pop(self.key, None)

    def on_response(self, response: SipResponse) -> None:
        self._answered.set()
        if response.status < 200:
            if self.final is None:
                self.provisional = response
                self.responses.put_nowait(response)
            return
        if self.final is not None:  # a retransmitted final response
            if self.invite and response.status >= 300 and self._ack is not None:
                self.ua._send(self._ack, self.address)
            elif self.invite:
                self.ua._reacknowledge(response)
            return
        self.final = response
        if self.invite and response.status >= 300:
            self._ack = self._ack_for(response).serialize()
            self.ua._send(self._ack, self.address)
        self._done.set()
        self.responses.put_nowait(response)

    def _ack_for(self, response: SipResponse) -> SipRequest:
        """The ACK of a non-2xx final response: part of the INVITE transaction (RFC 3261 17.1.1.3)."""
        ack = SipRequest(method="ACK", uri=self.request.uri)
        ack.headers.add("Via", self.request.headers.values("Via")[0])
        ack.headers.add("Max-Forwards", "70")
        for route in self.request.headers.lines("Route"):
            ack.headers.add("Route", route)
        ack.headers.add("From", self.request.headers.get("From"))
        ack.headers.add("To", response.headers.get("To"))
        ack.headers.add("Call-ID", self.request.call_id)
        ack.headers.add("CSeq", f"{self.request.cseq[0]} ACK")
        return ack

    async def final_response(self, timeout: float | None = None) -> SipResponse | None:
        """The final response, or None when the transaction timed out."""
        async with asyncio.timeout(timeout):
            while True:
                response = await self.responses.get()
                if response is None or response.status >= 200:
                    return response


# --- calls ----------------------------------------------------------------------------------------


class PhoneCall:
    """One call: its SIP dialog and its RTP audio. Implements `helpline.voice.ports.CallMedia`.

    Only one reader may iterate `receive()` at a time: to bridge a call, stop its pipeline first.
    """

    sample_rate = 8000

    def __init__(self, ua: SipUserAgent, *, direction: str, call_id: str, local: NameAddr, remote: NameAddr,
                 rtp: RtpSession) -> None:
        self._ua = ua
        self.direction = direction  # inbound | outbound
        self.call_id = call_id
        self.local = local  # our From (outbound) / To (inbound), with our tag
        self.remote = remote
        self.rtp = rtp
        if direction == "inbound":
            self.caller, self.callee = str(remote.uri), str(local.uri)
        else:
            self.caller, self.callee = str(local.uri), str(remote.uri)
        self.caller_name = remote.display if direction == "inbound" else local.display
        self.state = "early"  # early | confirmed | ended
        self.end_reason = ""  # hangup (the other side), local, cancelled, no-ack, media-timeout, stopped
        self.started_at = time.monotonic()
        self.answered_at: float | None = None
        self.negotiated: Negotiated | None = None
        self.local_sdp: LocalSdp | None = None
        self.remote_target: SipUri = remote.uri
        self.route_set: list[str] = []
        self.signalling_address: tuple[str, int] | None = None  # where the dialog's requests came from
        self.local_cseq = 0
        self.remote_cseq = 0
        self._acked_cseq = 0
        self._ack_event = asyncio.Event()
        self._ack: tuple[bytes, tuple[str, int]] | None = None  # our ACK to their 2xx, resent on retransmissions
        self._awaiting_answer_in_ack = False
        self._ended = asyncio.Event()
        self._notifications: asyncio.Queue[tuple[int, str, bool]] = asyncio.Queue()

    def __repr__(self) -> str:
        return f"<PhoneCall {self.direction} {self.call_id} {self.caller} -> {self.callee} {self.state}>"

    # --- CallMedia ---

    def receive(self) -> AsyncIterator[AudioIn | KeypadDigit]:
        return self.rtp.frames()

    async def play(self, pcm: bytes) -> None:
        self.rtp.play(pcm)

    def clear(self) -> None:
        self.rtp.clear()

    def queued_seconds(self) -> float:
        return self.rtp.queued_seconds()

    async def hang_up(self) -> None:
        await self._ua._hang_up(self)

    @property
    def ended(self) -> bool:
        return self.state == "ended"

    # --- more than CallMedia ---

    @property
    def local_tag(self) -> str:
        return self.local.tag

    @property
    def remote_tag(self) -> str:
        return self.remote.tag

    @property
    def held(self) -> bool:
        """The other side holds the call (sendonly/inactive/c=0.0.0.0): we send no audio meanwhile."""
        return self.negotiated is not None and not self.negotiated.sending

    @property
    def codec(self) -> str:
        return self.negotiated.codec if self.negotiated else ""

    @property
    def stats(self) -> RtpStats:
        return self.rtp.stats

    @property
    def caller_number(self) -> str:
        """The user part of the caller's URI (the number a PBX or trunk puts there)."""
        uri = self.remote.uri if self.direction == "inbound" else self.local.uri
        return uri.user

    async def wait_played(self) -> None:
        """Until every queued sample has been sent (or dropped by `clear()`)."""
        await self.rtp.wait_played()

    async def wait_ended(self, timeout: float | None = None) -> None:
        async with asyncio.timeout(timeout):
            await self._ended.wait()

    def send_digits(self, digits: str, duration_ms: int = 120) -> None:
        """Press keys: RFC 4733 events when negotiated, else the tones themselves in the audio."""
        for digit in digits:
            if self.rtp.dtmf_payload_type is not None:
                self.rtp.send_digit(digit, duration_ms)
            else:
                self.rtp.play(dtmf_tone(digit, duration_ms) + b"\x00\x00" * 8 * 60)

    async def refer(self, target: str, timeout: float = 30.0) -> None:
        """Cold transfer (RFC 3515): ask the other side to call `target`; returns once the target answered,
        then ends our leg. Raises TransferFailed if the REFER is refused or the target does not answer."""
        await self._ua._refer(self, target, timeout)

    # --- internal ---

    def _mark_ended(self, reason: str) -> bool:
        if self.state == "ended":
            return False
        self.state = "ended"
        self.end_reason = reason
        self._ended.set()
        return True


# --- the user agent -------------------------------------------------------------------------------


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


CallHandler = Callable[[PhoneCall], Awaitable[None]]


class SipUserAgent:
    """Answers INVITEs (handing each call to `on_call`, which runs for the call's life) and places calls.

    `async with SipUserAgent(config, on_call) as ua:` or `await ua.start()` … `await ua.stop()`.
    """

    def __init__(self, config: SipConfig, on_call: CallHandler | None = None) -> None:
        self.config = config
        self.on_call = on_call
        self.ports = RtpPortRange(*config.rtp_ports)
        self.calls: list[PhoneCall] = []
        self.registered = False
        self.registration_error = ""
        self._transport: asyncio.DatagramTransport | None = None
        self._bound: tuple[str, int] = (config.host, config.port)
        self._server_transactions: dict[tuple[str, ...], _ServerTransaction] = {}
        self._client_transactions: dict[tuple[str, ...], _ClientTransaction] = {}
        self._dialogs: dict[tuple[str, str, str], PhoneCall] = {}
        self._early: dict[tuple[str, ...], PhoneCall] = {}  # inbound INVITEs not answered yet, by transaction
        self._tasks: set[asyncio.Task[Any]] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._registration_task: asyncio.Task[None] | None = None
        self._registered_event: asyncio.Event | None = None
        self._stopping = False
        self._resolved: dict[str, str] = {}
        self._register_call_id = ""
        self._allowed = [ipaddress.ip_network(network, strict=False) for network in config.allow_from]
        self._register_tag = new_tag()
        self._register_cseq = 0

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

    @property
    def address(self) -> tuple[str, int]:
        """Where we listen (the bound host and port; the port is the real one when configured as 0)."""
        return self._bound

    @property
    def uri(self) -> str:
        return f"sip:{self.config.user}@{self._contact_host()}:{self._contact_port()}"

    async def wait_registered(self, timeout: float = 10.0) -> None:
        assert self._registered_event is not None, "start() first"
        async with asyncio.timeout(timeout):
            await self._registered_event.wait()

    # --- plumbing ---

    def _spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _send(self, data: bytes, address: tuple[str, int]) -> None:
        if self._transport is not None:
            host = self._resolved.get(address[0], address[0])
            self._transport.sendto(data, (host, address[1]))

    async def _resolve(self, host: str) -> str:
        host = host.strip("[]")
        try:
            ipaddress.ip_address(host)
            return host
        except ValueError:
            pass
        if host not in self._resolved:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, family=socket.AF_INET,
                                                                 type=socket.SOCK_DGRAM)
            self._resolved[host] = str(infos[0][4][0])
        return self._resolved[host]

    def _contact_host(self, peer: str | None = None) -> str:
        if self.config.public_host:
            return self.config.public_host
        return _usable_host(self._bound[0], peer)

    def _contact_port(self) -> int:
        return self.config.public_port or self._bound[1]

    def _media_host(self, peer: str | None = None) -> str:
        return self.config.public_host or _usable_host(self.config.rtp_bind_host, peer)

    def _contact(self, peer: str | None = None) -> str:
        return f"<sip:{self.config.user}@{self._contact_host(peer)}:{self._contact_port()}>"

    def _common_headers(self) -> list[tuple[str, str]]:
        return [("Allow", ALLOW), ("User-Agent", self.config.user_agent)]

    def _new_request(self, method: str, uri: str, *, from_: NameAddr, to: NameAddr, call_id: str, cseq: int,
                     route: Sequence[str] = (), peer: str | None = None, contact: bool = True,
                     headers: Iterable[tuple[str, str]] = (), body: bytes = b"",
                     content_type: str = "application/sdp") -> SipRequest:
        request = SipRequest(method=method, uri=uri)
        h = request.headers
        h.add("Via", f"SIP/2.0/UDP {self._contact_host(peer)}:{self._contact_port()};branch={new_branch()};rport")
        h.add("Max-Forwards", "70")
        for value in route:
            h.add("Route", value)
        h.add("From", str(from_))
        h.add("To", str(to))
        h.add("Call-ID", call_id)
        h.add("CSeq", f"{cseq} {method}")
        if contact:
            h.add("Contact", self._contact(peer))
        if method not in ("ACK", "CANCEL"):
            for name, value in self._common_headers():
                h.add(name, value)
        for name, value in headers:
            h.add(name, value)
        if body:
            h.add("Content-Type", content_type)
            request.body = body
        return request

    def _request_transaction(self, request: SipRequest, address: tuple[str, int]) -> _ClientTransaction:
        transaction = _ClientTransaction(self, request, address)
        transaction.start()
        return transaction

    async def _next_hop(self, uri: SipUri, route: Sequence[str] = ()) -> tuple[str, int]:
        if route:
            uri = NameAddr.parse(route[0]).uri
        elif self.config.registrar is not None and self._in_registrar_domain(uri):
            # calls into the PBX's domain go through the PBX (it is our outbound proxy)
            host, port = self.config.registrar.server_address
            return await self._resolve(host), port
        host, port = uri.address()
        return await self._resolve(host), port

    def _in_registrar_domain(self, uri: SipUri) -> bool:
        registrar = self.config.registrar
        if registrar is None or uri.host.lower() != registrar.aor_domain.lower():
            return False
        return uri.port is None or (registrar.domain == "" and uri.port == registrar.server_address[1])

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

    def _reacknowledge(self, response: SipResponse) -> None:
        call = self._dialogs.get((response.call_id, response.from_.tag, response.to.tag))
        if call is not None and call._ack is not None:
            self._send(*call._ack)

    def _allowed_source(self, host: str) -> bool:
        if not self._allowed:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._allowed)

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

    # --- inbound calls ---

    def _on_new_invite(self, request: SipRequest, source: tuple[str, int], transaction: _ServerTransaction) -> None:
        inbound = sum(1 for call in self.calls if call.direction == "inbound") + len(self._early)
        if self._stopping or self.on_call is None:
            transaction.respond(response_to(request, 503, to_tag=new_tag()))
            return
        if inbound >= self.config.max_calls:
            status = self.config.busy_status
            extra = [("Retry-After", "30")] if status == 503 else []
            transaction.respond(response_to(request, status, to_tag=new_tag(), headers=extra))
            return
        transaction.respond(response_to(request, 100))
        negotiated: Negotiated | None = None
        if request.body:
            try:
                negotiated = negotiate(SessionDescription.parse(request.body), self.config.codecs)
            except SdpError as error:
                transaction.respond(response_to(request, 488, to_tag=new_tag(),
                                                headers=[("Warning", f'305 helpline "{error}"')]))
                return
        contact = request.contact
        call = PhoneCall(self, direction="inbound", call_id=request.call_id, local=request.to.with_tag(new_tag()),
                         remote=request.from_, rtp=self._new_rtp())
        call.remote_target = contact.uri if contact else SipUri(source[0], port=source[1])
        call.route_set = request.headers.values("Record-Route")
        call.remote_cseq = request.cseq[0]
        call.signalling_address = source
        self._early[transaction.key] = call
        self._spawn(self._answer(call, request, transaction, negotiated), "sip:answer")

    def _new_rtp(self) -> RtpSession:
        return RtpSession(self.ports, self.config.rtp_bind_host, jitter_ms=self.config.jitter_ms)

    async def _answer(self, call: PhoneCall, request: SipRequest, transaction: _ServerTransaction,
                      negotiated: Negotiated | None) -> None:
        try:
            await call.rtp.open()
        except NoRtpPort:
            log.warning("no free RTP port: refusing a call")
            self._early.pop(transaction.key, None)
            transaction.respond(response_to(request, 503, to_tag=call.local_tag, headers=[("Retry-After", "10")]))
            return
        source = transaction.source
        if self.config.ring_seconds > 0 and not transaction.final_status:
            transaction.respond(response_to(request, 180, to_tag=call.local_tag,
                                            headers=[("Contact", self._contact(source[0]))]))
            with contextlib.suppress(TimeoutError):  # a CANCEL ends the ringing at once
                await asyncio.wait_for(call._ended.wait(), self.config.ring_seconds)
        self._early.pop(transaction.key, None)
        if transaction.final_status or call.ended:  # cancelled (487 sent) or refused while ringing
            await call.rtp.close()
            return
        call.local_sdp = LocalSdp(self._media_host(source[0]), call.rtp.port, user=self.config.user)
        if negotiated is not None:
            body = call.local_sdp.answer(negotiated)
            call.negotiated = negotiated
            call.rtp.configure(negotiated)
        else:  # no offer in the INVITE: we offer in the 200, the answer comes in the ACK
            body = call.local_sdp.offer(self.config.codecs, self.config.dtmf_payload_type)
            call._awaiting_answer_in_ack = True
        response = response_to(request, 200, to_tag=call.local_tag, body=body,
                               headers=[("Contact", self._contact(source[0])), *self._common_headers()])
        self._dialogs[(call.call_id, call.local_tag, call.remote_tag)] = call
        self.calls.append(call)
        call.state = "confirmed"
        call.answered_at = time.monotonic()
        transaction.respond(response)
        self._spawn(self._retransmit_2xx(call, response.serialize(), source, request.cseq[0]), "sip:2xx")
        call.rtp.start()
        if self.on_call is not None:
            task = asyncio.create_task(self._run_handler(call, self.on_call), name=f"call:{call.call_id}")
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _run_handler(self, call: PhoneCall, handler: CallHandler) -> None:
        try:
            await handler(call)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("call handler failed for %s", call.call_id)
        finally:
            if not call.ended:
                await self._hang_up(call)

    async def _retransmit_2xx(self, call: PhoneCall, data: bytes, address: tuple[str, int], cseq: int) -> None:
        t1, t2 = self.config.t1, self.config.t2
        interval, waited = t1, 0.0
        while call._acked_cseq < cseq and not call.ended:
            if waited >= 64 * t1:
                log.warning("no ACK for call %s: hanging up", call.call_id)
                await self._hang_up(call, "no-ack")
                return
            call._ack_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call._ack_event.wait(), interval)
            if call._acked_cseq >= cseq or call.ended:
                return
            waited += interval
            interval = min(interval * 2, t2)
            self._send(data, address)

    def _on_ack(self, request: SipRequest) -> None:
        transaction = self._server_transactions.get(_transaction_key(request, "INVITE"))
        if transaction is not None and transaction.final_status >= 300:
            transaction.acked.set()
            return
        call = self._dialogs.get((request.call_id, request.to.tag, request.from_.tag))
        if call is None:
            return
        cseq = request.cseq[0]
        if cseq > call._acked_cseq:
            call._acked_cseq = cseq
            call._ack_event.set()
            if call._awaiting_answer_in_ack:
                call._awaiting_answer_in_ack = False
                try:
                    negotiated = accept_answer(SessionDescription.parse(request.body), self.config.codecs)
                except SdpError:
                    log.warning("call %s: no usable answer in the ACK", call.call_id)
                    self._spawn(self._hang_up(call), "sip:bye")
                    return
                call.negotiated = negotiated
                call.rtp.configure(negotiated)

    def _on_cancel(self, request: SipRequest, transaction: _ServerTransaction) -> None:
        invite = self._server_transactions.get(_transaction_key(request, "INVITE"))
        if invite is None:
            transaction.respond(response_to(request, 481))
            return
        transaction.respond(response_to(request, 200))
        call = self._early.pop(invite.key, None)
        if not invite.final_status:
            invite.respond(response_to(invite.request, 487, to_tag=call.local_tag if call else new_tag()))
        if call is not None:
            call._mark_ended("cancelled")

    def _reject_early(self, call: PhoneCall, status: int, reason: str = "stopped") -> None:
        for key, early in list(self._early.items()):
            if early is call:
                self._early.pop(key, None)
                transaction = self._server_transactions.get(key)
                if transaction is not None:
                    transaction.respond(response_to(transaction.request, status, to_tag=call.local_tag))
        call._mark_ended(reason)

    def _on_reinvite(self, call: PhoneCall, request: SipRequest, transaction: _ServerTransaction) -> None:
        cseq = request.cseq[0]
        if cseq <= call.remote_cseq:
            transaction.respond(response_to(request, 500, headers=[("Retry-After", "1")]))
            return
        call.remote_cseq = cseq
        contact = request.contact
        if contact is not None:
            call.remote_target = contact.uri  # a target refresh (RFC 3261 12.2.2)
        assert call.local_sdp is not None
        if request.body:
            try:
                negotiated = negotiate(SessionDescription.parse(request.body), self.config.codecs)
            except SdpError as error:
                transaction.respond(response_to(request, 488, headers=[("Warning", f'305 helpline "{error}"')]))
                return
            body = call.local_sdp.answer(negotiated)
            was_held = call.held
            call.negotiated = negotiated
            call.rtp.configure(negotiated)
            if call.held != was_held:
                log.info("call %s %s", call.call_id, "on hold" if call.held else "taken off hold")
        else:
            body = call.local_sdp.offer(self.config.codecs, self.config.dtmf_payload_type)
            call._awaiting_answer_in_ack = True
        response = response_to(request, 200, body=body,
                               headers=[("Contact", self._contact(transaction.source[0])), *self._common_headers()])
        transaction.respond(response)
        self._spawn(self._retransmit_2xx(call, response.serialize(), transaction.source, cseq), "sip:2xx")

    def _on_bye(self, call: PhoneCall, transaction: _ServerTransaction) -> None:
        transaction.respond(response_to(transaction.request, 200))
        if call._mark_ended("hangup"):
            self._spawn(self._release(call), "sip:release")

    def _on_notify(self, call: PhoneCall, request: SipRequest, transaction: _ServerTransaction) -> None:
        transaction.respond(response_to(request, 200))
        if request.headers.get("Event").split(";")[0].strip().lower() != "refer":
            return
        status_line = request.body.decode("utf-8", "replace").strip().splitlines()
        status, reason = 0, ""
        if status_line and status_line[0].startswith("SIP/2.0"):
            parts = status_line[0].split(" ", 2)
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            reason = parts[2] if len(parts) > 2 else ""
        terminated = request.headers.get("Subscription-State").lower().startswith("terminated")
        call._notifications.put_nowait((status, reason, terminated))

    def _on_info(self, call: PhoneCall, request: SipRequest, transaction: _ServerTransaction) -> None:
        """SIP INFO keypad relay, which some PBXs use instead of RFC 4733."""
        transaction.respond(response_to(request, 200))
        text = request.body.decode("utf-8", "replace")
        digit = ""
        if request.content_type == "application/dtmf-relay":
            for line in text.splitlines():
                name, _, value = line.partition("=")
                if name.strip().lower() == "signal":
                    digit = value.strip()
        elif request.content_type == "application/dtmf":
            digit = text.strip()
        if digit.isdigit() and len(digit) <= 2 and int(digit) < len(EVENT_KEYS):
            digit = EVENT_KEYS[int(digit)] if len(digit) == 2 else digit
        if len(digit) == 1 and digit.upper() in EVENT_KEYS:
            call.rtp.deliver(KeypadDigit(digit.upper(), received_at=time.monotonic()))

    # --- ending calls ---

    async def _release(self, call: PhoneCall) -> None:
        await call.rtp.close()
        if call in self.calls:
            self.calls.remove(call)
        self._dialogs.pop((call.call_id, call.local_tag, call.remote_tag), None)

    async def _hang_up(self, call: PhoneCall, reason: str = "local") -> None:
        if call.state == "early":
            self._reject_early(call, 480, reason)
            await call.rtp.close()
            return
        if not call._mark_ended(reason):
            return
        await self._release(call)  # stop the audio at once; the BYE's answer is a formality
        bye = self._in_dialog_request(call, "BYE")
        transaction = self._request_transaction(bye, await self._dialog_hop(call))
        with contextlib.suppress(TimeoutError):
            await transaction.final_response(timeout=min(32 * self.config.t1, 4.0))

    def _in_dialog_request(self, call: PhoneCall, method: str, headers: Iterable[tuple[str, str]] = (),
                           body: bytes = b"", content_type: str = "") -> SipRequest:
        call.local_cseq += 1
        return self._new_request(method, str(call.remote_target), from_=call.local, to=call.remote,
                                 call_id=call.call_id, cseq=call.local_cseq, route=call.route_set,
                                 peer=call.remote_target.host, contact=method not in ("BYE",),
                                 headers=headers, body=body, content_type=content_type)

    async def _dialog_hop(self, call: PhoneCall) -> tuple[str, int]:
        try:
            return await self._next_hop(call.remote_target, call.route_set)
        except (OSError, SipParseError):
            if call.signalling_address is not None:
                return call.signalling_address
            raise

    # --- transfer ---

    async def _refer(self, call: PhoneCall, target: str, timeout: float) -> None:
        if call.state != "confirmed":
            raise TransferFailed(481, "the call is not up")
        target_uri = self._target_uri(target)
        while not call._notifications.empty():
            call._notifications.get_nowait()
        refer = self._in_dialog_request(call, "REFER", headers=[
            ("Refer-To", f"<{target_uri}>"), ("Referred-By", f"<{call.local.uri}>")])
        transaction = self._request_transaction(refer, await self._dialog_hop(call))
        try:
            response = await transaction.final_response(timeout)
        except TimeoutError:
            response = None
        if response is None:
            raise TransferFailed(408, "no answer to REFER")
        if response.status >= 300:
            raise TransferFailed(response.status, response.reason)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    if call.ended:  # the transferee hung up on us: RFC 5589 allows it after a good transfer
                        return
                    getter = asyncio.ensure_future(call._notifications.get())
                    ended = asyncio.ensure_future(call._ended.wait())
                    done, _ = await asyncio.wait({getter, ended}, return_when=asyncio.FIRST_COMPLETED)
                    getter.cancel()
                    ended.cancel()
                    if getter not in done or getter.cancelled():
                        continue
                    status, reason, _ = getter.result()
                    if status >= 300:
                        raise TransferFailed(status, reason)
                    if 200 <= status < 300:
                        break
        except TimeoutError as error:
            raise TransferFailed(408, "the transfer target did not answer in time") from error
        if not call.ended:
            await self._hang_up(call)

    # --- outbound calls ---

    def _target_uri(self, target: str) -> SipUri:
        text = target.strip()
        if not text.lower().startswith(("sip:", "sips:", "tel:")):
            # a bare extension or number lives at the PBX we register with, else next to us
            domain = (self.config.registrar.aor_domain if self.config.registrar
                      else f"{self._bound[0]}:{self._bound[1]}")
            text = "sip:" + (text if "@" in text else f"{text}@{domain}")
        uri = SipUri.parse(text)
        if uri.scheme == "tel":
            if self.config.registrar is None:
                raise CallFailed("rejected", 0, "a tel: number needs a registrar to route it")
            uri = SipUri(self.config.registrar.aor_domain, user=uri.user)
        return uri

    def _aor(self) -> SipUri:
        registrar = self.config.registrar
        if registrar is not None:
            return SipUri(registrar.aor_domain, user=registrar.username)
        return SipUri(self._contact_host(), user=self.config.user, port=self._contact_port())

    async def call(self, uri: str, *, timeout: float = 30.0, display_name: str | None = None,
                   headers: Sequence[tuple[str, str]] = ()) -> PhoneCall:
        """Place a call; returns it once answered. `timeout`: how long it may ring.

        Raises CallFailed: busy (486/600), no-answer (rang out, 408/480/487), rejected (any other
        refusal, e.g. 403/404/603/488), timeout (no response at all).
        """
        if self._transport is None:
            raise RuntimeError("start() the user agent first")
        target = self._target_uri(uri)
        address = await self._next_hop(target)
        call = PhoneCall(self, direction="outbound", call_id=new_call_id(self._contact_host(address[0])),
                         local=NameAddr(self._aor(), display_name if display_name is not None
                                        else self.config.display_name, {"tag": new_tag()}),
                         remote=NameAddr(target), rtp=self._new_rtp())
        await call.rtp.open()
        call.local_sdp = LocalSdp(self._media_host(address[0]), call.rtp.port, user=self.config.user)
        offer = call.local_sdp.offer(self.config.codecs, self.config.dtmf_payload_type)
        deadline = asyncio.get_running_loop().time() + timeout
        authorization: list[tuple[str, str]] = []
        challenges = 0
        transaction: _ClientTransaction | None = None
        try:
            while True:
                call.local_cseq += 1
                invite = self._new_request("INVITE", str(target), from_=call.local, to=call.remote,
                                           call_id=call.call_id, cseq=call.local_cseq, peer=address[0],
                                           headers=[*headers, *authorization], body=offer)
                transaction = self._request_transaction(invite, address)
                response = await self._await_final(transaction, deadline)
                if response is None:
                    raise CallFailed("timeout", 0, "no response")
                if 200 <= response.status < 300:
                    await self._confirm_outbound(call, response, address)
                    return call
                if response.status in (401, 407) and self.config.registrar is not None and challenges < 2:
                    challenges += 1
                    authorization = [self._authorization(response, "INVITE", str(target), self.config.registrar)]
                    continue
                raise CallFailed(_failure_reason(response.status), response.status, response.reason)
        except (TimeoutError, asyncio.CancelledError) as error:
            if transaction is not None and transaction.final is None:
                if transaction.provisional is not None:
                    self._spawn(self._cancel_invite(call, transaction, address), "sip:cancel")
                else:
                    # Nothing heard yet: CANCEL may not be sent before a provisional (RFC 3261 9.1).
                    self._spawn(self._cancel_when_provisional(call, transaction, address), "sip:cancel")
            await call.rtp.close()
            call._mark_ended("cancelled")
            if isinstance(error, asyncio.CancelledError):
                raise
            reason = "no-answer" if transaction is not None and transaction.provisional is not None else "timeout"
            raise CallFailed(reason, 0, f"not answered within {timeout:g} s") from None
        except BaseException:
            await call.rtp.close()
            call._mark_ended("error")
            raise

    async def _await_final(self, transaction: _ClientTransaction, deadline: float) -> SipResponse | None:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise TimeoutError
        return await transaction.final_response(remaining)

    def _authorization(self, response: SipResponse, method: str, uri: str,
                       registrar: RegistrarConfig) -> tuple[str, str]:
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenge = parse_challenge(response.headers.get(header))
        credentials = Credentials(registrar.auth_username or registrar.username, registrar.password)
        value = digest_authorization(challenge, method, uri, credentials)
        return ("Authorization" if response.status == 401 else "Proxy-Authorization", value)

    async def _establish_dialog(self, call: PhoneCall, response: SipResponse, address: tuple[str, int]) -> None:
        """Take the dialog from a 2xx and acknowledge it (the ACK of a 2xx is its own transaction)."""
        call.remote = call.remote.with_tag(response.to.tag)
        contact = response.contact
        call.remote_target = contact.uri if contact else call.remote.uri
        call.route_set = list(reversed(response.headers.values("Record-Route")))
        call.signalling_address = address
        ack = self._new_request("ACK", str(call.remote_target), from_=call.local, to=call.remote,
                                call_id=call.call_id, cseq=call.local_cseq, route=call.route_set, peer=address[0],
                                contact=False)
        call._ack = (ack.serialize(), await self._dialog_hop(call))
        self._send(*call._ack)
        self._dialogs[(call.call_id, call.local_tag, call.remote_tag)] = call

    async def _confirm_outbound(self, call: PhoneCall, response: SipResponse, address: tuple[str, int]) -> None:
        await self._establish_dialog(call, response, address)
        self.calls.append(call)
        call.state = "confirmed"
        call.answered_at = time.monotonic()
        try:
            negotiated = accept_answer(SessionDescription.parse(response.body), self.config.codecs)
        except SdpError as error:
            await self._hang_up(call, "error")
            raise CallFailed("rejected", 488, f"unusable answer: {error}") from error
        call.negotiated = negotiated
        call.rtp.configure(negotiated)
        call.rtp.start()

    async def _end_late_answer(self, call: PhoneCall, response: SipResponse, address: tuple[str, int]) -> None:
        """The callee answered just as we gave up: acknowledge, then hang up at once."""
        await self._establish_dialog(call, response, address)
        bye = self._in_dialog_request(call, "BYE")
        with contextlib.suppress(TimeoutError):
            await self._request_transaction(bye, await self._dialog_hop(call)).final_response(4.0)
        self._dialogs.pop((call.call_id, call.local_tag, call.remote_tag), None)

    async def _cancel_invite(self, call: PhoneCall, invite: _ClientTransaction, address: tuple[str, int]) -> None:
        request = invite.request
        cancel = SipRequest(method="CANCEL", uri=request.uri)
        cancel.headers.add("Via", request.headers.values("Via")[0])  # the same branch: it names the INVITE
        cancel.headers.add("Max-Forwards", "70")
        for route in request.headers.lines("Route"):
            cancel.headers.add("Route", route)
        for name in ("From", "To", "Call-ID"):
            cancel.headers.add(name, request.headers.get(name))
        cancel.headers.add("CSeq", f"{request.cseq[0]} CANCEL")
        transaction = self._request_transaction(cancel, address)
        with contextlib.suppress(TimeoutError):
            await transaction.final_response(timeout=32 * self.config.t1)
        with contextlib.suppress(TimeoutError):
            final = await invite.final_response(timeout=32 * self.config.t1)
            if final is not None and 200 <= final.status < 300:
                await self._end_late_answer(call, final, address)

    async def _cancel_when_provisional(self, call: PhoneCall, invite: _ClientTransaction,
                                       address: tuple[str, int]) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(64 * self.config.t1):
                while invite.final is None and invite.provisional is None:
                    await asyncio.sleep(self.config.t1 / 5)
        if invite.final is None and invite.provisional is not None:
            await self._cancel_invite(call, invite, address)
        elif invite.final is not None and 200 <= invite.final.status < 300:
            await self._end_late_answer(call, invite.final, address)

    # --- registration ---

    async def _register_loop(self, registrar: RegistrarConfig) -> None:
        assert self._registered_event is not None
        while True:
            try:
                granted = await self._register(registrar, registrar.expires)
            except Exception as error:  # network trouble: keep retrying, never kill the server
                granted = 0
                self.registration_error = str(error) or type(error).__name__
            if granted > 0:
                self.registered = True
                self.registration_error = ""
                self._registered_event.set()
                await asyncio.sleep(max(granted * 0.5, min(granted - 5, granted * 0.9), 1.0))
            else:
                self.registered = False
                self._registered_event.clear()
                log.warning("registration with %s failed: %s", registrar.server, self.registration_error)
                await asyncio.sleep(registrar.retry_seconds)

    async def _register(self, registrar: RegistrarConfig, expires: int) -> int:
        """One REGISTER (answering a digest challenge); returns the seconds granted, 0 on failure."""
        host, port = registrar.server_address
        address = (await self._resolve(host), port)
        aor = NameAddr(SipUri(registrar.aor_domain, user=registrar.username))
        if not self._register_call_id:  # one Call-ID for every refresh (RFC 3261 10.2.4)
            self._register_call_id = new_call_id(self._contact_host(address[0]))
        uri = f"sip:{registrar.aor_domain}"
        contact = f"{self._contact(address[0])};expires={expires}"
        authorization: list[tuple[str, str]] = []
        for _ in range(3):
            self._register_cseq += 1
            request = self._new_request("REGISTER", uri, from_=aor.with_tag(self._register_tag), to=aor,
                                        call_id=self._register_call_id, cseq=self._register_cseq, peer=address[0],
                                        contact=False, headers=[("Contact", contact), ("Expires", str(expires)),
                                                                *authorization])
            response = await self._request_transaction(request, address).final_response()
            if response is None:
                self.registration_error = "no answer from the registrar"
                return 0
            if response.status in (401, 407):
                authorization = [self._authorization(response, "REGISTER", uri, registrar)]
                continue
            if 200 <= response.status < 300:
                return expires and _granted_expiry(response, self._contact_host(address[0]), expires)
            self.registration_error = f"{response.status} {response.reason}"
            return 0
        self.registration_error = "credentials refused"
        return 0


def _granted_expiry(response: SipResponse, our_host: str, asked: int) -> int:
    for value in response.headers.values("Contact"):
        with contextlib.suppress(SipParseError):
            contact = NameAddr.parse(value)
            if contact.uri.host == our_host and contact.params.get("expires", "").isdigit():
                return int(contact.params["expires"])
    expires = response.headers.get("Expires").strip()
    return int(expires) if expires.isdigit() else asked


@functools.lru_cache(maxsize=256)
def _usable_host(bound: str, peer: str | None) -> str:
    if bound not in ("0.0.0.0", "::", ""):
        return bound
    # Bound to every interface: name the one the OS routes towards the peer.
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((peer or "192.0.2.1", 9))
        return str(probe.getsockname()[0])
    return "127.0.0.1"


# --- bridging -------------------------------------------------------------------------------------


async def relay_frame(frame: AudioIn | KeypadDigit, sink: PhoneCall, max_queue_seconds: float = 0.2) -> None:
    """Pass one frame of a bridged call to the other leg. Audio beyond `max_queue_seconds` of backlog is
    dropped, so a side whose clock runs fast cannot build up delay."""
    if isinstance(frame, AudioIn):
        if sink.queued_seconds() < max_queue_seconds:
            await sink.play(frame.pcm)
    else:
        sink.send_digits(frame.digit)


async def bridge(first: PhoneCall, second: PhoneCall, *, hang_up_both: bool = True,
                 max_queue_seconds: float = 0.2) -> PhoneCall:
    """Relay audio (and keypad presses) both ways until one side hangs up; returns the call that ended.

    Nobody else may read either call's `receive()` meanwhile. What a side said before the bridge (while the
    other was being briefed) is dropped, not replayed late. Audio is forwarded as it arrives; if a side's
    clock runs fast, its surplus beyond `max_queue_seconds` is dropped so delay cannot build up.
    """
    started = time.monotonic()

    async def relay(source: PhoneCall, sink: PhoneCall) -> None:
        async for frame in source.receive():
            if sink.ended:
                return
            if frame.received_at and frame.received_at < started:
                continue
            await relay_frame(frame, sink, max_queue_seconds)

    forward = asyncio.create_task(relay(first, second), name="bridge:forward")
    backward = asyncio.create_task(relay(second, first), name="bridge:backward")
    _, pending = await _first_done(forward, backward)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    ended = first if first.ended else second
    if hang_up_both:
        await first.hang_up()
        await second.hang_up()
    return ended


async def _first_done(*tasks: asyncio.Task[None]) -> tuple[set[asyncio.Task[None]], set[asyncio.Task[None]]]:
    try:
        return await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        raise
