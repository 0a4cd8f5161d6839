"""The packaged model behind an OpenAI-compatible server on loopback (llama.cpp through llama-cpp-python).

`start_local_server()` runs `python -m helpline.llm.server` as a child process and returns once the model is
loaded and `GET /v1/models` answers; `helpline llm serve` runs the same thing in the foreground. The server
is llama-cpp-python's own FastAPI app (the `llm` extra, `llama-cpp-python[server]`), with one addition:

llama-cpp-python 0.3.x accepts only `response_format: {"type": "json_object", "schema": ...}` and answers 422
to the OpenAI form `{"type": "json_schema", "json_schema": {"schema": ...}}` that Helpline's adapter (and
most clients) send. A small ASGI wrapper rewrites the latter into the former before the app sees it, so the
answer is grammar-constrained to the schema either way (docs/llm.md, "Local model").

It listens on 127.0.0.1 only: the model answers anyone who can reach the port, and nothing outside the
machine should.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from helpline.llm.local_model import INSTALL_HINT, LocalModelError, PackagedModel, model_file, packaged_model

HOST = "127.0.0.1"
DEFAULT_CONTEXT = 8192  # tokens: a tau-retail conversation with its instruction fits; the KV cache is ~100 MB
START_TIMEOUT_S = 180.0  # joining the model once (~1 GB written) plus loading it, on a busy 2-core box

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def server_installed() -> bool:
    """Is llama-cpp-python with its server dependencies installed (without importing it: that loads llama.cpp)?"""
    return all(importlib.util.find_spec(m) is not None
               for m in ("llama_cpp", "sse_starlette", "starlette_context", "pydantic_settings", "uvicorn"))


def require_server() -> None:
    if not server_installed():
        raise LocalModelError(f"the local model server (llama-cpp-python[server]) is not installed: {INSTALL_HINT}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --- the OpenAI `json_schema` response format, for llama-cpp-python ------------------------------------------


def openai_schema_to_llama(body: dict[str, Any]) -> dict[str, Any]:
    """`response_format: {type: json_schema, json_schema: {schema}}` -> `{type: json_object, schema}`."""
    response_format = body.get("response_format")
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return body
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    translated: dict[str, Any] = {"type": "json_object"}
    if isinstance(schema, dict):
        translated["schema"] = schema
    return {**body, "response_format": translated}


class JsonSchemaResponseFormat:
    """ASGI wrapper: rewrites the body of POST …/chat/completions with `openai_schema_to_llama`."""

    def __init__(self, app: Asgi, max_body: int = 4 << 20):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or \
                not str(scope.get("path", "")).endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see that
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _plain_response(send, 413, b"request body too large")
                return
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None  # not JSON: the app answers 422 as it would have
        if isinstance(parsed, dict):
            body = json.dumps(openai_schema_to_llama(parsed)).encode()
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.app({**scope, "headers": headers}, _replay([{"type": "http.request", "body": body}], receive),
                       send)


def _replay(messages: list[Message], then: Receive) -> Receive:
    """Hands the app the messages already read, then the connection's own: llama-cpp-python polls `receive`
    to notice a client that hung up, which must wait for a real disconnect, not invent one."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await then()

    return replayed


async def _plain_response(send: Send, status: int, text: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(text)).encode())]})
    await send({"type": "http.response.body", "body": text})


# --- running the server -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerOptions:
    model: PackagedModel
    port: int
    threads: int
    context: int = DEFAULT_CONTEXT


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)


def serve_forever(options: ServerOptions, model_path: Path) -> None:
    """Load the model and serve until interrupted (runs in the server process)."""
    require_server()
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    server_settings = ServerSettings(host=HOST, port=options.port)
    model_settings = ModelSettings(model=str(model_path), model_alias=options.model.name, n_ctx=options.context,
                                   n_threads=options.threads, n_threads_batch=options.threads, seed=0,
                                   verbose=False)
    app = JsonSchemaResponseFormat(create_app(server_settings=server_settings, model_settings=[model_settings]))
    uvicorn.run(app, host=HOST, port=options.port, log_level="warning")


def _server_env() -> dict[str, str]:
    # llama-cpp-python's settings are pydantic-settings: a stray CONFIG_FILE, MODEL, API_KEY… in the
    # environment would silently change the server. Everything it needs is passed as arguments.
    ignored = {"CONFIG_FILE", "MODEL", "MODEL_ALIAS", "API_KEY", "HOST", "PORT", "N_CTX", "N_THREADS"}
    return {k: v for k, v in os.environ.items() if k.upper() not in ignored}


def start_local_server(port: int | None = None, *, threads: int | None = None, model: str | None = None,
                       log_path: Path | None = None, cache_dir: Path | None = None,
                       timeout_s: float = START_TIMEOUT_S) -> tuple[str, subprocess.Popen[bytes]]:
    """Start the packaged model's server on loopback; return its base URL (pass it as `--llm-url`) and the
    process (stop it with `stop_local_server`). Blocks until `GET /v1/models` answers."""
    require_server()
    chosen = packaged_model(model)
    model_file(chosen, cache_dir)  # join and verify here, so a missing extra fails in the caller, not the child
    port = port or free_port()
    args = [sys.executable, "-m", "helpline.llm.server", "--port", str(port),
            "--threads", str(threads or default_threads()), "--model", chosen.name]
    if cache_dir is not None:
        args += ["--cache-dir", str(cache_dir)]
    log = log_path.open("ab") if log_path is not None else subprocess.DEVNULL
    try:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=_server_env())
    finally:
        if log_path is not None and not isinstance(log, int):
            log.close()  # the child has its own descriptor
    url = f"http://{HOST}:{port}"
    try:
        wait_until_ready(url, process, timeout_s)
    except BaseException:
        stop_local_server(process)
        raise
    return url, process


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalModelError(f"the local model server exited with code {process.returncode} before answering")
        try:
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise LocalModelError(f"the local model server did not answer at {url} within {timeout_s:.0f} s")


def stop_local_server(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpline.llm.server")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--model", default=None, help="a packaged model name (default: the 0.5B one)")
    parser.add_argument("--context", type=int, default=DEFAULT_CONTEXT)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        chosen = packaged_model(args.model)
        path = model_file(chosen, args.cache_dir)
        require_server()
    except LocalModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    serve_forever(ServerOptions(chosen, args.port, args.threads, args.context), path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
