"""The media-stream endpoint over a real WebSocket on loopback, with a client playing the telephony side.

The client speaks the Twilio Media Streams protocol: it streams the caller's espeak-ng speech as base64
mu-law at real-time pace, plays the agent's audio out in real time, echoes each mark once the audio
before it has played, and drops its buffer on `clear`. The server runs what `helpline serve` runs:
`build_voice_services` with Whisper base and the espeak-ng voice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from helpline.api.app import create_app
from helpline.runtime import Runtime
from helpline.store.models import Conversation, Message, Ticket
from helpline.store.repositories import ApiKeyRepository
from helpline.voice.audio import pcm_to_ulaw, ulaw_to_pcm
from helpline.voice.recognition import shared_whisper
from helpline.voice.setup import SpeechModels, build_voice_services
from helpline.voice.synthesis import EspeakSynthesizer
from tests.conftest import RuntimeFactory
from tests.voice.speech import chunks, speak

OPEN = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
PATH = "/api/v1/media-stream"


@dataclass
class Server:
    url: str
    runtime: Runtime
    keys: dict[str, str]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture()
def server(make_runtime: RuntimeFactory) -> Iterator[Server]:
    runtime = make_runtime(OPEN)
    app = create_app(runtime, sweep_every_seconds=None)
    made = Server("", runtime, {})
    app.state.voice = build_voice_services(runtime, SpeechModels(shared_whisper("base"), EspeakSynthesizer(speed=230)))
    with runtime.db.session() as session:
        repo = ApiKeyRepository(session)
        made.keys = {role: repo.create(role=role)[0] for role in ("integration", "agent")}
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio"))
    thread = threading.Thread(target=uv.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    made.url = f"ws://127.0.0.1:{port}{PATH}"
    yield made
    uv.should_exit = True
    thread.join(timeout=10)
    assert not thread.is_alive()


def start_message(parameters: dict[str, str] | None = None) -> dict[str, Any]:
    return {"event": "start", "sequenceNumber": "1", "streamSid": "MZ0001",
            "start": {"accountSid": "AC01", "streamSid": "MZ0001", "callSid": "CA0001", "tracks": ["inbound"],
                      "customParameters": parameters or {"caller": "+15550100"},
                      "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}


class Telephony:
    """The cloud number's side of the stream."""

    def __init__(self, ws: ClientConnection):
        self.ws = ws
        self.to_say: list[tuple[bytes, asyncio.Future[float]]] = []
        self.playing = bytearray()
        self.heard = 0  # bytes of agent audio played out
        self.marks: list[str] = []
        self.pending_marks: list[tuple[int, str]] = []  # (position in what was received, name)
        self.received = 0
        self.since_clear = 0  # bytes of agent audio received after the last clear
        self.clears: list[float] = []
        self.closed = asyncio.Event()
        self.sequence = 1

    async def send(self, message: dict[str, Any]) -> None:
        self.sequence += 1
        await self.ws.send(json.dumps({"sequenceNumber": str(self.sequence), "streamSid": "MZ0001", **message}))

    async def say(self, pcm: bytes) -> float:
        started: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.to_say.append((pcm, started))
        return await started

    async def line(self) -> None:
        """20 ms of caller audio every 20 ms (silence unless saying something), and the agent played out."""
        begin, n, pending = time.monotonic(), 0, list[bytes]()
        while not self.closed.is_set():
            if not pending and self.to_say:
                pcm, started = self.to_say.pop(0)
                pending = chunks(pcm)
                started.set_result(time.monotonic())
            frame = pending.pop(0) if pending else b"\x00\x00" * 160
            try:
                await self.send({"event": "media", "media": {"track": "inbound", "chunk": str(n + 1),
                                                             "timestamp": str(n * 20),
                                                             "payload": base64.b64encode(pcm_to_ulaw(frame)).decode()}})
            except ConnectionClosed:
                return
            played = min(len(self.playing), 320)
            del self.playing[:played]
            self.heard += played
            while self.pending_marks and self.pending_marks[0][0] <= self.received - len(self.playing):
                name = self.pending_marks.pop(0)[1]
                self.marks.append(name)
                await self.send({"event": "mark", "mark": {"name": name}})
            n += 1
            await asyncio.sleep(max(0.0, begin + n * 0.02 - time.monotonic()))

    async def listen(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                assert message["streamSid"] == "MZ0001"
                if message["event"] == "media":
                    pcm = ulaw_to_pcm(base64.b64decode(message["media"]["payload"]))
                    self.playing += pcm
                    self.received += len(pcm)
                    self.since_clear += len(pcm)
                elif message["event"] == "mark":
                    self.pending_marks.append((self.received, message["mark"]["name"]))
                elif message["event"] == "clear":
                    self.clears.append(time.monotonic())
                    self.since_clear = 0
                    self.received -= len(self.playing)
                    self.playing.clear()
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()


def test_a_call_over_the_media_stream(server: Server) -> None:
    question, bye = speak("How long do I have to return something?"), speak("No, that's all. Goodbye.")

    async def scenario() -> tuple[Telephony, list[float]]:
        async with connect(server.url, additional_headers={"Authorization": f"Bearer {server.keys['integration']}"}) \
                as ws:
            phone = Telephony(ws)
            await phone.send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            await ws.send(json.dumps(start_message()))
            tasks = [asyncio.create_task(phone.line()), asyncio.create_task(phone.listen())]
            while phone.heard < 8000 * 2:  # a second of the greeting
                await asyncio.sleep(0.01)
            await phone.send({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": "#"}})
            spoke = [await phone.say(question)]
            while not phone.clears or phone.since_clear < 8000 * 2 * 2:  # two seconds of the answer
                await asyncio.sleep(0.01)
            spoke.append(await phone.say(bye))
            await asyncio.wait_for(phone.closed.wait(), 30)  # the agent hangs up after its goodbye
            for task in tasks:
                task.cancel()
            return phone, spoke

    phone, spoke = asyncio.run(scenario())
    assert phone.heard > 8000 * 2 * 3  # the agent's audio came back
    assert phone.marks, "no mark was sent and echoed"
    assert len(phone.clears) >= 1 and phone.clears[0] - spoke[0] < 0.25  # barge-in: clear, within the goal + RTT
    with server.runtime.db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        conversation = session.get(Conversation, ticket.conversation_id)
        lines = [(m.role, m.text) for m in session.scalars(select(Message).where(
            Message.conversation_id == ticket.conversation_id).order_by(Message.seq))]
        assert ticket.channel == "phone"
        assert conversation is not None and conversation.status == "ended"
    assert lines[1][0] == "customer" and "return" in lines[1][1].lower()  # as Whisper heard it
    assert lines[2][0] == "agent" and "Returns and refunds" in lines[2][1]
    assert lines[-2][0] == "customer" and "bye" in lines[-2][1].lower()
    assert lines[-1][0] == "agent" and "bye" in lines[-1][1].lower()


async def drain(ws: ClientConnection) -> None:
    async for _ in ws:
        pass


def test_the_stream_needs_an_integration_key(server: Server) -> None:
    async def attempt(url: str, headers: dict[str, str] | None = None,
                      parameters: dict[str, str] | None = None, first: dict[str, str] | None = None) -> str:
        try:
            async with connect(url, additional_headers=headers) as ws:
                if first:
                    await ws.send(json.dumps(first))
                await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
                await ws.send(json.dumps(start_message(parameters)))
                try:
                    await asyncio.wait_for(ws.recv(), 5)
                    # keep reading (a client that stops reading never sees the close) while the greeting's
                    # synthesis finishes, then hang up
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(drain(ws), 1.0)
                    return "talking"
                except ConnectionClosed as closed:
                    return f"closed {closed.rcvd.code if closed.rcvd else ''}"
        except InvalidStatus as refused:
            return f"refused {refused.response.status_code}"

    async def scenario() -> list[str]:
        return [
            await attempt(server.url),  # no key at all
            await attempt(server.url + "?key=hl_nonsense"),
            await attempt(server.url, headers={"Authorization": f"Bearer {server.keys['agent']}"}),
            await attempt(server.url, parameters={"key": server.keys["agent"]}),
            await attempt(server.url, headers={"Authorization": f"Bearer {server.keys['integration']}"}),
            await attempt(server.url, parameters={"key": server.keys["integration"]}),
            # never in the URL (it would be in the access log), even a good key
            await attempt(server.url + f"?key={server.keys['integration']}"),
            await attempt(server.url, first={"event": "authenticate", "key": server.keys["agent"]}),
            await attempt(server.url, first={"event": "authenticate", "key": server.keys["integration"]}),
        ]

    assert asyncio.run(scenario()) == ["closed 1008", "refused 403", "refused 403", "closed 1008", "talking",
                                       "talking", "refused 403", "closed 1008", "talking"]
