"""A loopback stand-in for Twilio's Messages REST API (a paid remote service), speaking its wire protocol.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded To, From, Body, StatusCallback, HTTP Basic
auth AccountSid:AuthToken. Answers like Twilio: 201 with the message resource as JSON (sid, status "queued",
num_segments, ...); 401 {code 20003} for bad credentials; 400 {code, message, more_info, status} for a missing
or invalid field (21604, 21602, 21211) and for a recipient who replied STOP to the carrier (21610); 429 (with
Retry-After) or 5xx when a test scripts them. After accepting a message with a StatusCallback it POSTs the
status callbacks Twilio would ("sent", then "delivered" or "undelivered" with an ErrorCode), form-encoded and
signed with X-Twilio-Signature, from a thread of its own.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import httpx

from helpline.channels.sms.segments import count_segments
from helpline.channels.sms.signature import twilio_signature

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


@dataclass(frozen=True)
class ScriptedReply:
    status: int
    code: int | None = None
    message: str = ""
    retry_after: float | None = None


@dataclass
class SentMessage:
    sid: str
    to: str
    sender: str
    body: str
    status_callback: str | None
    num_segments: int


@dataclass
class TwilioDouble:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "double-auth-token"
    unsubscribed: set[str] = field(default_factory=set)  # numbers that replied STOP to the carrier: 21610
    undeliverable: set[str] = field(default_factory=set)  # accepted, then "undelivered" with ErrorCode 30003
    sent: list[SentMessage] = field(default_factory=list)
    requests: int = 0
    callbacks_posted: list[tuple[str, dict[str, str], int]] = field(default_factory=list)  # url, form, HTTP status
    _scripted: deque[ScriptedReply] = field(default_factory=deque)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    # --- what tests script and read ------------------------------------------------------------------

    def fail_next(self, *replies: ScriptedReply) -> None:
        """The next requests get these answers (after the auth check), in order."""
        self._scripted.extend(replies)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def wait_for_messages(self, count: int, timeout: float = 20.0) -> list[SentMessage]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.sent) >= count, timeout)
            return list(self.sent)

    def wait_for_callbacks(self, count: int, timeout: float = 20.0) -> list[tuple[str, dict[str, str], int]]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.callbacks_posted) >= count, timeout)
            return list(self.callbacks_posted)

    # --- the server ------------------------------------------------------------------------------------

    def __enter__(self) -> TwilioDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                status, body, headers = double._handle(self.path, self.headers.get("Authorization", ""), raw)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="twilio-double", daemon=True).start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @staticmethod
    def _error(status: int, code: int, message: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        return status, {"code": code, "message": message, "more_info": MORE_INFO.format(code=code),
                        "status": status}, {}

    def _handle(self, path: str, authorization: str, raw: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._changed:
            self.requests += 1
            self._changed.notify_all()
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if authorization != expected:
            return self._error(401, 20003, "Authenticate")
        if path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return self._error(404, 20404, f"The requested resource {path} was not found")
        if self._scripted:
            scripted = self._scripted.popleft()
            status, body, headers = self._error(scripted.status, scripted.code or scripted.status,
                                                scripted.message or "Too Many Requests")
            if scripted.retry_after is not None:
                headers["Retry-After"] = f"{scripted.retry_after:g}"
            return status, body, headers
        form = dict(parse_qsl(raw, keep_blank_values=True))
        to, sender, text = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not text:
            return self._error(400, 21602, "Message body is required.")
        if not E164.match(to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.unsubscribed:
            return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = "SM" + secrets.token_hex(16)
        segments = count_segments(text).segments
        message = SentMessage(sid, to, sender, text, form.get("StatusCallback"), segments)
        with self._changed:
            self.sent.append(message)
            self._changed.notify_all()
        if message.status_callback:
            threading.Thread(target=self._post_callbacks, args=(message,), daemon=True).start()
        return 201, {"sid": sid, "account_sid": self.account_sid, "to": to, "from": sender, "body": text,
                     "status": "queued", "num_segments": str(segments), "direction": "outbound-api",
                     "error_code": None, "error_message": None, "api_version": "2010-04-01",
                     "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"}, {}

    def _post_callbacks(self, message: SentMessage) -> None:
        assert message.status_callback is not None
        final = ("undelivered", "30003") if message.to in self.undeliverable else ("delivered", None)
        for status, error in (("sent", None), final):
            form = {"MessageSid": message.sid, "SmsSid": message.sid, "MessageStatus": status, "SmsStatus": status,
                    "AccountSid": self.account_sid, "From": message.sender, "To": message.to,
                    "ApiVersion": "2010-04-01"}
            if error:
                form["ErrorCode"] = error
            signature = twilio_signature(self.auth_token, message.status_callback, form.items())
            try:
                response = httpx.post(message.status_callback, data=form, timeout=10,
                                      headers={"X-Twilio-Signature": signature})
                code = response.status_code
            except httpx.HTTPError:
                code = 0
            with self._changed:
                self.callbacks_posted.append((message.status_callback, form, code))
                self._changed.notify_all()
            time.sleep(0.05)
