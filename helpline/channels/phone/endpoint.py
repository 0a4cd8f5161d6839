"""The user agent's shared core: socket, transactions, dialogs, request building and routing, hanging up."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any

from helpline.channels.phone.config import RegistrarConfig, SipConfig
from helpline.channels.phone.phonecall import PhoneCall
from helpline.channels.phone.rtp import RtpPortRange, RtpSession
from helpline.channels.phone.sip import (
    Credentials,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    digest_authorization,
    new_branch,
    new_tag,
    parse_challenge,
    response_to,
)
from helpline.channels.phone.transactions import _ClientTransaction, _ServerTransaction

log = logging.getLogger(__name__)


ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY, INFO"
KNOWN_METHODS = frozenset({"REGISTER", "SUBSCRIBE", "PUBLISH", "MESSAGE", "PRACK", "UPDATE", "REFER"})
CallHandler = Callable[[PhoneCall], Awaitable[None]]


class SipEndpoint:
    """What every part of the user agent shares: its socket, transactions, dialogs and calls, how requests are
    built and routed, and how a dialog ends. `SipUserAgent` adds receiving, calls received and placed, and
    registration, each in a module of its own."""

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

    # --- where we are ---

    @property
    def address(self) -> tuple[str, int]:
        """Where we listen (the bound host and port; the port is the real one when configured as 0)."""
        return self._bound

    @property
    def uri(self) -> str:
        return f"sip:{self.config.user}@{self._contact_host()}:{self._contact_port()}"

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

    def _new_rtp(self) -> RtpSession:
        return RtpSession(self.ports, self.config.rtp_bind_host, jitter_ms=self.config.jitter_ms)

    def _authorization(self, response: SipResponse, method: str, uri: str,
                       registrar: RegistrarConfig) -> tuple[str, str]:
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenge = parse_challenge(response.headers.get(header))
        credentials = Credentials(registrar.auth_username or registrar.username, registrar.password)
        value = digest_authorization(challenge, method, uri, credentials)
        return ("Authorization" if response.status == 401 else "Proxy-Authorization", value)

    # --- ending calls ---

    async def _refer(self, call: PhoneCall, target: str, timeout: float) -> None:
        raise NotImplementedError  # a transfer is a request we place: OutboundCalls sends the REFER

    def _reject_early(self, call: PhoneCall, status: int, reason: str = "stopped") -> None:
        for key, early in list(self._early.items()):
            if early is call:
                self._early.pop(key, None)
                transaction = self._server_transactions.get(key)
                if transaction is not None:
                    transaction.respond(response_to(transaction.request, status, to_tag=call.local_tag))
        call._mark_ended(reason)

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


@functools.lru_cache(maxsize=256)
def _usable_host(bound: str, peer: str | None) -> str:
    if bound not in ("0.0.0.0", "::", ""):
        return bound
    # Bound to every interface: name the one the OS routes towards the peer.
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((peer or "192.0.2.1", 9))
        return str(probe.getsockname()[0])
    return "127.0.0.1"
