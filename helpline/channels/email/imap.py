"""IMAP polling of an existing support mailbox (`--imap-url imaps://user@host/INBOX`, the password from
HELPLINE_IMAP_PASSWORD), for businesses on hosted mail. IMAPClient (BSD) is synchronous, so the mailbox
session runs in its own thread and hands each email to the channel on the server's event loop.

Unseen emails are fetched with BODY.PEEK[] (not marked read), handled, then flagged \\Seen: an email is marked
only once it is in its conversation, so a crash in between means it is handled again, which the channel
recognises by its Message-ID. Between fetches the poller waits in IDLE when the server offers it (new mail
arrives within a second or so), else it polls every `poll_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

log = logging.getLogger(__name__)

IDLE_CHECK_SECONDS = 1.0  # how often IDLE looks at the stop flag
IDLE_RENEW_SECONDS = 25 * 60  # RFC 2177: re-issue IDLE before the server's 30-minute timeout
RECONNECT_SECONDS = (1.0, 5.0, 30.0, 120.0)
FETCH_BATCH = 20

Handle = Callable[[bytes], Coroutine[Any, Any, Any]]


@dataclass(frozen=True)
class ImapUrl:
    host: str
    port: int
    username: str
    folder: str
    tls: bool

    @classmethod
    def parse(cls, url: str) -> ImapUrl:
        """imaps://user@host[:port][/folder] (TLS, 993) or imap://… (plain, 143: loopback or tests only)."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise ValueError(f"{url!r} is not imaps://user@host/FOLDER (or imap:// on loopback)")
        tls = parts.scheme == "imaps"
        folder = unquote(parts.path.lstrip("/")) or "INBOX"
        return cls(parts.hostname, parts.port or (993 if tls else 143), unquote(parts.username), folder, tls)


class ImapPoller:
    def __init__(self, url: ImapUrl, password: str, handle: Handle, poll_seconds: float = 60.0,
                 ssl_context: ssl.SSLContext | None = None, timeout: float = 30.0):
        self.url = url
        self.password = password
        self.handle = handle
        self.poll_seconds = poll_seconds
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.handled = 0  # emails handed to the channel (for the console's status and the tests)
        self.idling = threading.Event()  # set while the poller waits in IDLE
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="imap-poller", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, self.timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._session()
                failures = 0
            except (TimeoutError, IMAPClientError, OSError, ssl.SSLError) as exc:
                wait = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                log.warning("IMAP %s:%d: %s; trying again in %gs", self.url.host, self.url.port,
                            type(exc).__name__, wait)
                self._stop.wait(wait)

    def _session(self) -> None:
        context = self.ssl_context or (ssl.create_default_context() if self.url.tls else None)
        with IMAPClient(self.url.host, self.url.port, ssl=self.url.tls, ssl_context=context,
                        timeout=self.timeout) as client:
            client.login(self.url.username, self.password)
            client.select_folder(self.url.folder)
            can_idle = client.has_capability("IDLE")
            while not self._stop.is_set():
                self._fetch_unseen(client)
                if can_idle:
                    self._idle(client)
                else:
                    self._stop.wait(self.poll_seconds)
                    client.noop()

    def _fetch_unseen(self, client: IMAPClient) -> None:
        uids = client.search(["UNSEEN"])
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start:start + FETCH_BATCH]
            for uid, data in client.fetch(batch, ["BODY.PEEK[]"]).items():
                raw = data.get(b"BODY[]")
                if not isinstance(raw, bytes) or self._stop.is_set():
                    continue
                assert self._loop is not None
                # handled on the server's loop; a failure leaves the email unseen, to be tried again
                try:
                    asyncio.run_coroutine_threadsafe(self.handle(raw), self._loop).result()
                except Exception:
                    log.exception("an email from the mailbox could not be handled; it stays unseen")
                    continue
                client.add_flags([uid], [b"\\Seen"])
                self.handled += 1

    def _idle(self, client: IMAPClient) -> None:
        client.idle()
        self.idling.set()
        try:
            waited = 0.0
            while not self._stop.is_set() and waited < IDLE_RENEW_SECONDS:
                if client.idle_check(timeout=IDLE_CHECK_SECONDS):
                    break  # something changed in the mailbox: fetch
                waited += IDLE_CHECK_SECONDS
        finally:
            self.idling.clear()
            client.idle_done()
