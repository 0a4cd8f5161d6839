"""Load test: N concurrent chat clients over HTTP against 1 or 2 `helpline serve` processes (issue 12).

Each node is a real `helpline serve` subprocess (no phone line) on loopback, on SQLite (a fresh file) or
PostgreSQL (a fresh schema, dropped afterwards); with two nodes every request goes to the next node in
turn, as behind a load balancer without sticky sessions. Each client starts a conversation and sends a
short script of customer messages, one after the other; a ``503 busy`` answer (the bounded wait for the
conversation ran out) is retried after its Retry-After, as the widget does, and counted. Reported: turns
per second (messages answered / wall time of the message phase), p50/p95 latency of an answered message
(including any retry), and errors (anything that is not eventually answered: 5xx, timeouts, refused).
Also the CPU seconds the nodes spent over the message phase (all their threads, from /proc), per answered
message: what a turn costs the server over HTTP, much less moved by other work on the machine than
turns/s; and the load generator's own CPU, which shares the same cores. ``--py-spy DIR`` records each node
with py-spy (if installed) into DIR/node-N.txt (collapsed stacks) for the whole run.

Bounded: at most --clients concurrent clients, --messages each, --timeout per request, and the nodes are
stopped at the end (also on Ctrl-C). The machine is shared: its load average is printed with the figures.

Run: .venv/bin/python -m bench.load --clients 100 --nodes 1 --db sqlite
     .venv/bin/python -m bench.load --clients 100 --nodes 2 --db postgres
     .venv/bin/python -m bench.load --clients 50 --nodes 1 --py-spy /tmp/profile
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import create_engine, text

from helpline.store.db import Database
from helpline.store.repositories import ApiKeyRepository

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"
HELPLINE = ROOT / ".venv" / "bin" / "helpline"
POSTGRES_URL = os.environ.get("HELPLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SCRIPT = ("hi there", "How long do I have to return something?", "and how long does standard shipping take?",
          "what are your opening hours?", "thanks, that's all")
MAX_RETRIES = 10


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    retries: int = 0


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, migrated database: an SQLite file in a temporary folder, or a PostgreSQL schema."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="helpline-load-"))
        try:
            url = f"sqlite:///{folder / 'helpline.db'}"
            Database(url).migrate()
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    schema = f"helpline_load_{secrets.token_hex(5)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in POSTGRES_URL else "?"
        url = f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
        Database(url).migrate()
        yield url
    finally:
        with admin.begin() as conn:
            for name in (schema, f"{schema}_business"):  # Helpline's tables, then the business tables
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


def api_key(url: str) -> str:
    db = Database(url)
    try:
        with db.session() as session:
            plaintext, _key = ApiKeyRepository(session).create(role="integration", label="load test")
        return plaintext
    finally:
        db.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads, from /proc (0 where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


@dataclass
class Node:
    base: str
    pid: int


@contextlib.contextmanager
def nodes(url: str, count: int, extra: list[str], py_spy: Path | None = None) -> Iterator[list[Node]]:
    """`count` serve processes on the same database, once all answer the health check."""
    processes: list[subprocess.Popen[bytes]] = []
    recorders: list[subprocess.Popen[bytes]] = []
    ports = [free_port() for _ in range(count)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for port in ports:
            command = [str(HELPLINE), "serve", "--pack", str(DEMO), "--db", url, "--port", str(port),
                       "--no-phone", "--log-level", "warning", *extra]
            processes.append(subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE))
        deadline = time.monotonic() + 300
        for base, process in zip(bases, processes, strict=True):
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"node {base} exited: {process.stderr.read().decode()[-2000:]}"
                                       if process.stderr else f"node {base} exited")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"node {base} did not start in time")
                time.sleep(0.5)
        if py_spy is not None:
            py_spy.mkdir(parents=True, exist_ok=True)
            venv_py_spy = ROOT / ".venv" / "bin" / "py-spy"
            py_spy_command = str(venv_py_spy) if venv_py_spy.exists() else shutil.which("py-spy")
            if py_spy_command is None:
                raise RuntimeError("--py-spy needs py-spy: .venv/bin/pip install py-spy")
            for index, process in enumerate(processes):
                recorders.append(subprocess.Popen(
                    [py_spy_command, "record", "--pid", str(process.pid), "--rate", "100",
                     "--format", "raw", "--output", str(py_spy / f"node-{index}.txt"), "--nonblocking"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(1.0)  # attached before the load begins
        yield [Node(base, process.pid) for base, process in zip(bases, processes, strict=True)]
    finally:
        for process in processes:
            process.terminate()
        for recorder in recorders:  # py-spy writes its file when the process it records exits
            try:
                recorder.wait(timeout=60)
            except subprocess.TimeoutExpired:
                recorder.kill()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Balancer:
    """Round robin over the nodes, per request."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases
        self.next = 0

    def base(self) -> str:
        self.next = (self.next + 1) % len(self.bases)
        return self.bases[self.next]


async def send(client: httpx.AsyncClient, balancer: Balancer, path: str, body: dict[str, str],
               figures: Figures) -> httpx.Response | None:
    """POST with retries on 503 busy; None (an error counted) when it is not eventually answered."""
    for _attempt in range(MAX_RETRIES):
        try:
            response = await client.post(f"{balancer.base()}{path}", json=body)
        except httpx.HTTPError as error:
            figures.errors[type(error).__name__] += 1
            return None
        if response.status_code == 503:
            figures.retries += 1
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            continue
        if response.status_code >= 300:
            figures.errors[f"HTTP {response.status_code}"] += 1
            return None
        return response
    figures.errors["still busy after retries"] += 1
    return None


async def start_chat(client: httpx.AsyncClient, balancer: Balancer, figures: Figures) -> str | None:
    started = await send(client, balancer, "/api/v1/conversations", {"channel": "chat"}, figures)
    return str(started.json()["id"]) if started is not None else None


async def talk(client: httpx.AsyncClient, balancer: Balancer, conversation_id: str, messages: int,
               figures: Figures) -> None:
    for index in range(messages):
        began = time.perf_counter()
        answered = await send(client, balancer, f"/api/v1/conversations/{conversation_id}/messages",
                              {"text": SCRIPT[index % len(SCRIPT)]}, figures)
        if answered is not None:
            figures.latencies.append(time.perf_counter() - began)


@dataclass
class Cost:
    """CPU seconds over the message phase: the nodes' (summed) and this load generator's."""

    nodes: float
    client: float


async def run_clients(node_list: list[Node], key: str, clients: int, messages: int,
                      timeout: float) -> tuple[Figures, float, Cost]:
    figures = Figures()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    balancer = Balancer([node.base for node in node_list])
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=timeout,
                                 limits=limits) as client:
        # every conversation is started before the clock runs: the figures are about the messages
        started = await asyncio.gather(*(start_chat(client, balancer, figures) for _ in range(clients)))
        began = time.perf_counter()
        nodes_before, client_before = sum(cpu_seconds(n.pid) for n in node_list), time.process_time()
        await asyncio.gather(*(talk(client, balancer, cid, messages, figures) for cid in started if cid))
        wall = time.perf_counter() - began
        cost = Cost(sum(cpu_seconds(n.pid) for n in node_list) - nodes_before, time.process_time() - client_before)
    return figures, wall, cost


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--messages", type=int, default=5, help="messages per client")
    parser.add_argument("--nodes", type=int, default=1, choices=(1, 2))
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--redis-url", default="", help="passed to each node (shared limits and bus)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--py-spy", type=Path, default=None, metavar="DIR",
                        help="record each node with py-spy into DIR/node-N.txt (collapsed stacks)")
    args = parser.parse_args()
    if not 1 <= args.clients <= 500 or not 1 <= args.messages <= 50:
        parser.error("--clients 1..500 and --messages 1..50")
    extra = ["--redis-url", args.redis_url] if args.redis_url else []
    load_before = os.getloadavg()
    with database(args.db) as url, nodes(url, args.nodes, extra, args.py_spy) as node_list:
        key = api_key(url)
        figures, wall, cost = asyncio.run(run_clients(node_list, key, args.clients, args.messages, args.timeout))
    load_after = os.getloadavg()
    answered = len(figures.latencies)
    errors = sum(figures.errors.values())
    print(f"db={args.db} nodes={args.nodes} clients={args.clients} messages/client={args.messages} "
          f"cpus={os.cpu_count()}")
    print(f"  turns answered {answered} in {wall:.1f} s: {answered / wall:.1f} turns/s; "
          f"p50 {statistics.median(figures.latencies) * 1000 if answered else float('nan'):.0f} ms, "
          f"p95 {percentile(figures.latencies, 0.95) * 1000:.0f} ms; "
          f"errors {errors} {dict(figures.errors) if errors else ''}; busy retries {figures.retries}")
    per_turn = 1000 / answered if answered else float("nan")
    print(f"  CPU over the message phase: nodes {cost.nodes:.1f} s ({cost.nodes * per_turn:.1f} ms per turn), "
          f"load generator {cost.client:.1f} s ({cost.client * per_turn:.1f} ms per turn)")
    print(f"  machine load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"(shared machine)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
