"""RFC 3261 transactions: requests retransmitted until answered, our final responses kept to answer
retransmitted requests (Timers A-K, T1 = 500 ms), keyed by branch (or, for RFC 2543 peers, by what the request is)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from helpline.channels.phone.sip import BRANCH_COOKIE, SipRequest, SipResponse

if TYPE_CHECKING:
    from helpline.channels.phone.endpoint import SipEndpoint

log = logging.getLogger(__name__)


def _transaction_key(message: SipRequest | SipResponse, method: str) -> tuple[str, ...]:
    branch = message.top_via.branch
    if branch.startswith(BRANCH_COOKIE):
        return (branch, method)
    # RFC 2543 peers: no unique branch, so match on what identifies the request (RFC 3261 17.2.3)
    return (message.call_id, message.from_.tag, str(message.cseq[0]), method)


class _ServerTransaction:
    def __init__(self, ua: SipEndpoint, request: SipRequest, source: tuple[str, int]) -> None:
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
    def __init__(self, ua: SipEndpoint, request: SipRequest, address: tuple[str, int]) -> None:
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
