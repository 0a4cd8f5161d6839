"""`helpline llm …`: the packaged local model (the optional `llm` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

llm_app = typer.Typer(help="The packaged local language model (optional `llm` extra).", no_args_is_help=True)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@llm_app.command("serve")
def llm_serve(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 8081,
    threads: Annotated[int | None, typer.Option("--threads", help="CPU threads (default: all cores).")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="Packaged model: qwen2.5-coder-0.5b (default) or qwen2.5-coder-1.5b.")] = None,
    context: Annotated[int, typer.Option("--context", help="Context window in tokens.")] = 8192,
    cache_dir: Annotated[Path | None, typer.Option(
        "--cache-dir",
        help="Where the model file is joined (default: $HELPLINE_CACHE_DIR/models, else var/cache/models).")] = None,
) -> None:
    """Serve the packaged model with an OpenAI-compatible API on loopback (foreground; Ctrl-C stops it)."""
    from helpline.llm.local_model import LocalModelError, model_file, packaged_model
    from helpline.llm.server import HOST, ServerOptions, default_threads, require_server, serve_forever

    try:
        chosen = packaged_model(model)
        require_server()
        console.print(f"preparing {chosen.description} (joined once into the cache, then verified)…")
        path = model_file(chosen, cache_dir)
    except LocalModelError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    url = f"http://{HOST}:{port}"
    console.print(f"model {chosen.name}: {path}")
    console.print(f"serving at {url} (OpenAI-compatible, /v1/chat/completions); use it with:")
    console.print(f"  helpline serve --llm-url {url} --llm-model {chosen.name}")
    serve_forever(ServerOptions(chosen, port, threads or default_threads(), context), path)


@llm_app.command("model-path")
def llm_model_path(
    model: Annotated[str | None, typer.Option("--model", help="Packaged model name.")] = None,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir")] = None,
) -> None:
    """Join (once) and verify the packaged model, and print its GGUF file's path."""
    from helpline.llm.local_model import LocalModelError, model_file, packaged_model

    try:
        console.print(str(model_file(packaged_model(model), cache_dir)))
    except LocalModelError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
