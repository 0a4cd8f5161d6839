"""Calls placed: INVITE (with digest auth and CANCEL when we stop waiting), the dialog a 2xx starts, and
cold transfer (REFER) of a call we hold."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from helpline.channels.phone.endpoint import SipEndpoint
from helpline.channels.phone.phonecall import CallFailed, PhoneCall, TransferFailed, _failure_reason
from helpline.channels.phone.sdp import (
    LocalSdp,
    SdpError,
    SessionDescription,
    accept_answer,
)
from helpline.channels.phone.sip import (
    NameAddr,
    SipRequest,
    SipResponse,
    SipUri,
    new_call_id,
    new_tag,
)
from helpline.channels.phone.transactions import _ClientTransaction

log = logging.getLogger(__name__)


class OutboundCalls(SipEndpoint):
    """Places calls and transfers them."""

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
