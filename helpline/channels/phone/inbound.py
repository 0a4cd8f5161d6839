"""Calls received: INVITE answered (ringing first), our 2xx resent until its ACK, CANCEL, re-INVITE (hold),
BYE, REFER progress (NOTIFY) and SIP INFO keypad relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from helpline.channels.phone.dtmf import EVENT_KEYS
from helpline.channels.phone.endpoint import CallHandler, SipEndpoint
from helpline.channels.phone.phonecall import PhoneCall
from helpline.channels.phone.rtp import NoRtpPort
from helpline.channels.phone.sdp import (
    LocalSdp,
    Negotiated,
    SdpError,
    SessionDescription,
    accept_answer,
    negotiate,
)
from helpline.channels.phone.sip import (
    SipRequest,
    SipUri,
    new_tag,
    response_to,
)
from helpline.channels.phone.transactions import _ServerTransaction, _transaction_key
from helpline.voice.frames import KeypadDigit

log = logging.getLogger(__name__)


class InboundCalls(SipEndpoint):
    """Answers INVITEs, handing each call to `on_call`, and keeps the dialogs they start."""

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
