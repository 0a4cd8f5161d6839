"""Calls from a cloud-telephony number over a media-stream WebSocket (the Twilio Media Streams shape).

A hosted number bridges the call to ``wss://HOST/api/v1/media-stream`` (Twilio: ``<Connect><Stream>``).
The peer sends JSON text frames: ``connected``; ``start`` {streamSid, callSid, customParameters,
mediaFormat {encoding audio/x-mulaw, sampleRate 8000, channels 1}}; ``media`` {payload: base64 mu-law,
timestamp, chunk}; ``dtmf`` {digit}; ``mark`` {name} (a mark we sent has been played); ``stop``. We
send ``media`` {streamSid, media {payload}}, ``mark`` {streamSid, mark {name}} and ``clear`` {streamSid}.

The call runs through the same pipeline as SIP calls (`run_call`). Agent audio goes out paced in real
time, a little ahead (`LEAD_SECONDS`), so a barge-in's ``clear`` has almost nothing to drop on the far
side and `queued_seconds` stays honest; a ``mark`` after each stretch of speech, echoed back by the
peer once played, confirms it (a peer that never echoes is trusted after `MARK_GRACE_SECONDS`).
Hanging up closes the socket: the number's next instruction (usually none: the call ends) follows.

Authentication: an API key with the ``integration`` role, as ``Authorization: Bearer KEY``, in a first
message ``{"event": "authenticate", "key": KEY}``, or (Twilio cannot send headers) a ``key`` custom
parameter of the stream, checked on ``start`` before any audio is used. A key in the URL (``?key=``) is
refused: URLs end up in access logs and proxies' logs (the server's own log lines are scrubbed too, by
``helpline.api.logscrub``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketState

from helpline.api.validation import clean_text
from helpline.application.keys import api_key_holder
from helpline.voice.audio import pcm_to_ulaw, ulaw_to_pcm
from helpline.voice.frames import AudioIn, KeypadDigit
from helpline.voice.transport import VoiceServices, run_call

log = logging.getLogger(__name__)

PATH = "/api/v1/media-stream"
RATE = 8000
FRAME_BYTES = RATE // 50 * 2  # 20 ms of 16-bit PCM
LEAD_SECONDS = 0.1  # agent audio sent ahead of real time: the far side's buffer, dropped by `clear`
MARK_GRACE_SECONDS = 0.6  # how long past its expected play time an unechoed mark still counts
INBOUND_LIMIT = 500  # 10 s of caller audio waiting for the pipeline; beyond that it is dropped
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
ROLES = ("integration",)
DIGITS = set("0123456789*#ABCD")


class MediaStreamCall:
    """One media stream as the pipeline's `CallMedia`."""

    def __init__(self, socket: WebSocket, start: dict[str, Any]):
        self.socket = socket
        self.stream_sid = str(start.get("streamSid") or "")
        parameters = start.get("customParameters") or {}
        self.call_id = str(start.get("callSid") or self.stream_sid)
        self.caller = clean_text(str(parameters.get("caller") or parameters.get("from") or ""))[:64]
        self.callee = clean_text(str(parameters.get("callee") or parameters.get("to") or ""))[:64]
        self.sample_rate = RATE
        self.marks_echoed = 0
        self._inbound: asyncio.Queue[AudioIn | KeypadDigit | None] = asyncio.Queue(maxsize=INBOUND_LIMIT)
        self._outbound = bytearray()
        self._playout_end = 0.0  # monotonic time the far side finishes what we have sent
        self._marks: deque[tuple[str, float]] = deque()  # sent, not yet echoed: (name, expected play time)
        self._mark_count = 0
        self._send_lock = asyncio.Lock()
        self._sending: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._ended = False
        self._sender = asyncio.create_task(self._send_audio(), name=f"media-stream:{self.call_id}")

    # -- CallMedia

    async def receive(self) -> AsyncIterator[AudioIn | KeypadDigit]:
        while True:
            item = await self._inbound.get()
            if item is None:
                return
            yield item

    async def play(self, pcm: bytes) -> None:
        if not self._ended:
            self._outbound += pcm
            self._wake.set()

    def clear(self) -> None:
        self._outbound.clear()
        self._playout_end = time.monotonic()
        self._marks.clear()  # the peer answers a clear by echoing every pending mark
        self._send_soon({"event": "clear", "streamSid": self.stream_sid})

    def queued_seconds(self) -> float:
        now = time.monotonic()
        remote = max(0.0, self._playout_end - now)
        while self._marks and self._marks[0][1] + MARK_GRACE_SECONDS < now:
            self._marks.popleft()  # a peer that does not echo marks: trust the clock
        if self._marks and remote == 0:
            remote = 1 / 50  # played by our clock, not yet confirmed by the peer
        return len(self._outbound) / 2 / RATE + remote

    async def hang_up(self) -> None:
        self.finish()
        self._sender.cancel()
        await asyncio.wait({self._sender})  # not `await`: that would swallow our own cancellation
        if self.socket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.socket.close(code=1000)

    @property
    def ended(self) -> bool:
        return self._ended

    # -- the peer's messages

    def handle(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event == "media":
            media = message.get("media") or {}
            if media.get("track", "inbound") not in ("inbound", "inbound_track"):
                return
            try:
                pcm = ulaw_to_pcm(base64.b64decode(str(media.get("payload") or ""), validate=True))
            except (binascii.Error, ValueError):
                return
            if pcm:
                self._put(AudioIn(pcm, RATE, received_at=time.monotonic()))
        elif event == "dtmf":
            digit = str((message.get("dtmf") or {}).get("digit") or "")
            if digit in DIGITS and len(digit) == 1:
                self._put(KeypadDigit(digit, received_at=time.monotonic()))
        elif event == "mark":
            name = str((message.get("mark") or {}).get("name") or "")
            self.marks_echoed += 1
            while self._marks:  # everything up to the echoed mark has played
                if self._marks.popleft()[0] == name:
                    break
        elif event == "stop":
            self.finish()

    def _put(self, item: AudioIn | KeypadDigit) -> None:
        if self._ended:
            return
        with contextlib.suppress(asyncio.QueueFull):
            self._inbound.put_nowait(item)

    def finish(self) -> None:
        """The stream is over (stop, socket closed, or we hung up): the pipeline's input ends."""
        if self._ended:
            return
        self._ended = True
        self._outbound.clear()
        while True:
            try:
                self._inbound.put_nowait(None)
                return
            except asyncio.QueueFull:
                self._inbound.get_nowait()  # the end must get in, even past unread audio

    # -- sending

    async def _send_audio(self) -> None:
        """20 ms frames at real-time pace, `LEAD_SECONDS` ahead; a mark after each stretch of speech."""
        marked = True
        while not self._ended:
            now = time.monotonic()
            if self._outbound and self._playout_end - now < LEAD_SECONDS:
                frame = bytes(self._outbound[:FRAME_BYTES])
                del self._outbound[:FRAME_BYTES]
                self._playout_end = max(self._playout_end, now) + len(frame) / 2 / RATE
                marked = False
                await self._send({"event": "media", "streamSid": self.stream_sid,
                                  "media": {"payload": base64.b64encode(pcm_to_ulaw(frame)).decode("ascii")}})
                continue
            if not self._outbound and not marked:
                marked = True
                self._mark_count += 1
                name = f"agent-{self._mark_count}"
                self._marks.append((name, self._playout_end))
                await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})
                continue
            if self._outbound:
                await asyncio.sleep(min(0.02, max(0.0, self._playout_end - now - LEAD_SECONDS)))
            else:
                self._wake.clear()
                await self._wake.wait()

    def _send_soon(self, message: dict[str, Any]) -> None:
        if not self._ended:
            task = asyncio.get_running_loop().create_task(self._send(message))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            try:
                await self.socket.send_text(json.dumps(message))
            except (WebSocketDisconnect, RuntimeError, OSError):
                self.finish()


def _bearer(socket: WebSocket) -> str:
    scheme, _, token = socket.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _allowed(socket: WebSocket, key: str) -> bool:
    holder = await run_in_threadpool(api_key_holder, socket.app.state.db, key)
    return holder is not None and holder.allowed(ROLES)


async def _read_start(socket: WebSocket, keys: list[str]) -> dict[str, Any] | None:
    """Messages up to and including ``start`` (``connected`` comes first); None if the stream ends. The
    key of an ``authenticate`` message before ``start`` is added to ``keys``."""
    while True:
        try:
            message = json.loads(await asyncio.wait_for(socket.receive_text(), 10))
        except (ValueError, TimeoutError, WebSocketDisconnect, KeyError):
            return None
        if isinstance(message, dict) and message.get("event") == "authenticate":
            key = message.get("key")
            keys.append(key if isinstance(key, str) else "")
            continue
        if isinstance(message, dict) and message.get("event") == "start":
            start = message.get("start")
            if isinstance(start, dict):
                start.setdefault("streamSid", message.get("streamSid"))
                return start
            return None
        if isinstance(message, dict) and message.get("event") == "stop":
            return None


async def _pump(socket: WebSocket, call: MediaStreamCall) -> None:
    try:
        while not call.ended:
            raw = await socket.receive_text()
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if isinstance(message, dict):
                call.handle(message)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        call.finish()


def media_stream_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.websocket(PATH)
    async def media_stream(socket: WebSocket) -> None:
        services: VoiceServices | None = getattr(socket.app.state, "voice", None)
        if "key" in socket.query_params:
            await socket.close(code=POLICY_VIOLATION, reason="send the API key in the Authorization header or the "
                                                             "first message, never in the URL")
            return
        given = _bearer(socket)
        if given and not await _allowed(socket, given):
            await socket.close(code=POLICY_VIOLATION, reason="invalid API key or role (needs integration)")
            return
        await socket.accept()
        sent_keys: list[str] = []
        start = await _read_start(socket, sent_keys)
        if start is None:
            await socket.close(code=POLICY_VIOLATION, reason="expected a start message")
            return
        if not given:
            parameters = start.get("customParameters") or {}
            in_start = str(parameters.get("key") or "") if isinstance(parameters, dict) else ""
            if not await _allowed(socket, sent_keys[0] if sent_keys else in_start):
                await socket.close(code=POLICY_VIOLATION, reason="invalid API key or role (needs integration)")
                return
        media_format = start.get("mediaFormat") or {}
        if media_format and (media_format.get("encoding") != "audio/x-mulaw" or
                             int(media_format.get("sampleRate") or RATE) != RATE):
            await socket.close(code=POLICY_VIOLATION, reason="only audio/x-mulaw at 8000 Hz is supported")
            return
        if services is None:
            await socket.close(code=TRY_AGAIN_LATER, reason="phone calls are not enabled on this server")
            return
        call = MediaStreamCall(socket, start)
        pump = asyncio.create_task(_pump(socket, call), name=f"media-stream-in:{call.call_id}")
        try:
            outcome = await run_call(call, services, "media-stream")
            log.info("media stream call %s ended by the %s (conversation %s)", call.call_id, outcome.ended_by,
                     outcome.conversation_id)
        finally:
            await call.hang_up()
            pump.cancel()
            await asyncio.wait({pump})  # not `await`: that would swallow our own cancellation

    return router
