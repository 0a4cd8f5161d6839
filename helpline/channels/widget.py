"""The website chat widget: ``/widget.js`` and its WebSocket at ``/widget/ws``.

Authentication: the page carries a public per-site *widget key* (``data-key``; made in the console's
Settings or with ``helpline widget create-key``). A key may only start chat conversations and, with
the random *resume token* handed out when one starts, continue that one conversation; it reads nothing
else. A key can be limited to the site's origins (the browser's Origin header), and starts and
messages are rate-limited per client address. The API routes keep requiring API keys.

Protocol (JSON frames). Client: ``hello {conversation_id?, token?, last_seq}``, ``say {text, client_id}``,
``end``, ``rate {score}``. Server: ``welcome {conversation_id, token, status, handled_by}``, ``message
{seq, role, text, by}``, ``typing {on}``, ``ack {client_id}``, ``ended``, ``rated``, ``error {message}``.
After a reconnect the client says which ``seq`` it saw last and the server replays what it missed, so
nothing is lost or shown twice; messages not yet acknowledged are sent again with the same
``client_id`` and the server drops the repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from helpline.channels.conversations import (
    ConversationClosed,
    ConversationNotFound,
    ConversationService,
    customer_visible,
)
from helpline.store.models import Conversation
from helpline.store.repositories import ConversationRepository, WidgetChatRepository, WidgetKeyRepository

WIDGET_JS = Path(__file__).resolve().parents[1] / "console" / "static" / "widget.js"
MAX_WIDGET_MESSAGE = 2000
STARTS_PER_MINUTE = 10
MESSAGES_PER_MINUTE = 30
SEEN_CLIENT_IDS = 200
POLICY_VIOLATION = 1008


class RateLimiter:
    """A sliding one-minute window per key (client address). In memory: per server process."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._guard = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._guard:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle clients so memory stays bounded
                for stale in [k for k, v in self._hits.items() if not v][:5000]:
                    del self._hits[stale]
            return True


@dataclass
class WidgetHub:
    """Per-app widget state (kept on ``app.state.widget``)."""

    starts: RateLimiter = field(default_factory=lambda: RateLimiter(STARTS_PER_MINUTE))
    messages: RateLimiter = field(default_factory=lambda: RateLimiter(MESSAGES_PER_MINUTE))
    # client_ids already handled, per conversation: a resent message after a reconnect is not posted twice.
    seen: OrderedDict[str, deque[str]] = field(default_factory=OrderedDict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def first_time(self, conversation_id: str, client_id: str) -> bool:
        with self.guard:
            ids = self.seen.setdefault(conversation_id, deque(maxlen=SEEN_CLIENT_IDS))
            self.seen.move_to_end(conversation_id)
            while len(self.seen) > 5000:
                self.seen.popitem(last=False)
            if client_id in ids:
                return False
            ids.append(client_id)
            return True


def visible_messages(service: ConversationService, conversation_id: str, after: int) -> tuple[list[dict[str, Any]],
                                                                                                    str, str]:
    """What the customer may see after ``after``: no whispers. Plus the status and who answers."""
    with service.db.session() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return [], "ended", ""
        rows = [
            {"type": "message", "seq": m.seq, "role": m.role, "text": m.text,
             "by": (m.meta or {}).get("name", "") if m.role == "human" else ""}
            for m in ConversationRepository(session).messages(conversation_id)
            if m.seq > after and customer_visible(m.role, m.meta)
        ]
        return rows, conversation.status, "yes" if conversation.handled_by else ""


class WidgetConnection:
    """One browser tab's socket: a receive loop plus a pump that forwards committed changes."""

    def __init__(self, socket: WebSocket, service: ConversationService, hub: WidgetHub, key_id: str, client: str):
        self.socket = socket
        self.service = service
        self.hub = hub
        self.key_id = key_id
        self.client = client
        self.conversation_id = ""
        self.last_seq = 0
        self.status = ""
        self._send_lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.socket.send_text(json.dumps(frame))

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
        conversation_id, token = str(frame.get("conversation_id") or ""), str(frame.get("token") or "")
        if conversation_id and token:
            owned = await run_in_threadpool(self._owns, conversation_id, token)
            if owned:
                self.conversation_id = conversation_id
                self.last_seq = max(int(frame.get("last_seq") or 0), 0)
                await self.send({"type": "welcome", "conversation_id": conversation_id, "token": token,
                                 "resumed": True})
                return True
        if not self.hub.starts.allow(self.client):
            await self.send({"type": "error", "message": "Too many new chats from here; please wait a minute."})
            return False
        view = await run_in_threadpool(self.service.start, "chat", f"widget:{self.key_id[:8]}")
        token = await run_in_threadpool(self._bind, view.id)
        self.conversation_id, self.last_seq = view.id, 0
        await self.send({"type": "welcome", "conversation_id": view.id, "token": token, "resumed": False})
        return True

    def _owns(self, conversation_id: str, token: str) -> bool:
        with self.service.db.session() as session:
            return WidgetChatRepository(session).owns(conversation_id, token, self.key_id)

    def _bind(self, conversation_id: str) -> str:
        with self.service.db.session() as session:
            return WidgetChatRepository(session).create(conversation_id, self.key_id)

    async def say(self, frame: dict[str, Any]) -> None:
        text = str(frame.get("text") or "").strip()[:MAX_WIDGET_MESSAGE]
        client_id = str(frame.get("client_id") or "")[:64]
        if not text:
            return
        if client_id and not self.hub.first_time(self.conversation_id, client_id):
            await self.send({"type": "ack", "client_id": client_id})  # already posted before the reconnect
            return
        if not self.hub.messages.allow(self.client):
            await self.send({"type": "error", "message": "You're sending messages very fast; please wait a moment."})
            return
        await self.send({"type": "typing", "on": True})
        try:
            await run_in_threadpool(self.service.post, self.conversation_id, text, f"widget:{self.key_id[:8]}")
        except (ConversationClosed, ConversationNotFound):
            await self.send({"type": "error", "message": "This chat has ended. Reload to start a new one."})
        finally:
            await self.send({"type": "typing", "on": False})
        await self.send({"type": "ack", "client_id": client_id})
        await self.flush()

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
            await run_in_threadpool(self.service.rate, self.conversation_id, score, f"widget:{self.key_id[:8]}")
            await self.send({"type": "rated", "score": score})

    async def pump(self) -> None:
        with self.service.bus.subscribe(self.conversation_id) as subscription:
            await self.flush()  # the replay (after subscribing, so nothing falls between the two)
            while True:
                if await subscription.get(30.0) is not None:
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
        connection = WidgetConnection(socket, service, hub, key_id, client)
        pump: asyncio.Task[None] | None = None
        try:
            while True:
                raw = await socket.receive_text()
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(frame, dict):
                    continue
                if not connection.conversation_id:
                    if frame.get("type") == "hello" and await connection.hello(frame):
                        pump = asyncio.create_task(connection.pump())
                    continue
                await connection.handle(frame)
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
    with service.db.session() as session:
        found = WidgetKeyRepository(session).verify(key, origin)
        return found.id if found else None
