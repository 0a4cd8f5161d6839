"""One call: its SIP dialog and its RTP audio (`PhoneCall`), and how placing or transferring one fails."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from helpline.channels.phone.dtmf import dtmf_tone
from helpline.channels.phone.rtp import RtpSession, RtpStats
from helpline.channels.phone.sdp import (
    LocalSdp,
    Negotiated,
)
from helpline.channels.phone.sip import (
    NameAddr,
    SipUri,
)
from helpline.voice.frames import AudioIn, KeypadDigit

if TYPE_CHECKING:
    from helpline.channels.phone.endpoint import SipEndpoint

log = logging.getLogger(__name__)


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



class PhoneCall:
    """One call: its SIP dialog and its RTP audio. Implements `helpline.voice.ports.CallMedia`.

    Only one reader may iterate `receive()` at a time: to bridge a call, stop its pipeline first.
    """

    sample_rate = 8000

    def __init__(self, ua: SipEndpoint, *, direction: str, call_id: str, local: NameAddr, remote: NameAddr,
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
