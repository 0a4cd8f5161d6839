"""The website chat widget: ``/widget.js`` and its WebSocket at ``/widget/ws``.

Authentication: the page carries a public per-site *widget key* (``data-key``; made in the console's
Settings or with ``helpline widget create-key``). A key may only start chat conversations and, with
the random *resume token* handed out when one starts, continue that one conversation; it reads nothing
else. A key can be limited to the site's origins (the browser's Origin header), and starts and
messages are rate-limited per client address. The API routes keep requiring API keys.

Protocol (JSON frames). Client: ``hello {conversation_id?, token?, last_seq}``, ``say {text, client_id}``,
``end``, ``rate {score}``. Server: ``welcome {conversation_id, token, status, handled_by}``, ``message
{seq, role, text, by}``, ``typing {on}``, ``ack {client_id}``, ``slow_down {client_id, retry_after,
message}``, ``ended``, ``rated``, ``error {message}``.
After a reconnect the client says which ``seq`` it saw last and the server replays what it missed, so
nothing is lost or shown twice; messages not yet acknowledged are sent again with the same
``client_id`` and the server drops the repeats. A ``client_id`` is remembered only once its message is
stored: a message refused by the rate limit, or failing, is answered ``slow_down`` (not ``ack``) and the
client sends it again after ``retry_after`` seconds. A malformed frame is answered ``error``; it never
closes the socket. A conversation is rated once.
A key revoked in the console ends the chats open with it: the socket re-checks its key on each customer
frame and on each notice or idle wake of its pump (at most every ``KEY_RECHECK_SECONDS``), then sends
``ack`` for the message it will not take, ``ended`` and an ``error`` saying why, and closes (1008). The
conversation and its ticket stay for the team.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from helpline.adapters.redis_shared import RedisClientIds, SharedRedis
from helpline.api.limits import RateLimit, RedisSlidingWindow, SlidingWindow
from helpline.api.validation import clean_text
from helpline.application.conversations import (
    ConversationBusy,
    ConversationClosed,
    ConversationNotFound,
    ConversationService,
)
from helpline.application.keys import widget_key_id
from helpline.application.widget_sessions import bind_chat, customer_replay, owns_chat, rate_once
from helpline.conversation.ports import ClientIdentity, ClientKind

log = logging.getLogger(__name__)

WIDGET_JS = Path(__file__).resolve().parents[1] / "console" / "static" / "widget.js"
MAX_WIDGET_MESSAGE = 2000
STARTS_PER_MINUTE = 10
MESSAGES_PER_MINUTE = 30
SEEN_CLIENT_IDS = 100  # per conversation: far more than a client ever has unacknowledged
SEEN_CONVERSATIONS = 2000  # conversations whose client_ids are remembered (least recently used forgotten)
CLIENT_ID_CHARS = 64
RETRY_AFTER_SECONDS = 2
POLICY_VIOLATION = 1008
KEY_RECHECK_SECONDS = 5.0  # a revoked key ends open chats within this long of their next activity
KEY_REVOKED = "This chat is no longer available on this website. Your conversation is kept; please contact us " \
              "another way."
Claim = Literal["new", "done", "busy"]


def per_minute(limit: int) -> SlidingWindow:
    """A sliding one-minute window per client address, bounded in memory (per server process)."""
    return SlidingWindow(limit, 60.0)


@dataclass
class WidgetHub:
    """Per-app widget state (kept on ``app.state.widget``). Every map in it is bounded. With several
    nodes (``across_nodes``) the limits and the stored client ids are in Redis instead."""

    starts: RateLimit = field(default_factory=lambda: per_minute(STARTS_PER_MINUTE))
    messages: RateLimit = field(default_factory=lambda: per_minute(MESSAGES_PER_MINUTE))
    # client_ids whose message is stored, per conversation: a resent message is acknowledged, not posted twice.
    seen: OrderedDict[str, deque[str]] = field(default_factory=OrderedDict)
    # (conversation, client_id) being posted right now (by another socket after a reconnect, say).
    in_flight: set[tuple[str, str]] = field(default_factory=set)
    guard: threading.Lock = field(default_factory=threading.Lock)
    shared_ids: RedisClientIds | None = None  # several nodes: a resend may reach another node

    @classmethod
    def across_nodes(cls, shared: SharedRedis | None) -> WidgetHub:
        """The hub for this deployment: in-process without Redis, shared through it otherwise."""
        if shared is None:
            return cls()
        return cls(starts=RedisSlidingWindow(shared.client, shared.key("limit", "widget-starts", ""),
                                             STARTS_PER_MINUTE, 60.0),
                   messages=RedisSlidingWindow(shared.client, shared.key("limit", "widget-messages", ""),
                                               MESSAGES_PER_MINUTE, 60.0),
                   shared_ids=RedisClientIds(shared))

    def claim(self, conversation_id: str, client_id: str) -> Claim:
        """``done`` if that message is already stored, ``busy`` if it is being posted, else ``new`` (and it
        is now in flight: call ``settle`` when it is stored or has failed)."""
        if self.shared_ids is not None:
            return self.shared_ids.claim(conversation_id, client_id)
        with self.guard:
            ids = self.seen.get(conversation_id)
            if ids is not None and client_id in ids:
                return "done"
            if (conversation_id, client_id) in self.in_flight:
                return "busy"
            self.in_flight.add((conversation_id, client_id))
            return "new"

    def settle(self, conversation_id: str, client_id: str, stored: bool) -> None:
        """The claimed message is stored (remember its id) or not (forget it, so a resend is posted)."""
        if self.shared_ids is not None:
            self.shared_ids.settle(conversation_id, client_id, stored)
            return
        with self.guard:
            self.in_flight.discard((conversation_id, client_id))
            if not stored:
                return
            ids = self.seen.get(conversation_id)
            if ids is None:
                ids = self.seen[conversation_id] = deque(maxlen=SEEN_CLIENT_IDS)
                while len(self.seen) > SEEN_CONVERSATIONS:
                    self.seen.popitem(last=False)
            else:
                self.seen.move_to_end(conversation_id)
            ids.append(client_id)

    def first_time(self, conversation_id: str, client_id: str) -> bool:
        """Claim and at once mark stored (for callers that store synchronously)."""
        if self.claim(conversation_id, client_id) != "new":
            return False
        self.settle(conversation_id, client_id, stored=True)
        return True


def _seq(value: Any) -> int:
    """A ``last_seq`` from the client: a whole number >= 0, anything else (text, 1.5, true) counts as 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return 0


def visible_messages(service: ConversationService, conversation_id: str, after: int) -> tuple[list[dict[str, Any]],
                                                                                                    str, str]:
    """What the customer may see after ``after`` as ``message`` frames: no whispers. Plus the status and who
    answers."""
    replay = customer_replay(service.db, conversation_id, after)
    rows = [{"type": "message", "seq": line.seq, "role": line.role, "text": line.text, "by": line.by}
            for line in replay.lines]
    return rows, replay.status, "yes" if replay.handled_by_person else ""


class WidgetConnection:
    """One browser tab's socket: a receive loop plus a pump that forwards committed changes."""

    def __init__(self, socket: WebSocket, service: ConversationService, hub: WidgetHub, key_id: str, client: str,
                 *, public_key: str = "", origin: str | None = None):
        self.socket = socket
        self.service = service
        self.hub = hub
        self.key_id = key_id
        self.client = client
        self.public_key = public_key  # re-checked while the chat is open (revoked in the console?)
        self.origin = origin
        self.key_checked = time.monotonic()  # checked when the socket was accepted
        self.closed = False
        self.conversation_id = ""
        self.last_seq = 0
        self.status = ""
        self._send_lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.socket.send_text(json.dumps(frame))

    async def key_revoked(self, client_id: str = "") -> bool:
        """Whether the key was revoked (or its origin no longer allowed); if so, tell the customer and close.
        Checked at most every ``KEY_RECHECK_SECONDS`` so a busy chat costs one query per few seconds."""
        if self.closed:
            return True
        if not self.public_key or time.monotonic() - self.key_checked < KEY_RECHECK_SECONDS:
            return False
        self.key_checked = time.monotonic()
        if await run_in_threadpool(_verify_key, self.service, self.public_key, self.origin) == self.key_id:
            return False
        self.closed = True
        with contextlib.suppress(Exception):  # the browser may be gone already
            if client_id:
                await self.send({"type": "ack", "client_id": client_id})  # never taken: stop resending it
            await self.send({"type": "ended"})
            await self.send({"type": "error", "message": KEY_REVOKED})
            await self.socket.close(code=POLICY_VIOLATION, reason="widget key revoked")
        return True

    async def flush(self) -> None:
        """Send every visible message after the last one sent (the same path for replay and live)."""
        rows, status, _handled = await run_in_threadpool(visible_messages, self.service, self.conversation_id,
                                                         self.last_seq)
        for row in rows:
            if row["seq"] > self.last_seq:
                self.last_seq = row["seq"]
                await self.send(row)
        if status == "ended" and self.status != "ended":
            await self.send({"type": "ended"})
        self.status = status

    async def hello(self, frame: dict[str, Any]) -> bool:
        conversation_id, token = frame.get("conversation_id"), frame.get("token")
        if isinstance(conversation_id, str) and isinstance(token, str) and conversation_id and token \
                and len(conversation_id) <= 36 and len(token) <= 200 and conversation_id.isascii() \
                and conversation_id.isprintable() and token.isascii() and token.isprintable():
            owned = await run_in_threadpool(self._owns, conversation_id, token)
            if owned:
                self.conversation_id = conversation_id
                self.last_seq = _seq(frame.get("last_seq"))
                await self.send({"type": "welcome", "conversation_id": conversation_id, "token": token,
                                 "resumed": True})
                return True
        if not self.hub.starts.allow(self.client):
            await self.send({"type": "error", "message": "Too many new chats from here; please wait a minute."})
            return False
        clients = (ClientIdentity(ClientKind.IP, self.client), ClientIdentity(ClientKind.WIDGET_KEY, self.key_id))
        view = await run_in_threadpool(self.service.start, "chat", f"widget:{self.key_id[:8]}", None, clients)
        token = await run_in_threadpool(self._bind, view.id)
        self.conversation_id, self.last_seq = view.id, 0
        await self.send({"type": "welcome", "conversation_id": view.id, "token": token, "resumed": False})
        return True

    def _owns(self, conversation_id: str, token: str) -> bool:
        return owns_chat(self.service.db, conversation_id, token, self.key_id)

    def _bind(self, conversation_id: str) -> str:
        return bind_chat(self.service.db, conversation_id, self.key_id)

    async def say(self, frame: dict[str, Any]) -> None:
        raw_text, raw_id = frame.get("text"), frame.get("client_id")
        text = clean_text(raw_text).strip()[:MAX_WIDGET_MESSAGE] if isinstance(raw_text, str) else ""
        client_id = clean_text(raw_id)[:CLIENT_ID_CHARS] if isinstance(raw_id, str) else ""
        if not text:
            if client_id:
                await self.send({"type": "ack", "client_id": client_id})  # nothing to keep: stop resending
            return
        claim: Claim = self.hub.claim(self.conversation_id, client_id) if client_id else "new"
        if claim == "done":
            await self.send({"type": "ack", "client_id": client_id})  # stored before the reconnect
            return
        if claim == "busy":
            await self._slow_down(client_id, "Still sending your message…")
            return
        stored = False
        try:
            if not self.hub.messages.allow(self.client):
                await self._slow_down(client_id, "You're sending messages very fast; I'll send this in a moment.",
                                      self.hub.messages.retry_after(self.client))
                return
            await self.send({"type": "typing", "on": True})
            try:
                await run_in_threadpool(self.service.post, self.conversation_id, text, f"widget:{self.key_id[:8]}")
                stored = True
            except ConversationBusy:
                # the conversation is busy with another turn past the bounded wait: the client resends it
                await self._slow_down(client_id, "Just a moment, I'm still on your previous message…")
                return
            except (ConversationClosed, ConversationNotFound):
                stored = True  # nothing will ever take it: acknowledge, so the client stops resending
                await self.send({"type": "error", "message": "This chat has ended. Reload to start a new one."})
            except Exception:
                log.exception("widget message on conversation %s failed", self.conversation_id)
                await self._slow_down(client_id, "Sorry, your message didn't go through; trying again…")
                return
            finally:
                await self.send({"type": "typing", "on": False})
        finally:
            if client_id:
                self.hub.settle(self.conversation_id, client_id, stored)
        await self.send({"type": "ack", "client_id": client_id})
        await self.flush()

    async def _slow_down(self, client_id: str, message: str, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        """Not stored (not acknowledged): the client keeps the message and sends it again later."""
        await self.send({"type": "slow_down", "client_id": client_id, "retry_after": max(1, retry_after),
                         "message": message})

    def _rate_once(self, score: int) -> bool | None:
        """Store the rating on the conversation's ticket unless it has one: True, False if already rated,
        None if there is no ticket."""
        return rate_once(self.service.db, self.conversation_id, score, actor=f"widget:{self.key_id[:8]}")

    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "say":
            await self.say(frame)
        elif kind == "end":
            await run_in_threadpool(self.service.end, self.conversation_id, f"widget:{self.key_id[:8]}")
            await self.flush()
        elif kind == "rate":
            score = frame.get("score")
            if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
                await self.send({"type": "error", "message": "Please choose a rating from 1 to 5."})
                return
            rated = await run_in_threadpool(self._rate_once, score)
            if rated is False:
                await self.send({"type": "error", "message": "This chat has already been rated. Thank you!"})
                return
            self.service.bus.publish(self.conversation_id, "rated")
            await self.send({"type": "rated", "score": score})

    async def pump(self) -> None:
        with self.service.bus.subscribe(self.conversation_id) as subscription:
            await self.flush()  # the replay (after subscribing, so nothing falls between the two)
            while not self.closed:
                notice = await subscription.get(30.0)
                if await self.key_revoked():
                    return
                if notice is not None:
                    await self.flush()


def widget_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/widget.js")
    def widget_js() -> Response:
        return FileResponse(WIDGET_JS, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"})

    @router.get("/widget/demo")
    def widget_demo(request: Request, key: str = "") -> HTMLResponse:
        """A plain page with the widget on it, to try it (and for the browser tests)."""
        name = request.app.state.runtime.pack.business.name
        safe_key = "".join(c for c in key if c.isalnum() or c in "-_")
        html = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
                f"content='width=device-width, initial-scale=1'><title>Chat with us</title></head><body>"
                f"<main><h1>Welcome to our site</h1><p>Questions? Use the chat button.</p></main>"
                f"<script src='/widget.js' data-key='{safe_key}' data-title='Chat with {_attr(name)}' defer>"
                f"</script></body></html>")
        return HTMLResponse(html)

    @router.websocket("/widget/ws")
    async def widget_socket(socket: WebSocket, key: str = "") -> None:
        service: ConversationService = socket.app.state.conversations
        hub: WidgetHub = socket.app.state.widget
        origin = socket.headers.get("origin")
        key_id = await run_in_threadpool(_verify_key, service, key, origin)
        if key_id is None:
            await socket.close(code=POLICY_VIOLATION, reason="unknown widget key or origin not allowed")
            return
        await socket.accept()
        client = socket.client.host if socket.client else "unknown"
        connection = WidgetConnection(socket, service, hub, key_id, client, public_key=key, origin=origin)
        pump: asyncio.Task[None] | None = None
        try:
            while not connection.closed:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("text")
                if not isinstance(raw, str) or len(raw) > 4 * MAX_WIDGET_MESSAGE + 1000:
                    await connection.send({"type": "error", "message": "Unreadable message."})
                    continue
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(frame, dict):
                    continue
                try:
                    if not connection.conversation_id:
                        if frame.get("type") == "hello" and await connection.hello(frame):
                            pump = asyncio.create_task(connection.pump())
                        continue
                    raw_id = frame.get("client_id")
                    pending = clean_text(raw_id)[:CLIENT_ID_CHARS] if isinstance(raw_id, str) else ""
                    if await connection.key_revoked(pending):
                        break
                    await connection.handle(frame)
                except (WebSocketDisconnect, RuntimeError):
                    raise
                except Exception:
                    # One bad frame must not drop the customer's chat.
                    log.exception("widget frame failed on conversation %s", connection.conversation_id or "-")
                    await connection.send({"type": "error", "message": "Sorry, something went wrong. Please try "
                                                                       "again."})
        except WebSocketDisconnect:
            pass
        finally:
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pump

    return router


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace("'", "&#39;").replace('"', "&quot;").replace("<", "&lt;")


def _verify_key(service: ConversationService, key: str, origin: str | None) -> str | None:
    return widget_key_id(service.db, key, origin)
