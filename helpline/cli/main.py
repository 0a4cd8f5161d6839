"""The `helpline` command line (Typer + Rich)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from helpline.cli.llm import llm_app

if TYPE_CHECKING:
    from helpline.channels.phone.service import PhoneService
    from helpline.pack.loader import BusinessPack
    from helpline.privacy.retention import RetentionLoop
    from helpline.runtime import ModelAssistance, Runtime

app = typer.Typer(help="Helpline: an offline AI contact-center agent.", no_args_is_help=True)
pack_app = typer.Typer(help="Business packs: validate, schema.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
user_app = typer.Typer(help="Console users (people who sign in at /console).", no_args_is_help=True)
widget_app = typer.Typer(help="Website chat widget keys.", no_args_is_help=True)
app.add_typer(pack_app, name="pack")
app.add_typer(apikey_app, name="apikey")
app.add_typer(user_app, name="user")
app.add_typer(widget_app, name="widget")
customer_app = typer.Typer(help="Customers' personal data: erasure on request (GDPR art. 17).",
                           no_args_is_help=True)
retention_app = typer.Typer(help="Retention: anonymise transcripts and delete recordings past the pack's ages.",
                            no_args_is_help=True)
app.add_typer(customer_app, name="customer")
app.add_typer(retention_app, name="retention")
app.add_typer(llm_app, name="llm")

# soft_wrap: long URLs and commands stay on one line, so they can be copied
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
# libraries that are chatty at INFO: migrations on every start, index builds
QUIET_LOGGERS = ("alembic", "bm25s", "httpx")

DEFAULT_PACK = Path("examples/demo")
PackOption = Annotated[Path, typer.Option("--pack", help="Business pack folder.")]
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: SQLite in ./var).")]
SmtpHostOption = Annotated[str | None, typer.Option(
    "--smtp-host", help="SMTP relay for one-time codes (step-up verification); else HELPLINE_SMTP_HOST. Login "
    "from HELPLINE_SMTP_USER / HELPLINE_SMTP_PASSWORD.")]
SmtpPortOption = Annotated[int | None, typer.Option("--smtp-port", help="SMTP port (587 STARTTLS by default).")]
SmtpTlsOption = Annotated[str | None, typer.Option("--smtp-tls", help="starttls | tls | none (loopback only).")]
LlmUrlOption = Annotated[str | None, typer.Option(
    "--llm-url", help="An OpenAI-compatible model server (…/v1/chat/completions); else HELPLINE_LLM_URL or llm.url "
    "in business.yaml. The key, if the server needs one, from HELPLINE_LLM_API_KEY.")]
LlmModelOption = Annotated[str | None, typer.Option("--llm-model", help="The model name the server serves; else "
                                                    "HELPLINE_LLM_MODEL or llm.model.")]
LlmModeOption = Annotated[str | None, typer.Option(
    "--llm-mode", help="embedded | hybrid | llm (default: hybrid with a model, embedded without); else "
    "HELPLINE_LLM_MODE or llm.mode.")]


def _llm_assistance(pack: Path, url: str | None, model: str | None, mode: str | None) -> ModelAssistance | None:
    """The language model from the flags, HELPLINE_LLM_* and the pack's `llm:` section (docs/llm.md); None in
    embedded mode. Bad settings end the command with a message naming the setting."""
    from helpline.llm.factory import build_language_model
    from helpline.llm.settings import LlmSettingsError, read_pack_llm_section, resolve_llm_settings
    from helpline.runtime import ModelAssistance

    try:
        settings = resolve_llm_settings(url=url, model=model, mode=mode, pack=read_pack_llm_section(pack))
    except LlmSettingsError as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    language_model = build_language_model(settings)
    if language_model is None:
        return None
    return ModelAssistance(language_model, settings.mode, settings.share_customer_data)


def _smtp_settings(host: str | None, port: int | None, tls: str | None) -> None:
    """CLI options for the one-time code sender become the HELPLINE_SMTP_* settings runtime.py reads."""
    for name, value in (("HELPLINE_SMTP_HOST", host), ("HELPLINE_SMTP_PORT", port), ("HELPLINE_SMTP_TLS", tls)):
        if value is not None:
            os.environ[name] = str(value)


@pack_app.command("validate")
def pack_validate(directory: Path) -> None:
    """Check a pack; print every error as FILE:LINE: message."""
    from helpline.pack.loader import PackInvalid, load_pack

    try:
        pack = load_pack(directory)
    except PackInvalid as exc:
        for error in exc.errors:
            err_console.print(f"[red]{error}[/red]", highlight=False)
        err_console.print(f"{len(exc.errors)} error(s)")
        raise typer.Exit(1) from exc
    console.print(
        f"[green]{pack.business.name}: valid[/green] ({len(pack.procedures)} procedures, "
        f"{len(pack.operations.operations)} operations, "
        f"{len(list(pack.knowledge_dir.glob('*.md')))} articles)"
    )


@pack_app.command("schema")
def pack_schema_command() -> None:
    """Print the JSON Schema of the pack files."""
    from helpline.pack.schema import pack_schema

    typer.echo(json.dumps(pack_schema(), indent=2))


@pack_app.command("from-tau-retail")
def pack_from_tau_retail(
    dataset_dir: Path,
    out_dir: Path,
    backend_url: Annotated[str, typer.Option("--backend-url", help="The store backend, e.g. http://127.0.0.1:8765")],
) -> None:
    """Copy examples/tau-retail for one store backend: knowledge from the dataset's policy.md, .env with the URL."""
    from helpline.packs.tau_retail import generate

    try:
        generate(dataset_dir, out_dir, backend_url)
    except (OSError, ValueError) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Wrote the tau-retail pack to {out_dir}; check it with: helpline pack validate {out_dir}")


@apikey_app.command("create")
def apikey_create(
    role: Annotated[str, typer.Option("--role", help="admin | supervisor | agent | integration")],
    db: DbOption = None,
    label: Annotated[str, typer.Option("--label")] = "",
) -> None:
    """Create an API key; the key is printed on the last line (it is not stored in clear)."""
    from helpline.store.db import Database, default_url
    from helpline.store.repositories import ApiKeyRepository

    database = Database(db or default_url())
    database.migrate()
    try:
        with database.session() as session:
            plaintext, key = ApiKeyRepository(session).create(role=role, label=label)
            prefix = key.prefix
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"Created a {role} key ({prefix}…). Send it as 'Authorization: Bearer <key>'.")
    typer.echo(plaintext)


@user_app.command("create")
def user_create(
    role: Annotated[str, typer.Option("--role", help="admin | supervisor | agent")],
    email: Annotated[str, typer.Option("--email")],
    password: Annotated[str | None, typer.Option("--password", help="Prompted (hidden) if left out.")] = None,
    name: Annotated[str, typer.Option("--name")] = "",
    db: DbOption = None,
) -> None:
    """Create a console user (the password is stored as an argon2id hash)."""
    from helpline.console.security import hash_password
    from helpline.store.db import Database, default_url
    from helpline.store.repositories import Conflict, ConsoleUserRepository

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    database = Database(db or default_url())
    database.migrate()
    try:
        hashed = hash_password(password)
        with database.session() as session:
            user = ConsoleUserRepository(session).create(email=email, role=role, password_hash=hashed, name=name,
                                                         actor="cli")
            created = user.email
    except (ValueError, Conflict) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"Created {role} {created}. Sign in at /console.")


@widget_app.command("create-key")
def widget_create_key(
    origin: Annotated[list[str] | None, typer.Option("--origin", help="Allowed site origin (repeatable).")] = None,
    label: Annotated[str, typer.Option("--label")] = "",
    db: DbOption = None,
) -> None:
    """Create a public widget key; the key is printed on the last line."""
    from helpline.store.db import Database, default_url
    from helpline.store.repositories import WidgetKeyRepository

    database = Database(db or default_url())
    database.migrate()
    with database.session() as session:
        key = WidgetKeyRepository(session).create(label=label, allowed_origins=origin or [], actor="cli")
        public = key.public_key
    console.print('Embed: <script src="http://HOST:PORT/widget.js" data-key="KEY" defer></script>')
    typer.echo(public)


@app.command()
def serve(
    pack: PackOption = DEFAULT_PACK,
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
    phone: Annotated[bool, typer.Option("--phone/--no-phone", help="Answer phone calls over SIP.")] = True,
    sip_host: Annotated[str | None, typer.Option("--sip-host", help="SIP/RTP bind address (def. --host).")] = None,
    sip_port: Annotated[int, typer.Option("--sip-port", help="UDP port for SIP.")] = 5060,
    rtp_ports: Annotated[str, typer.Option("--rtp-ports", help="UDP port range for call audio.")] = "10000-10999",
    sip_public_host: Annotated[str, typer.Option("--sip-public-host", help="Address peers reach us at.")] = "",
    sip_registrar: Annotated[str | None, typer.Option("--sip-registrar", help="PBX/trunk host[:port].")] = None,
    sip_user: Annotated[str, typer.Option("--sip-user", help="Extension to register (password from "
                                          "HELPLINE_SIP_PASSWORD).")] = "helpline",
    cold_transfer: Annotated[bool, typer.Option("--cold-transfer", help="Hand calls to people with REFER "
                                                "instead of ringing them first.")] = False,
    recognizer: Annotated[str, typer.Option("--recognizer", help="base, tiny.en or sphinx.")] = "base",
    voice: Annotated[str, typer.Option("--voice", help="piper or espeak.")] = "piper",
    smtp_host: SmtpHostOption = None,
    smtp_port: SmtpPortOption = None,
    smtp_tls: SmtpTlsOption = None,
    llm_url: LlmUrlOption = None,
    llm_model: LlmModelOption = None,
    llm_mode: LlmModeOption = None,
    redis_url: Annotated[str | None, typer.Option("--redis-url", envvar="HELPLINE_REDIS_URL",
                                                  help="Redis shared by several nodes on one PostgreSQL "
                                                       "(docs/deployment.md).")] = None,
) -> None:
    """Serve the HTTP API (and, with the voice extra installed, the phone line) for a business pack."""
    import asyncio

    import uvicorn

    from helpline.api.app import create_app
    from helpline.runtime import build_runtime

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    _smtp_settings(smtp_host, smtp_port, smtp_tls)
    assistance = _llm_assistance(pack, llm_url, llm_model, llm_mode)
    with console.status("Loading the business pack and models…"):
        runtime = build_runtime(pack, db, assistance=assistance, redis_url=redis_url)
    api = create_app(runtime)
    retention = _retention_loop(runtime)
    line = None
    if phone:
        with console.status("Loading the speech models…"):
            line = _phone_line(runtime, api, sip_host or host, sip_port, rtp_ports, sip_public_host, sip_registrar,
                               sip_user, recognizer, voice, not cold_transfer)
    url = f"http://{host}:{port}"
    console.print(f"[bold green]{runtime.pack.business.name}[/bold green] is being served at {url}")
    console.print(f"  API docs: {url}/docs   health: {url}/api/v1/health   console: {url}/console")
    if line is not None:
        console.print(f"  Phone: sip:{line.config.user}@{line.config.host}:{line.config.port} "
                      f"(RTP {line.config.rtp_ports[0]}-{line.config.rtp_ports[1]})")
    console.print("  One-time codes: " + (f"by email via {os.environ['HELPLINE_SMTP_HOST']}"
                  if runtime.engine.codes is not None else
                  "not configured (--smtp-host): changes that need them are handed to a person"))
    console.print("  Language model: " + (f"{assistance.model!r}, {assistance.mode} mode" if assistance else
                                          "none (embedded understanding; --llm-url to add one)"), highlight=False)
    console.print("  Nodes: " + ("sharing the bus, rate limits and duplicate checks through Redis"
                                 if runtime.shared is not None else "single node (no --redis-url)"))
    policy = runtime.pack.business.retention
    console.print(f"  Retention: transcripts {_days(policy.transcripts_days)}, recordings "
                  f"{_days(policy.recordings_days)}, audit {_days(policy.audit_days)} (checked every "
                  f"{retention.every_seconds / 3600:g} h)")
    console.print(f"  Admin API key: .venv/bin/helpline apikey create --role admin --db '{runtime.db_url}'")
    console.print(f"  Console user:  .venv/bin/helpline user create --role admin --email you@example.com "
                  f"--db '{runtime.db_url}'")
    console.print(f"  Widget key:    .venv/bin/helpline widget create-key --db '{runtime.db_url}'"
                  f"  (try it at {url}/widget/demo?key=KEY)")

    async def run() -> None:
        server = uvicorn.Server(uvicorn.Config(api, host=host, port=port, log_level=log_level))
        if line is not None:
            await line.start()
        retention.start()
        try:
            await server.serve()
        finally:
            retention.stop()
            if line is not None:
                await line.stop()

    asyncio.run(run())


def _phone_line(runtime: Runtime, api: Any, host: str, port: int, rtp_ports: str, public_host: str,
                registrar: str | None, user: str, recognizer: str, voice: str,
                warm_transfer: bool = True) -> PhoneService | None:
    """The SIP line, or None (with a warning) when the voice extra is not installed."""
    import os

    try:
        from helpline.channels.phone.config import RegistrarConfig, SipConfig, parse_port_range
        from helpline.channels.phone.service import PhoneService, PhoneSettings, Speaker
        from helpline.voice.setup import build_voice_services, load_speech_models
    except ImportError as error:
        console.print(f"[yellow]Phone calls are off: the voice extra is not installed ({error.name}).[/yellow]")
        return None
    models = load_speech_models(recognizer, voice)
    services = build_voice_services(runtime, models)
    api.state.voice = services
    registration = (RegistrarConfig(server=registrar, username=user,
                                    password=os.environ.get("HELPLINE_SIP_PASSWORD", ""))
                    if registrar else None)
    config = SipConfig(host=host, port=port, rtp_ports=parse_port_range(rtp_ports), public_host=public_host,
                       user=user, display_name=runtime.pack.business.name, registrar=registration)
    # Callbacks are dialled only through a trunk: without one a customer's number has nowhere to go.
    settings = PhoneSettings(warm_transfer=warm_transfer, dial_callbacks=registration is not None)
    return PhoneService(services, config, Speaker(models.synthesizer), settings)


@app.command()
def chat(pack: PackOption = DEFAULT_PACK, db: DbOption = None, smtp_host: SmtpHostOption = None,
         smtp_port: SmtpPortOption = None, smtp_tls: SmtpTlsOption = None, llm_url: LlmUrlOption = None,
         llm_model: LlmModelOption = None, llm_mode: LlmModeOption = None) -> None:
    """Be the customer: chat with the agent in the terminal."""
    from helpline.conversation.ports import ClientIdentity, ClientKind
    from helpline.runtime import build_runtime

    _smtp_settings(smtp_host, smtp_port, smtp_tls)

    logging.basicConfig(level="WARNING")
    assistance = _llm_assistance(pack, llm_url, llm_model, llm_mode)
    with console.status("Loading the business pack and models…"):
        runtime = build_runtime(pack, db, assistance=assistance)
    service = runtime.conversations
    started = service.start(channel="chat", actor="cli", clients=(ClientIdentity(ClientKind.LOCAL, "cli"),))
    for line in started.replies:
        console.print(f"[bold cyan]{runtime.pack.business.persona.name}:[/bold cyan] {line}", highlight=False)
    while True:
        try:
            text = console.input("[bold]you:[/bold] ")
        except (EOFError, KeyboardInterrupt):
            result = service.end(started.id, actor="cli")
            for line in result.replies:
                console.print(f"[bold cyan]{runtime.pack.business.persona.name}:[/bold cyan] {line}")
            break
        result = service.post(started.id, text, actor="cli")
        for line in result.replies:
            console.print(f"[bold cyan]{runtime.pack.business.persona.name}:[/bold cyan] {line}", highlight=False)
        if result.ended:
            break
    console.print(f"[dim]Ticket #{service.ticket_number(started.id)} recorded.[/dim]")


# --- privacy: erasure and retention -------------------------------------------------------------

ERASURE_NOTHING_HELD = 1
ERASURE_INCOMPLETE = 3  # some conversations were still open: run again once they have ended


def _days(days: int | None) -> str:
    return "kept for ever" if days is None else f"{days} days"


def _retention_loop(runtime: Runtime) -> RetentionLoop:
    from helpline.privacy.recordings import RecordingStore
    from helpline.privacy.retention import RetentionJob, RetentionLoop

    business = runtime.pack.business
    job = RetentionJob(runtime.db, business.retention, recordings=RecordingStore(Path(business.call_recording.folder)),
                       clock=runtime.conversations.clock)
    return RetentionLoop(job)


def _counts_table(title: str, counts: dict[str, int]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("records")
    table.add_column("count", justify="right")
    for kind, count in counts.items():
        table.add_row(kind.replace("_", " "), str(count))
    return table


def _pack_or_none(pack: Path | None) -> BusinessPack | None:
    """The pack given, else the default one if it is there; None when there is none to read."""
    from helpline.pack.loader import PackInvalid, load_pack

    folder = pack or (DEFAULT_PACK if DEFAULT_PACK.is_dir() else None)
    if folder is None:
        return None
    try:
        return load_pack(folder)
    except PackInvalid as exc:
        err_console.print(f"[red]The pack {folder} is not valid ({len(exc.errors)} error(s)): "
                          f"helpline pack validate {folder}[/red]")
        raise typer.Exit(2) from exc


@customer_app.command("erase")
def customer_erase(
    customer_id: Annotated[str, typer.Argument(help="The business's customer id (e.g. C-1038), Helpline's "
                                               "customer id, an email address or a phone number.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be erased; change nothing.")] = False,
    db: DbOption = None,
    pack: Annotated[Path | None, typer.Option("--pack", help="Business pack (for its recordings folder and phone "
                                              "region); default examples/demo when present.")] = None,
) -> None:
    """Erase a customer's personal data (transcripts, tickets' personal fields, callbacks, recordings); keep the
    KPI figures and one audit entry of the erasure."""
    from helpline.privacy.erasure import CustomerErasure, NothingHeld
    from helpline.privacy.recordings import RecordingStore
    from helpline.store.db import Database, default_url

    business_pack = _pack_or_none(pack)
    recordings = (RecordingStore(Path(business_pack.business.call_recording.folder)) if business_pack else None)
    database = Database(db or default_url())
    database.migrate()
    erasure = CustomerErasure(database, recordings=recordings,
                              region=business_pack.business.phone_region if business_pack else None)
    try:
        report = erasure.erase(customer_id, actor="cli", dry_run=dry_run)
    except NothingHeld as exc:
        when = f" (erased {exc.erased_at:%Y-%m-%d %H:%M} UTC)" if exc.erased_at else ""
        console.print(f"No personal data is held for this customer{when}.")
        raise typer.Exit(ERASURE_NOTHING_HELD) from exc
    finally:
        database.dispose()
    verb = "Would erase" if dry_run else "Erased"
    console.print(_counts_table(f"{verb} (matched by {', '.join(report.matched_by) or 'contact'})",
                                report.erased.as_dict()))
    if recordings is None:
        console.print("[yellow]Recordings were not looked for: pass --pack to name the business pack.[/yellow]")
    if not report.complete:
        console.print(f"[yellow]{report.open_conversations} conversation(s) still open were left alone, and the "
                      "customer's record with them: run this again once they have ended.[/yellow]")
        raise typer.Exit(ERASURE_INCOMPLETE)
    console.print(f"Recorded in the audit log as customer_erasure {report.subject[:16]}…" if not dry_run
                  else "Nothing was changed (dry run).")


@retention_app.command("run")
def retention_run(
    pack: PackOption = DEFAULT_PACK,
    db: DbOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; change nothing.")] = False,
) -> None:
    """Anonymise transcripts and delete recordings (and audit entries, if set) older than the pack's retention."""
    from helpline.privacy.recordings import RecordingStore
    from helpline.privacy.retention import RetentionJob
    from helpline.store.db import Database, default_url

    business_pack = _pack_or_none(pack)
    if business_pack is None:
        err_console.print(f"[red]No business pack at {pack}: pass --pack.[/red]")
        raise typer.Exit(2)
    business = business_pack.business
    database = Database(db or default_url())
    database.migrate()
    try:
        job = RetentionJob(database, business.retention,
                           recordings=RecordingStore(Path(business.call_recording.folder)))
        report = job.run(dry_run=dry_run, actor="cli")
    finally:
        database.dispose()
    policy = business.retention
    console.print(f"Retention: transcripts {_days(policy.transcripts_days)}, recordings "
                  f"{_days(policy.recordings_days)}, audit {_days(policy.audit_days)}.")
    counts = {**report.erased.as_dict(), "audit_entries_deleted": report.audit_entries_deleted}
    counts.pop("customers")
    counts.pop("identities")
    console.print(_counts_table("Would anonymise or delete" if dry_run else "Anonymised or deleted", counts))
    if report.kept_for_callbacks:
        console.print(f"{report.kept_for_callbacks} contact(s) past their age kept until their callback is made.")


if __name__ == "__main__":
    app()
