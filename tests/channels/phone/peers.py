"""Real peers for the phone tests, and the audio helpers they need.

Every process started here has a time limit and is ended by its own pid (never by name), whatever happens
to the test: `Sipp.run` waits with a timeout and kills on expiry; `Baresip` is a context manager whose exit
asks it to quit, then kills its pid.
"""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpline.channels.phone.rtp import RtpPacket

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
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return read_wav(speech_wav(text, Path(folder) / "speech.wav", rate))[0]


def read_wav(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path), "rb") as handle:
        assert handle.getsampwidth() == 2, "16-bit WAV expected"
        frames = handle.readframes(handle.getnframes())
        if handle.getnchannels() == 2:
            frames = np.frombuffer(frames, "<i2")[::2].tobytes()
        return frames, handle.getframerate()


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
        out += struct.pack("<IIII", int(when), int(round((when % 1) * 1e6)) % 1_000_000, len(ethernet),
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
