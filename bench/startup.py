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

from bench.report import write_section

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            str(ROOT / ".venv" / "bin" / "helpline"),
            "serve",
            "--pack",
            str(ROOT / "examples" / "demo"),
            "--db",
            f"sqlite:///{tmp}/helpline.db",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            ready = None
            while time.perf_counter() - started < 120:
                if process.poll() is not None:
                    sys.exit(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=0.5).status_code == 200:
                        ready = time.perf_counter() - started
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            if ready is None:
                sys.exit("server did not become healthy within 120 s")
            rss = peak_rss_mb(process.pid)
        finally:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
    print(f"start-up to healthy: {ready:.2f} s   peak RSS: {rss:.0f} MB")
    write_section(
        "startup",
        "\n".join(
            [
                "## Server start-up and memory (demo pack)",
                "",
                "`python -m bench.startup`: `helpline serve` as a process, from launch until `/api/v1/health`",
                "answers (pack load, table seeding, migrations, MiniLM load, intent training, KB indexing);",
                "peak RSS is the process's VmHWM.",
                "",
                "| start-up | peak RSS | targets |",
                "|---|---|---|",
                f"| {ready:.2f} s | {rss:.0f} MB | < 15 s, < 1 GB |",
            ]
        ),
    )


if __name__ == "__main__":
    main()
