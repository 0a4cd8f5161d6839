"""Registration with a PBX or trunk: REGISTER with digest auth, refreshed before it expires, retried on failure."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from helpline.channels.phone.config import RegistrarConfig
from helpline.channels.phone.endpoint import SipEndpoint
from helpline.channels.phone.sip import (
    NameAddr,
    SipParseError,
    SipResponse,
    SipUri,
    new_call_id,
)

log = logging.getLogger(__name__)


class Registration(SipEndpoint):
    """Keeps us registered while a registrar is configured."""

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
