"""Real peers for the phone tests, and the audio helpers they need.

Every process started here has a time limit and is ended by its own pid (never by name), whatever happens
to the test: `Sipp.run` waits with a timeout and kills on expiry; `Baresip` is a context manager whose exit
asks it to quit, then kills its pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpline.channels.phone import PhoneCall, SipConfig, SipUserAgent
from helpline.channels.phone.rtp import RtpPacket
from helpline.voice.frames import AudioIn

SIPP = shutil.which("sipp")
BARESIP = shutil.which("baresip")
ESPEAK = shutil.which("espeak-ng")
SOX = shutil.which("sox")
SCENARIOS = Path(__file__).parent / "scenarios"


# --- audio ----------------------------------------------------------------------------------------


def speech_wav(text: str, path: Path, rate: int = 8000, voice: str = "en-us") -> Path:
    """espeak-ng speech as 16-bit mono WAV at `rate` (what a caller's microphone would give)."""
    assert ESPEAK and SOX, "espeak-ng and sox are needed (apt)"
    raw = path.with_suffix(".espeak.wav")
    subprocess.run([ESPEAK, "-v", voice, "-s", "150", "-w", str(raw), text], check=True, timeout=30,
                   capture_output=True)
    subprocess.run([SOX, str(raw), "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", str(path)],
                   check=True, timeout=30, capture_output=True)
    raw.unlink()
    return path


def speech_pcm(text: str, rate: int = 8000) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return read_wav(speech_wav(text, Path(folder) / "speech.wav", rate))[0]


def read_wav(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path), "rb") as handle:
        assert handle.getsampwidth() == 2, "16-bit WAV expected"
        frames = handle.readframes(handle.getnframes())
        if handle.getnchannels() == 2:
            frames = np.frombuffer(frames, "<i2")[::2].tobytes()
        return frames, handle.getframerate()


def _wav_data(path: Path) -> bytes:
    data = path.read_bytes()
    at = data.find(b"data", 12)
    if at < 0:
        return b""
    pcm = data[at + 8:]
    return pcm[: len(pcm) - len(pcm) % 2]


def write_wav(path: Path, pcm: bytes, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm)
    return path


def tone(hz: float, seconds: float, rate: int = 8000, level: float = 0.3) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * hz * t) * 32767 * level).astype("<i2").tobytes()


def tone_share(pcm: bytes, hz: float, rate: int = 8000) -> float:
    """The share of the signal's energy within ±25 Hz of `hz` (1.0: a pure tone)."""
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    if x.size == 0 or not np.any(x):
        return 0.0
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    frequencies = np.fft.rfftfreq(x.size, 1 / rate)
    return float(spectrum[np.abs(frequencies - hz) <= 25].sum() / spectrum.sum())


def best_correlation(received: bytes, reference: bytes, max_lag_seconds: float = 3.0, rate: int = 8000) -> float:
    """The highest normalised cross-correlation of `reference` within `received` (1.0: identical waveform)."""
    a = np.frombuffer(received, "<i2").astype(np.float64)
    b = np.frombuffer(reference, "<i2").astype(np.float64)
    n = min(b.size, max(0, a.size - 1))
    if n < rate // 4:
        return 0.0
    b = b[:n]
    size = 1 << int(np.ceil(np.log2(a.size + n)))
    correlation = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    lags = min(a.size - n, int(max_lag_seconds * rate))
    energy = np.sqrt(np.convolve(a * a, np.ones(n), "valid")[: lags + 1] * np.dot(b, b))
    values = correlation[: lags + 1] / np.maximum(energy, 1e-9)
    return float(values.max())


# --- packet captures ------------------------------------------------------------------------------


def read_pcap_rtp(path: Path) -> list[RtpPacket]:
    """The RTP packets of a little-endian Ethernet/IPv4/UDP pcap (sipp's sample captures)."""
    data = path.read_bytes()
    assert struct.unpack("<I", data[:4])[0] == 0xA1B2C3D4
    packets: list[RtpPacket] = []
    offset = 24
    while offset + 16 <= len(data):
        length = struct.unpack("<I", data[offset + 8:offset + 12])[0]
        frame = data[offset + 16:offset + 16 + length]
        offset += 16 + length
        ip = frame[14:]
        udp = ip[(ip[0] & 0x0F) * 4:]
        packets.append(RtpPacket.parse(udp[8:]))
    return packets


def write_pcap_rtp(path: Path, packets: list[RtpPacket], interval: float = 0.02) -> Path:
    """An Ethernet/IPv4/UDP capture of `packets`, `interval` apart, for sipp's play_pcap_audio."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for index, packet in enumerate(packets):
        rtp = packet.serialize()
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index & 0xFFFF, 0, 64, 17, 0,
                         socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1")) + udp
        ethernet = b"\x00" * 12 + b"\x08\x00" + ip
        when = 1_000_000 + index * interval
        out += struct.pack("<IIII", int(when), round((when % 1) * 1e6) % 1_000_000, len(ethernet),
                           len(ethernet))
        out += ethernet
    path.write_bytes(bytes(out))
    return path


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class PortBlock:
    """A run of free UDP ports for one test's RTP range (checked at creation; our allocator skips taken ones)."""

    first: int
    last: int


def free_port_block(size: int = 40, host: str = "127.0.0.1") -> PortBlock:
    import random

    for _ in range(50):
        first = random.randrange(20000, 60000 - size) & ~1
        sockets: list[socket.socket] = []
        try:
            for port in range(first, first + size, 2):
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(probe)
                probe.bind((host, port))
            return PortBlock(first, first + size - 1)
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
    raise RuntimeError("no free port block")


def free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def free_sip_port(host: str = "127.0.0.1") -> int:
    """A port free for SIP over UDP and TCP, with port + 1 free for TCP too (baresip's TLS transport)."""
    for _ in range(50):
        port = free_udp_port(host)
        probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(2)]
        try:
            probes[0].bind((host, port))
            probes[1].bind((host, port + 1))
            return port
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise RuntimeError("no free SIP port")


def udp_port_taken(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


# --- our user agent and a recording call handler -----------------------------------------------------


@asynccontextmanager
async def user_agent(handler: Callable[[PhoneCall], Awaitable[None]] | None = None,
                     **settings: Any) -> AsyncIterator[SipUserAgent]:
    """A started SipUserAgent on 127.0.0.1 with a free SIP port and its own free RTP range."""
    block = free_port_block(settings.pop("rtp_port_count", 40))
    config = SipConfig(**{"host": "127.0.0.1", "port": 0, "rtp_ports": (block.first, block.last), **settings})
    ua = SipUserAgent(config, handler)
    await ua.start()
    try:
        yield ua
    finally:
        await ua.stop()


@dataclass
class CallRecord:
    call: PhoneCall
    audio: bytearray = field(default_factory=bytearray)  # what the caller sent (silence frames included)
    digits: list[str] = field(default_factory=list)
    held_seen: bool = False
    ended_at: float = 0.0


class Recorder:
    """A call handler that records what the caller sends and plays them `play` (then waits, or hangs up).

    `play` may be bytes, or a function of the call (so each call can get its own audio)."""

    def __init__(self, play: bytes | Callable[[PhoneCall], bytes] = b"", *, hang_up_after_playing: bool = False,
                 linger: float = 0.2) -> None:
        self.play = play
        self.hang_up_after_playing = hang_up_after_playing
        self.linger = linger
        self.records: list[CallRecord] = []
        self.answered = asyncio.Event()
        self.finished = asyncio.Event()

    def __call__(self, call: PhoneCall) -> Awaitable[None]:
        return self._handle(call)

    async def _handle(self, call: PhoneCall) -> None:
        record = CallRecord(call)
        self.records.append(record)
        self.answered.set()
        audio = self.play(call) if callable(self.play) else self.play
        if audio:
            await call.play(audio)
        reader = asyncio.create_task(self._read(record))
        try:
            if self.hang_up_after_playing:
                await call.wait_played()
                await asyncio.sleep(self.linger)
                await call.hang_up()
            await reader
        finally:
            reader.cancel()
            record.ended_at = time.monotonic()
            self.finished.set()

    @staticmethod
    async def _read(record: CallRecord) -> None:
        async for frame in record.call.receive():
            record.held_seen = record.held_seen or record.call.held
            if isinstance(frame, AudioIn):
                record.audio += frame.pcm
            else:
                record.digits.append(frame.digit)

    async def wait_calls(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.records) < count or any(not r.call.ended for r in self.records[:count]):
                await asyncio.sleep(0.05)


# --- sipp -----------------------------------------------------------------------------------------


@dataclass
class SippResult:
    returncode: int
    log: str  # sipp's own errors, its message trace (tail) and screen (tail)

    def check(self) -> None:
        assert self.returncode == 0, f"sipp exited {self.returncode}\n{self.log}"


class Sipp:
    """One sipp process: a caller (UAC) when `target` is given, else a callee/registrar (UAS) on `port`.

    It has a global time limit (`-timeout`, failing the run) and is killed by pid if it outlives it.
    """

    def __init__(self, scenario: str, workdir: Path, *, target: tuple[str, int] | None = None, calls: int = 1,
                 limit: int | None = None, rate: float | None = None, rate_period_ms: int | None = None,
                 timeout: float = 20.0, rtp_echo: bool = False, service: str = "helpline",
                 extra: Sequence[str] = ()) -> None:
        assert SIPP, "sipp is needed (apt sip-tester)"
        self.scenario = SCENARIOS / scenario if not Path(scenario).is_absolute() else Path(scenario)
        self.workdir = workdir / f"sipp-{self.scenario.stem}-{free_udp_port()}"
        self.workdir.mkdir(parents=True)
        self.target = target
        self.port = free_udp_port()
        self.media_port = free_port_block(4).first
        self.timeout = timeout
        self.process: asyncio.subprocess.Process | None = None
        self.args = [SIPP, *([f"{target[0]}:{target[1]}"] if target else []), "-sf", str(self.scenario),
                     "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(self.port), "-mp", str(self.media_port),
                     "-m", str(calls), "-s", service, "-nostdin", "-timeout", f"{int(timeout)}s", "-timeout_error",
                     "-trace_err", "-error_file", str(self.workdir / "errors.log"),
                     "-trace_msg", "-message_file", str(self.workdir / "messages.log"),
                     "-trace_screen", "-screen_file", str(self.workdir / "screen.log")]
        if limit is not None:
            self.args += ["-l", str(limit)]
        if rate is not None:
            self.args += ["-r", f"{rate:g}"]
        if rate_period_ms is not None:
            self.args += ["-rp", str(rate_period_ms)]
        if rtp_echo:
            self.args.append("-rtp_echo")
        self.args += list(extra)

    @property
    def uri(self) -> str:
        return f"sip:bob@127.0.0.1:{self.port}"

    async def start(self) -> None:
        with (self.workdir / "stdout.log").open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(*self.args, cwd=self.workdir, stdout=out,
                                                                stderr=asyncio.subprocess.STDOUT,
                                                                stdin=asyncio.subprocess.DEVNULL)
        if self.target is None:  # a callee: wait until it listens
            async with asyncio.timeout(5):
                while not udp_port_taken(self.port):
                    if self.process.returncode is not None:
                        raise RuntimeError(f"sipp ended at once:\n{self.read_log()}")
                    await asyncio.sleep(0.05)

    async def wait(self) -> SippResult:
        assert self.process is not None
        try:
            await asyncio.wait_for(self.process.wait(), self.timeout + 5)
        except TimeoutError:
            pass
        finally:
            await self.kill()
        return SippResult(self.process.returncode if self.process.returncode is not None else -9, self.read_log())

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
            await self.process.wait()

    async def run(self) -> SippResult:
        await self.start()
        return await self.wait()

    async def __aenter__(self) -> Sipp:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.kill()

    def read_log(self) -> str:
        parts = []
        for name, tail in [("errors.log", 4000), ("messages.log", 8000), ("stdout.log", 2000)]:
            path = self.workdir / name
            if path.exists():
                parts.append(f"--- {name}\n" + path.read_text(errors="replace")[-tail:])
        return "\n".join(parts)


# --- baresip --------------------------------------------------------------------------------------


class Baresip:
    """A baresip softphone on 127.0.0.1 with no sound device: its microphone is a WAV file (aufile), and what
    it hears is recorded by sndfile (`heard()`). Driven over ctrl_tcp (JSON netstrings): `dial`, `hang_up`,
    events (`wait_event("CALL_CLOSED")`). Auto-answers incoming calls when `auto_answer`.

    Its life is bounded twice: baresip's own `-t` limit, and `stop()` (quit, then SIGKILL by pid).
    """

    def __init__(self, workdir: Path, *, user: str = "alice", source: Path | None = None, auto_answer: bool = True,
                 lifetime: float = 40.0) -> None:
        assert BARESIP, "baresip is needed (apt baresip-core)"
        self.user = user
        self.folder = Path(tempfile.mkdtemp(prefix=f"baresip-{user}-", dir=workdir))
        # sndfile cuts file names at a short length: record under a short path, copied to `folder` on stop()
        self.recordings = Path(tempfile.mkdtemp(prefix="bs-"))
        self.lifetime = lifetime
        self.auto_answer = auto_answer
        self.source = source or write_wav(self.folder / "silence.wav", b"\x00\x00" * 8000 * 2)
        self.port = self.control_port = 0
        self._configure()
        self.process: asyncio.subprocess.Process | None = None
        self.events: list[dict[str, Any]] = []
        self._responses: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._event_arrived = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._listener: asyncio.Task[None] | None = None
        self._token = 0

    def _configure(self) -> None:
        """Choose free ports and write baresip's config and account for them."""
        self.port = free_sip_port()
        self.control_port = free_tcp_port()
        block = free_port_block(20)
        (self.folder / "config").write_text("\n".join([
            "poll_method epoll",
            f"sip_listen 127.0.0.1:{self.port}",
            "net_interface 127.0.0.1",
            "call_local_timeout 120",
            "call_max_calls 4",
            f"audio_source aufile,{self.source}",
            "audio_player aubridge,nowhere",  # a player that plays nowhere: the recording is what counts
            "audio_alert aubridge,nowhere",
            "ausrc_srate 8000", "auplay_srate 8000", "ausrc_channels 1", "auplay_channels 1",
            f"rtp_ports {block.first}-{block.last}",
            "jitter_buffer_delay 1-4",
            "module_path /usr/lib/baresip/modules",
            "module g711.so", "module aufile.so", "module aubridge.so", "module sndfile.so", "module ctrl_tcp.so",
            "module_app account.so", "module_app menu.so",
            f"snd_path {self.recordings}",
            f"ctrl_tcp_listen 127.0.0.1:{self.control_port}",
        ]) + "\n")
        answer = "auto" if self.auto_answer else "manual"
        (self.folder / "accounts").write_text(
            f"<sip:{self.user}@127.0.0.1:{self.port}>;regint=0;answermode={answer};audio_codecs=PCMU,PCMA\n")

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@127.0.0.1:{self.port}"

    async def start(self) -> None:
        # The ports were free when chosen, but another test's process may bind one before baresip does
        # (its SIP/TLS transport takes port + 1 as well): then choose again rather than fail the test.
        assert BARESIP, "baresip is needed (apt baresip-core)"
        for attempt in range(3):
            with (self.folder / "baresip.log").open("wb") as out:
                self.process = await asyncio.create_subprocess_exec(
                    BARESIP, "-f", str(self.folder), "-t", str(int(self.lifetime)), cwd=self.folder,
                    stdout=out, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL)
            if await self._connect_control():
                break
            if "Address already in use" not in self.log() or attempt == 2:
                raise RuntimeError(f"baresip ended at once:\n{self.log()}")
            self._configure()
        self._listener = asyncio.create_task(self._listen())

    async def _connect_control(self) -> bool:
        """Connect to baresip's control port; False when baresip ended before it listened."""
        assert self.process is not None
        async with asyncio.timeout(10):
            while True:
                if self.process.returncode is not None:
                    return False
                try:
                    self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.control_port)
                    return True
                except OSError:
                    await asyncio.sleep(0.05)

    async def _listen(self) -> None:
        assert self._reader is not None
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ValueError):
            while True:
                length = await self._reader.readuntil(b":")
                message = json.loads(await self._reader.readexactly(int(length[:-1])))
                await self._reader.readexactly(1)  # the netstring's comma
                if message.get("response"):
                    self._responses.put_nowait(message)
                else:
                    self.events.append(message)
                    self._event_arrived.set()

    async def command(self, command: str, params: str = "") -> dict[str, Any]:
        assert self._writer is not None, "start() first"
        self._token += 1
        data = json.dumps({"command": command, "params": params, "token": str(self._token)}).encode()
        self._writer.write(b"%d:%s," % (len(data), data))
        await self._writer.drain()
        async with asyncio.timeout(5):
            while True:
                response = await self._responses.get()
                if response.get("token") == str(self._token):
                    return response

    async def dial(self, uri: str) -> None:
        await self.command("dial", uri)

    async def hang_up(self) -> None:
        await self.command("hangup")

    async def wait_event(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    if event.get("type") == kind:
                        return event
                self._event_arrived.clear()
                await self._event_arrived.wait()

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.command("quit"), 2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), 3)
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
            await self.process.wait()
        if self._listener is not None:
            self._listener.cancel()
        if self._writer is not None:
            self._writer.close()
        if self.recordings.parent != self.folder:
            kept = self.folder / "recordings"
            shutil.copytree(self.recordings, kept)
            shutil.rmtree(self.recordings, ignore_errors=True)
            self.recordings = kept

    async def __aenter__(self) -> Baresip:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def heard(self) -> bytes:
        """What baresip received and decoded over its calls, as 8 kHz PCM (sndfile's `-dec` recordings).

        Readable while baresip runs: sndfile writes the WAV sizes only when it closes the file, so the data
        chunk is taken to the end of what is on disk."""
        return b"".join(_wav_data(path) for path in sorted(self.recordings.glob("*-dec*")))

    def log(self) -> str:
        path = self.folder / "baresip.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""
