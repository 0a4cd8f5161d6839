"""Twilio's request signature (`X-Twilio-Signature`), as its RequestValidator computes it.

base64(HMAC-SHA1(auth token, full URL + each POST parameter's name and value, sorted by name)). Twilio signs the
URL it called; behind a proxy that is the public URL, so the caller passes the URL Twilio used. Like Twilio's own
validator, a URL is also tried with its default port added or removed (Twilio has signed both forms).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORTS = {"https": 443, "http": 80}


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    by_name: dict[str, list[str]] = {}
    for name, value in params:
        by_name.setdefault(name, []).append(value)
    payload = url + "".join(name + value for name in sorted(by_name) for value in sorted(by_name[name]))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default = DEFAULT_PORTS.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{parts.port or default}"))
    without_port = (urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
                    if parts.port in (None, default) else url)
    return list(dict.fromkeys([url, with_port, without_port]))


def valid_twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]],
                           signature: str | None) -> bool:
    """True when `signature` is Twilio's for this URL and these parameters (compared in constant time)."""
    if not signature or not auth_token:
        return False
    pairs = list(params)
    return any(hmac.compare_digest(twilio_signature(auth_token, candidate, pairs).encode(), signature.encode())
               for candidate in _port_variants(url))
