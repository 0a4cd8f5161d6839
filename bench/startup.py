"""Server start-up time and peak memory (RSS) with the demo pack loaded.

Starts `helpline serve` as a real process on a free port, waits for /api/v1/health, and reads the
process's peak RSS (VmHWM) from /proc. Run: .venv/bin/python -m bench.startup
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.report import memory_mb, write_section

ROOT = Path(__file__).resolve().parents[1]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(process: subprocess.Popen[bytes], port: int, timeout: float = 180.0) -> None:
    """Until `helpline serve` answers /api/v1/health; exits the benchmark if it dies or takes too long."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            sys.exit(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    sys.exit(f"server did not become healthy within {timeout:g} s")


def start_once(tmp: str, phone: bool = False) -> tuple[float, float]:
    """Launch `helpline serve` in `tmp` (its ./var holds the database and embedding cache)."""
    port = free_port()
    command = [
        str(ROOT / ".venv" / "bin" / "helpline"), "serve", "--pack", str(ROOT / "examples" / "demo"),
        "--db", f"sqlite:///{tmp}/helpline.db", "--port", str(port), "--log-level", "warning",
        *(["--sip-port", str(free_port(socket.SOCK_DGRAM))] if phone else ["--no-phone"]),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_healthy(process, port)
        return time.perf_counter() - started, memory_mb(process.pid)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=20)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cold, cold_rss = start_once(tmp)
        warm, warm_rss = start_once(tmp)
        phone, phone_rss = start_once(tmp, phone=True)
    load = os.getloadavg()[0]
    print(f"start-up to healthy: cold {cold:.2f} s, warm {warm:.2f} s   peak RSS: {max(cold_rss, warm_rss):.0f} MB"
          f"   with the phone line (speech models): {phone:.2f} s, {phone_rss:.0f} MB   (load average {load:.1f})")
    write_section(
        "startup",
        "\n".join([
            "## Server start-up and memory (demo pack)",
            "",
            "`python -m bench.startup`: `helpline serve` as a process, from launch until `/api/v1/health`",
            "answers: pack load, table seeding, migrations, MiniLM load, intent training, KB indexing.",
            "*Cold* is a first start (no embedding cache); *warm* a restart, when the pack's embeddings",
            "come from `var/cache`; both text only (`--no-phone`). *With phone* is a warm start that also loads",
            "Whisper base, starts the piper voice process and binds the SIP line. Peak RSS is the process's VmHWM.",
            "",
            "| cold start | warm start | peak RSS | with phone: start | with phone: RSS | load average | targets |",
            "|---|---|---|---|---|---|---|",
            f"| {cold:.2f} s | {warm:.2f} s | {max(cold_rss, warm_rss):.0f} MB | {phone:.2f} s | {phone_rss:.0f} MB "
            f"| {load:.1f} | < 15 s, < 1 GB (text); < 2 GB with speech models |",
        ]),
    )


if __name__ == "__main__":
    main()
