"""What the SIP user agent needs to know about where it lives."""

from __future__ import annotations

from dataclasses import dataclass


def parse_port_range(text: str) -> tuple[int, int]:
    """`10000-10999` → (10000, 10999); a single port is a range of one."""
    first, _, last = text.strip().partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError as error:
        raise ValueError(f"bad port range {text!r} (want e.g. 10000-10999)") from error
    if not 0 < low <= high < 65536:
        raise ValueError(f"bad port range {text!r}")
    return low, high


@dataclass(frozen=True)
class RegistrarConfig:
    """A PBX or trunk to register with, so calls to `username@domain` reach us."""

    server: str  # host or host:port of the registrar (and outbound proxy for calls into its domain)
    username: str
    password: str = ""
    domain: str = ""  # the address-of-record's domain; the server's host when empty
    auth_username: str = ""  # when the digest user differs from the extension
    expires: int = 300
    retry_seconds: float = 30.0  # after a failed registration

    @property
    def server_address(self) -> tuple[str, int]:
        host, _, port = self.server.removeprefix("sip:").partition(":")
        return host, int(port or 5060)

    @property
    def aor_domain(self) -> str:
        return self.domain or self.server_address[0]


@dataclass(frozen=True)
class SipConfig:
    host: str = "127.0.0.1"  # the address SIP binds to; nothing is bound anywhere else
    port: int = 5060
    rtp_ports: tuple[int, int] = (10000, 10999)
    rtp_host: str = ""  # where RTP binds; the SIP host when empty
    public_host: str = ""  # written in Contact, Via and SDP when behind NAT or bound to 0.0.0.0
    public_port: int = 0
    user: str = "helpline"  # the user part of our Contact and From
    display_name: str = "Helpline"
    max_calls: int = 20  # concurrent inbound calls; more get `busy_status`
    busy_status: int = 486  # 486 Busy Here, or 503 Service Unavailable (with Retry-After) for a trunk to retry
    ring_seconds: float = 0.0  # send 180 Ringing and wait this long before answering
    codecs: tuple[str, ...] = ("PCMU", "PCMA")  # in our order of preference when we offer
    dtmf_payload_type: int = 101
    jitter_ms: int = 60
    registrar: RegistrarConfig | None = None
    user_agent: str = "Helpline"
    # Networks (CIDR) whose requests we serve, e.g. ("10.0.0.5/32",) for a PBX; others get 403. Empty: anyone
    # who can reach `host` (scanners probe every reachable SIP port, so name the PBX when on a shared LAN).
    allow_from: tuple[str, ...] = ()
    t1: float = 0.5  # RFC 3261 timer T1 (retransmission base); other timers derive from it
    t2: float = 4.0

    @property
    def rtp_bind_host(self) -> str:
        return self.rtp_host or self.host
