"""The two processes a run needs: the store backend and `helpline serve` on the generated pack."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
DATASET = SHARED / "datasets" / "tau-retail"
STORE_BACKEND = SHARED / "tools" / "store_backend.py"
HELPLINE = ROOT / ".venv" / "bin" / "helpline"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A child process stopped by its own pid (SIGTERM, then SIGKILL after a time limit)."""

    def __init__(self, args: list[str], log: Path, cwd: Path = ROOT, env: dict[str, str] | None = None):
        self.log_file = log.open("wb")
        self.proc = subprocess.Popen(args, cwd=cwd, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})

    def wait_http(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.proc.args!r} exited with {self.proc.returncode}; see {self.log_file.name}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"{url} did not answer within {timeout}s; see {self.log_file.name}")

    def stop(self, timeout: float = 10) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self.log_file.close()


class Store:
    """Client of the store backend: operations, state and reset."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.client = httpx.Client(timeout=30)

    def reset(self) -> None:
        self.client.post(f"{self.url}/reset").raise_for_status()

    def state(self) -> dict[str, Any]:
        response = self.client.get(f"{self.url}/state")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def call(self, name: str, kwargs: dict[str, Any]) -> str:
        response = self.client.post(f"{self.url}/operations/{name}", json=kwargs)
        response.raise_for_status()
        return str(response.json()["result"])


def start_store(workdir: Path, data: Path = DATASET) -> tuple[Process, str]:
    port = free_port()
    proc = Process([sys.executable, str(STORE_BACKEND), "--data", str(data), "--port", str(port)],
                   workdir / "store.log")
    url = f"http://127.0.0.1:{port}"
    proc.wait_http(f"{url}/health", timeout=30)
    return proc, url


def start_helpline(pack: Path, db_url: str, workdir: Path, log_level: str = "warning") -> tuple[Process, str]:
    """`log_level` info adds the hybrid choices' log lines (and every request's) to workdir/helpline.log."""
    port = free_port()
    proc = Process([str(HELPLINE), "serve", "--pack", str(pack), "--db", db_url, "--port", str(port),
                    "--no-phone", "--log-level", log_level], workdir / "helpline.log")
    url = f"http://127.0.0.1:{port}"
    proc.wait_http(f"{url}/api/v1/health", timeout=240)
    return proc, url


def create_api_key(db_url: str) -> str:
    out = subprocess.run([str(HELPLINE), "apikey", "create", "--role", "integration", "--db", db_url],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    return out.stdout.strip().splitlines()[-1]


class Agent:
    """One Helpline conversation over the HTTP API."""

    def __init__(self, base_url: str, key: str, timeout: float = 60.0):
        """`timeout` per request: a turn that asks a CPU-served model can take minutes."""
        self.client = httpx.Client(base_url=f"{base_url}/api/v1", timeout=timeout,
                                   headers={"Authorization": f"Bearer {key}"})
        self.id = ""

    def start(self) -> tuple[list[str], bool]:
        response = self.client.post("/conversations", json={"channel": "chat"})
        response.raise_for_status()
        body = response.json()
        self.id = body["id"]
        return list(body["replies"]), bool(body["ended"])

    def say(self, text: str) -> tuple[list[str], bool]:
        response = self.client.post(f"/conversations/{self.id}/messages", json={"text": text})
        response.raise_for_status()
        body = response.json()
        return list(body["replies"]), bool(body["ended"])

    def end(self) -> None:
        if self.id:
            self.client.post(f"/conversations/{self.id}/end")
