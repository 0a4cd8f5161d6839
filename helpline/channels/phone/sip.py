"""SIP messages (RFC 3261): parsing, serialising, the few header grammars a user agent needs, and digest
authentication (RFC 2617 / RFC 7616) for registrars and proxies that challenge us.

Headers are kept as an ordered list of (canonical name, raw value) lines, the way they came, because a
response must copy every Via in order and a proxy may have folded several values into one line or split
them over several. `values()` splits comma lists only for the headers whose grammar is a list; an
authentication header is never split (its parameters are comma-separated).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

SIP_VERSION = "SIP/2.0"
BRANCH_COOKIE = "z9hG4bK"  # RFC 3261 8.1.1.7: marks a branch as unique per transaction

COMPACT = {
    "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length", "c": "Content-Type",
    "f": "From", "s": "Subject", "k": "Supported", "t": "To", "v": "Via", "r": "Refer-To", "b": "Referred-By",
    "o": "Event", "u": "Allow-Events", "x": "Session-Expires", "a": "Accept-Contact", "j": "Reject-Contact",
    "d": "Request-Disposition", "y": "Identity", "n": "Identity-Info",
}
_CANONICAL = {name.lower(): name for name in [
    "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow", "Allow-Events", "Authentication-Info",
    "Authorization", "Call-ID", "Call-Info", "Contact", "Content-Disposition", "Content-Encoding",
    "Content-Language", "Content-Length", "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires", "From",
    "In-Reply-To", "Max-Forwards", "Min-Expires", "MIME-Version", "Organization", "P-Asserted-Identity",
    "Priority", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "Record-Route", "Refer-To",
    "Referred-By", "Reply-To", "Require", "Retry-After", "Route", "RSeq", "Server", "Session-Expires", "Subject",
    "Subscription-State", "Supported", "Timestamp", "To", "Unsupported", "User-Agent", "Via", "Warning",
    "WWW-Authenticate",
]}
# Headers whose grammar is a comma-separated list (RFC 3261 7.3.1), so one line may hold several values.
_LIST_HEADERS = frozenset({"Via", "Route", "Record-Route", "Contact", "Allow", "Supported", "Require",
                           "Proxy-Require", "Unsupported", "Accept", "Accept-Encoding", "Accept-Language",
                           "Allow-Events", "Content-Encoding", "Content-Language", "In-Reply-To"})

REASONS = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued", 183: "Session Progress",
    200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 407: "Proxy Authentication Required", 408: "Request Timeout",
    415: "Unsupported Media Type", 420: "Bad Extension", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 491: "Request Pending", 500: "Server Internal Error", 501: "Not Implemented",
    503: "Service Unavailable", 504: "Server Time-out", 600: "Busy Everywhere", 603: "Decline",
}


class SipParseError(ValueError):
    """The bytes are not a SIP message we can make sense of."""


def canonical_name(name: str) -> str:
    name = name.strip()
    lower = name.lower()
    if lower in COMPACT:
        return COMPACT[lower]
    return _CANONICAL.get(lower) or "-".join(part.capitalize() for part in name.split("-"))


def split_list(value: str) -> list[str]:
    """Split a header list at commas outside quotes and angle brackets."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    angle = 0
    escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            angle += 1
        elif not quoted and char == ">":
            angle = max(0, angle - 1)
        elif char == "," and not quoted and angle == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def parse_params(text: str) -> dict[str, str]:
    """`;a=b;c` → {"a": "b", "c": ""}; names lower-cased, quotes kept off values."""
    params: dict[str, str] = {}
    for item in _split_outside_quotes(text, ";"):
        item = item.strip()
        if not item:
            continue
        name, _, value = item.partition("=")
        params[name.strip().lower()] = _unquote(value.strip())
    return params


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


# --- URIs and addresses ---------------------------------------------------------------------------


@dataclass
class SipUri:
    host: str
    user: str = ""
    port: int | None = None
    scheme: str = "sip"
    password: str = ""
    params: dict[str, str] = field(default_factory=dict)
    headers: str = ""  # the `?` part, kept verbatim

    @classmethod
    def parse(cls, text: str) -> SipUri:
        text = text.strip()
        match = re.match(r"^(sips?|tel):(.*)$", text, re.IGNORECASE)
        if not match:
            raise SipParseError(f"not a SIP URI: {text!r}")
        scheme, rest = match.group(1).lower(), match.group(2)
        if scheme == "tel":
            number, _, params = rest.partition(";")
            return cls(host="", user=number, scheme="tel", params=parse_params(params))
        rest, _, headers = rest.partition("?")
        userinfo, at, hostpart = rest.rpartition("@")
        if not at:
            userinfo, hostpart = "", rest
        user, _, password = userinfo.partition(":")
        hostport, _, params = hostpart.partition(";")
        if hostport.startswith("["):  # IPv6 reference
            end = hostport.find("]")
            host, portpart = hostport[: end + 1], hostport[end + 1:].lstrip(":")
        else:
            host, _, portpart = hostport.partition(":")
        if not host:
            raise SipParseError(f"SIP URI without a host: {text!r}")
        try:
            port = int(portpart) if portpart else None
        except ValueError as error:
            raise SipParseError(f"bad port in {text!r}") from error
        return cls(host=host, user=user, port=port, scheme=scheme, password=password,
                   params=parse_params(params), headers=headers)

    def __str__(self) -> str:
        if self.scheme == "tel":
            return "tel:" + self.user + "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params.items())
        text = f"{self.scheme}:"
        if self.user:
            text += self.user + (f":{self.password}" if self.password else "") + "@"
        text += self.host
        if self.port is not None:
            text += f":{self.port}"
        text += "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params.items())
        if self.headers:
            text += "?" + self.headers
        return text

    def address(self, default_port: int = 5060) -> tuple[str, int]:
        """Where to send to (no DNS SRV: a PBX on a LAN is named by address or plain host name)."""
        return self.params.get("maddr") or self.host.strip("[]"), self.port or default_port


@dataclass
class NameAddr:
    """`"Display" <sip:user@host>;tag=x` as in From, To, Contact, Route, Refer-To."""

    uri: SipUri
    display: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        text = text.strip()
        if "<" in text:
            before, _, after = text.partition("<")
            uri_text, _, params = after.partition(">")
            return cls(SipUri.parse(uri_text), _unquote(before.strip()), parse_params(params))
        # addr-spec without brackets: parameters after the URI belong to the header, not the URI
        uri_text, _, params = text.partition(";")
        return cls(SipUri.parse(uri_text), "", parse_params(params))

    @property
    def tag(self) -> str:
        return self.params.get("tag", "")

    def with_tag(self, tag: str) -> NameAddr:
        return NameAddr(self.uri, self.display, {**self.params, "tag": tag})

    def __str__(self) -> str:
        display = f'"{self.display}" ' if self.display else ""
        params = "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params.items())
        return f"{display}<{self.uri}>{params}"


@dataclass
class Via:
    transport: str
    host: str
    port: int | None
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        match = re.match(r"^\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z]+)\s+([^;]+)(.*)$", text)
        if not match:
            raise SipParseError(f"bad Via: {text!r}")
        sent_by = match.group(2).strip()
        if sent_by.startswith("["):
            end = sent_by.find("]")
            host, port_text = sent_by[: end + 1], sent_by[end + 1:].lstrip(":")
        else:
            host, _, port_text = sent_by.partition(":")
        return cls(match.group(1).upper(), host.strip(), int(port_text) if port_text.strip() else None,
                   parse_params(match.group(3)))

    @property
    def branch(self) -> str:
        return self.params.get("branch", "")

    def __str__(self) -> str:
        port = f":{self.port}" if self.port else ""
        params = "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params.items())
        return f"SIP/2.0/{self.transport} {self.host}{port}{params}"


# --- messages -------------------------------------------------------------------------------------


class Headers:
    """Ordered header lines with case-insensitive, compact-form-aware access."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = [(canonical_name(k), v) for k, v in items]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __contains__(self, name: str) -> bool:
        key = canonical_name(name)
        return any(k == key for k, _ in self._items)

    def get(self, name: str, default: str = "") -> str:
        key = canonical_name(name)
        for k, v in self._items:
            if k == key:
                return v
        return default

    def lines(self, name: str) -> list[str]:
        key = canonical_name(name)
        return [v for k, v in self._items if k == key]

    def values(self, name: str) -> list[str]:
        """Every value, splitting comma lists for list headers (several Vias on one line are several Vias)."""
        key = canonical_name(name)
        found = self.lines(key)
        if key not in _LIST_HEADERS:
            return found
        return [part for line in found for part in split_list(line)]

    def add(self, name: str, value: str) -> None:
        self._items.append((canonical_name(name), value))

    def set(self, name: str, value: str) -> None:
        """Replace every line of `name` by one, keeping the position of the first."""
        key = canonical_name(name)
        for index, (k, _) in enumerate(self._items):
            if k == key:
                self._items[index] = (key, value)
                self._items = [item for i, item in enumerate(self._items) if i <= index or item[0] != key]
                return
        self._items.append((key, value))

    def remove(self, name: str) -> None:
        key = canonical_name(name)
        self._items = [item for item in self._items if item[0] != key]

    def copy(self) -> Headers:
        return Headers(self._items)


@dataclass
class SipMessage:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    # convenient accessors for the headers every message has
    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID").strip()

    @property
    def cseq(self) -> tuple[int, str]:
        number, _, method = self.headers.get("CSeq").strip().partition(" ")
        try:
            return int(number), method.strip().upper()
        except ValueError as error:
            raise SipParseError(f"bad CSeq {self.headers.get('CSeq')!r}") from error

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self.headers.get("From"))

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self.headers.get("To"))

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(value) for value in self.headers.values("Via")]

    @property
    def top_via(self) -> Via:
        values = self.headers.values("Via")
        if not values:
            raise SipParseError("no Via")
        return Via.parse(values[0])

    @property
    def contact(self) -> NameAddr | None:
        values = self.headers.values("Contact")
        if not values or values[0].strip() == "*":
            return None
        return NameAddr.parse(values[0])

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type").split(";")[0].strip().lower()

    def start_line(self) -> str:
        raise NotImplementedError

    def serialize(self) -> bytes:
        lines = [self.start_line()]
        lines += [f"{name}: {value}" for name, value in self.headers if name != "Content-Length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass
class SipRequest(SipMessage):
    method: str = ""
    uri: str = ""

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {SIP_VERSION}"


@dataclass
class SipResponse(SipMessage):
    status: int = 200
    reason: str = "OK"

    def start_line(self) -> str:
        return f"{SIP_VERSION} {self.status} {self.reason}"


def parse_message(data: bytes) -> SipRequest | SipResponse:
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        head, separator, body = data.partition(b"\n\n")  # lenient: bare LF line ends
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    raw_lines = text.replace("\r\n", "\n").split("\n")
    while raw_lines and not raw_lines[0].strip():  # keep-alive CRLFs before a message
        raw_lines.pop(0)
    if not raw_lines:
        raise SipParseError("empty message")
    start, *header_lines = raw_lines
    headers = Headers()
    current: list[str] | None = None
    for line in header_lines:
        if line[:1] in (" ", "\t") and current is not None:  # folded continuation (RFC 3261 7.3.1)
            current[1] += " " + line.strip()
            continue
        if current is not None:
            headers.add(current[0], current[1])
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise SipParseError(f"bad header line {line!r}")
        current = [name, value.strip()]
    if current is not None:
        headers.add(current[0], current[1])
    length = headers.get("Content-Length")
    if length.strip():
        try:
            wanted = int(length)
        except ValueError as error:
            raise SipParseError(f"bad Content-Length {length!r}") from error
        if wanted > len(body):
            raise SipParseError("body shorter than Content-Length")
        body = body[:wanted]
    parts = start.split(" ", 2)
    if start.startswith(SIP_VERSION):
        if len(parts) < 2 or not parts[1].isdigit():
            raise SipParseError(f"bad status line {start!r}")
        return SipResponse(headers=headers, body=body, status=int(parts[1]),
                           reason=parts[2] if len(parts) > 2 else "")
    if len(parts) != 3 or parts[2].strip() != SIP_VERSION:
        raise SipParseError(f"bad request line {start!r}")
    for required in ("Via", "Call-ID", "CSeq", "From", "To"):
        if required not in headers:
            raise SipParseError(f"request without {required}")
    return SipRequest(headers=headers, body=body, method=parts[0].upper(), uri=parts[1])


def new_branch() -> str:
    return BRANCH_COOKIE + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(12)}@{host}"


def response_to(request: SipRequest, status: int, reason: str | None = None, *, to_tag: str = "",
                headers: Iterable[tuple[str, str]] = (), body: bytes = b"",
                content_type: str = "") -> SipResponse:
    """A response copying Via (all, in order), From, To (+ our tag), Call-ID and CSeq (RFC 3261 8.2.6.2)."""
    response = SipResponse(status=status, reason=reason or REASONS.get(status, "Unknown"))
    for line in request.headers.lines("Via"):
        response.headers.add("Via", line)
    response.headers.add("From", request.headers.get("From"))
    to = request.headers.get("To")
    if to_tag and status > 100 and "tag=" not in to.lower():
        to = str(NameAddr.parse(to).with_tag(to_tag))
    response.headers.add("To", to)
    response.headers.add("Call-ID", request.headers.get("Call-ID"))
    response.headers.add("CSeq", request.headers.get("CSeq"))
    if status >= 180 or status == 101:
        for line in request.headers.lines("Record-Route"):  # a dialog-forming response echoes the route set
            response.headers.add("Record-Route", line)
    for name, value in headers:
        response.headers.add(name, value)
    if body:
        response.headers.add("Content-Type", content_type or "application/sdp")
        response.body = body
    return response


# --- digest authentication ------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def parse_challenge(value: str) -> dict[str, str]:
    """`Digest realm="x", nonce="y", qop="auth,auth-int"` → lower-cased names, unquoted values."""
    scheme, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {"scheme": scheme.lower()}
    for match in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)', rest):
        params[match.group(1).lower()] = _unquote(match.group(2))
    return params


_HASHES = {"md5": hashlib.md5, "md5-sess": hashlib.md5, "sha-256": hashlib.sha256,
           "sha-256-sess": hashlib.sha256}


def digest_authorization(challenge: dict[str, str], method: str, uri: str, credentials: Credentials,
                         *, cnonce: str | None = None, nonce_count: int = 1, body: bytes = b"") -> str:
    """The Authorization / Proxy-Authorization value answering a Digest challenge."""
    algorithm = challenge.get("algorithm", "MD5")
    hash_function = _HASHES.get(algorithm.lower())
    if challenge.get("scheme") != "digest" or hash_function is None:
        raise ValueError(f"unsupported challenge {challenge.get('scheme')} {algorithm}")

    def h(text: str | bytes) -> str:
        return hash_function(text.encode() if isinstance(text, str) else text).hexdigest()

    realm, nonce = challenge.get("realm", ""), challenge.get("nonce", "")
    offered_qop = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in offered_qop else ("auth-int" if "auth-int" in offered_qop else "")
    cnonce = cnonce or secrets.token_hex(8)
    nc = f"{nonce_count:08x}"
    ha1 = h(f"{credentials.username}:{realm}:{credentials.password}")
    if algorithm.lower().endswith("-sess"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}:{h(body)}") if qop == "auth-int" else h(f"{method}:{uri}")
    response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}") if qop else h(f"{ha1}:{nonce}:{ha2}")
    parts = [f'username="{credentials.username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"',
             f'response="{response}"', f"algorithm={algorithm}"]
    if "opaque" in challenge:
        parts.append(f'opaque="{challenge["opaque"]}"')
    if qop:
        parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
    return "Digest " + ", ".join(parts)
