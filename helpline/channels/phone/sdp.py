"""SDP offer/answer (RFC 4566, RFC 3264) for one audio stream: G.711 (PCMU 0, PCMA 8) and RFC 4733
telephone-event, ptime, and the direction attributes a hold uses.

We speak only G.711 on purpose: it needs no codec library, every PBX and trunk has it, and our pipeline
works at 8 kHz anyway. The codec is chosen in the *offerer's* order among the ones we allow (RFC 3264
6.1 lets the answerer pick; honouring the offerer's preference avoids a transcoding step on its side).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

STATIC_PAYLOADS = {0: ("PCMU", 8000), 8: ("PCMA", 8000)}
SUPPORTED_CODECS = ("PCMU", "PCMA")
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_REVERSE = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}


class SdpError(ValueError):
    """The body is not SDP we can use."""


class NoCommonCodec(SdpError):
    """The offer has no audio codec we speak (the INVITE gets 488)."""


@dataclass
class MediaDescription:
    media: str
    port: int
    proto: str
    formats: list[int]
    rtpmap: dict[int, tuple[str, int]] = field(default_factory=dict)  # pt → (encoding, clock rate)
    fmtp: dict[int, str] = field(default_factory=dict)
    ptime: int | None = None
    direction: str | None = None
    connection: str | None = None

    def encoding(self, payload_type: int) -> tuple[str, int] | None:
        if payload_type in self.rtpmap:
            return self.rtpmap[payload_type]
        return STATIC_PAYLOADS.get(payload_type)


@dataclass
class SessionDescription:
    origin_session: str = "0"
    origin_version: int = 0
    connection: str | None = None
    direction: str | None = None  # session-level attribute, the default for every m= line
    media: list[MediaDescription] = field(default_factory=list)

    @classmethod
    def parse(cls, body: bytes | str) -> SessionDescription:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        session = cls()
        current: MediaDescription | None = None
        for raw in text.splitlines():
            line = raw.strip()
            if len(line) < 2 or line[1] != "=":
                continue
            kind, value = line[0], line[2:].strip()
            if kind == "o":
                parts = value.split()
                if len(parts) >= 3:
                    session.origin_session = parts[1]
                    session.origin_version = int(parts[2]) if parts[2].isdigit() else 0
            elif kind == "c":
                parts = value.split()
                if len(parts) < 3 or parts[0] != "IN":
                    raise SdpError(f"bad c= line {line!r}")
                address = parts[2].split("/")[0]  # drop a multicast TTL
                if current is None:
                    session.connection = address
                else:
                    current.connection = address
            elif kind == "m":
                parts = value.split()
                if len(parts) < 3:
                    raise SdpError(f"bad m= line {line!r}")
                try:
                    port = int(parts[1].split("/")[0])
                    formats = [int(f) for f in parts[3:] if f.isdigit()]
                except ValueError as error:
                    raise SdpError(f"bad m= line {line!r}") from error
                current = MediaDescription(parts[0], port, parts[2], formats)
                session.media.append(current)
            elif kind == "a":
                name, _, argument = value.partition(":")
                if name in DIRECTIONS:
                    if current is None:
                        session.direction = name
                    else:
                        current.direction = name
                elif current is None:
                    continue
                elif name == "rtpmap":
                    pt_text, _, encoding = argument.partition(" ")
                    pieces = encoding.strip().split("/")
                    if pt_text.isdigit() and len(pieces) >= 2 and pieces[1].isdigit():
                        current.rtpmap[int(pt_text)] = (pieces[0], int(pieces[1]))
                elif name == "fmtp":
                    pt_text, _, parameters = argument.partition(" ")
                    if pt_text.isdigit():
                        current.fmtp[int(pt_text)] = parameters.strip()
                elif name == "ptime" and argument.strip().isdigit():
                    current.ptime = int(argument.strip())
        return session

    def audio(self) -> MediaDescription | None:
        for media in self.media:
            if media.media == "audio" and media.port != 0:
                return media
        return None


@dataclass(frozen=True)
class Negotiated:
    """What one offer/answer exchange settled for the audio stream."""

    payload_type: int
    codec: str  # PCMU | PCMA
    dtmf_payload_type: int | None  # None: keypad only by in-band tones
    ptime: int  # milliseconds per packet we send
    remote_host: str
    remote_port: int
    local_direction: str  # what we do: sendrecv, or recvonly/inactive while the peer holds us

    @property
    def sending(self) -> bool:
        return self.local_direction in ("sendrecv", "sendonly") and not self.held_by_address

    @property
    def receiving(self) -> bool:
        return self.local_direction in ("sendrecv", "recvonly")

    @property
    def held_by_address(self) -> bool:
        return self.remote_host in ("0.0.0.0", "::")  # RFC 2543 hold: c=0.0.0.0


def _dtmf_payload(media: MediaDescription) -> int | None:
    for pt in media.formats:
        encoding = media.rtpmap.get(pt)
        if encoding and encoding[0].lower() == "telephone-event" and encoding[1] == 8000:
            return pt
    return None


def negotiate(offer: SessionDescription, codecs: tuple[str, ...] = SUPPORTED_CODECS,
              our_direction: str = "sendrecv") -> Negotiated:
    """Answer an offer: the first of the offerer's codecs we allow, its telephone-event, its direction."""
    media = offer.audio()
    if media is None:
        raise NoCommonCodec("no audio stream offered")
    if not media.proto.upper().startswith("RTP/AVP"):
        raise NoCommonCodec(f"unsupported transport {media.proto}")  # RTP/SAVP etc. need SRTP
    allowed = [c.upper() for c in codecs]
    chosen: tuple[int, str] | None = None
    for pt in media.formats:
        encoding = media.encoding(pt)
        if encoding and encoding[0].upper() in allowed and encoding[1] == 8000:
            chosen = (pt, encoding[0].upper())
            break
    if chosen is None:
        raise NoCommonCodec("no common codec (we speak " + ", ".join(allowed) + ")")
    host = media.connection or offer.connection
    if not host:
        raise SdpError("no connection address")
    their_direction = media.direction or offer.direction or "sendrecv"
    return Negotiated(payload_type=chosen[0], codec=chosen[1], dtmf_payload_type=_dtmf_payload(media),
                      ptime=_ptime(media.ptime), remote_host=host, remote_port=media.port,
                      local_direction=_intersect(our_direction, _REVERSE.get(their_direction, "sendrecv")))


def accept_answer(answer: SessionDescription, offered: tuple[str, ...] = SUPPORTED_CODECS,
                  our_direction: str = "sendrecv") -> Negotiated:
    """Read the answer to our offer: the codec it kept (its first one we offered)."""
    return negotiate(answer, offered, our_direction)


def _ptime(value: int | None) -> int:
    # Whole 10 ms steps from 10 to 60; anything stranger gets the universal 20.
    if value and value % 10 == 0 and 10 <= value <= 60:
        return value
    return 20


def _intersect(ours: str, allowed: str) -> str:
    send = ours in ("sendrecv", "sendonly") and allowed in ("sendrecv", "sendonly")
    receive = ours in ("sendrecv", "recvonly") and allowed in ("sendrecv", "recvonly")
    return {(True, True): "sendrecv", (True, False): "sendonly", (False, True): "recvonly"}.get(
        (send, receive), "inactive")


@dataclass
class LocalSdp:
    """Our side of the session: kept per call so the o= version rises with each change (RFC 3264 8)."""

    address: str
    port: int
    session_id: str = field(default_factory=lambda: str(secrets.randbelow(2**31)))
    version: int = 0
    user: str = "helpline"

    def build(self, formats: list[tuple[int, str]], dtmf_payload_type: int | None, ptime: int = 20,
              direction: str = "sendrecv") -> bytes:
        """An offer or answer. `formats` are (payload type, codec name) in preference order."""
        self.version += 1
        family = "IP6" if ":" in self.address else "IP4"
        payload_types = [pt for pt, _ in formats] + ([dtmf_payload_type] if dtmf_payload_type is not None else [])
        lines = [
            "v=0",
            f"o={self.user} {self.session_id} {self.version} IN {family} {self.address}",
            "s=Helpline",
            f"c=IN {family} {self.address}",
            "t=0 0",
            f"m=audio {self.port} RTP/AVP " + " ".join(str(pt) for pt in payload_types),
        ]
        lines += [f"a=rtpmap:{pt} {name}/8000" for pt, name in formats]
        if dtmf_payload_type is not None:
            lines += [f"a=rtpmap:{dtmf_payload_type} telephone-event/8000", f"a=fmtp:{dtmf_payload_type} 0-16"]
        lines += [f"a=ptime:{ptime}", f"a={direction}"]
        return ("\r\n".join(lines) + "\r\n").encode()

    def offer(self, codecs: tuple[str, ...] = SUPPORTED_CODECS, dtmf_payload_type: int = 101,
              direction: str = "sendrecv") -> bytes:
        static = {name: pt for pt, (name, _) in STATIC_PAYLOADS.items()}
        return self.build([(static[c.upper()], c.upper()) for c in codecs if c.upper() in static],
                          dtmf_payload_type, 20, direction)

    def answer(self, negotiated: Negotiated) -> bytes:
        # Only the chosen codec: the offerer then knows exactly what we will send (RFC 3264 6.1 allows a subset).
        return self.build([(negotiated.payload_type, negotiated.codec)], negotiated.dtmf_payload_type,
                          negotiated.ptime, negotiated.local_direction)
