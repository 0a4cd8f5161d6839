"""The `helpline` command line (Typer + Rich)."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from helpline.cli.demo import demo_app
from helpline.cli.insight import insight_app
from helpline.cli.llm import llm_app
from helpline.cli.pack import pack_app
from helpline.cli.qa import qa_app

if TYPE_CHECKING:
    from helpline.channels.email.service import EmailService
    from helpline.channels.phone.service import PhoneService
    from helpline.ops.worker import WorkerSettings
    from helpline.pack.loader import BusinessPack
    from helpline.runtime import ModelAssistance, Runtime

app = typer.Typer(help="Helpline: an offline AI contact-center agent.", no_args_is_help=True)
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
app.add_typer(qa_app, name="qa")
app.add_typer(demo_app, name="demo")
app.add_typer(insight_app, name="insight")

# soft_wrap: long URLs and commands stay on one line, so they can be copied
console = Console(soft_wrap=True)
KEEP_ALIVE_SECONDS = 75  # idle HTTP keep-alive of serve's connections
err_console = Console(stderr=True, soft_wrap=True)
# libraries that are chatty at INFO: migrations on every start, index builds; aiosmtpd logs every address
QUIET_LOGGERS = ("alembic", "bm25s", "httpx", "mail.log")

DEFAULT_PACK = Path("examples/demo")
PackOption = Annotated[Path, typer.Option("--pack", help="Business pack folder.")]
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: SQLite in ./var).")]
SmtpRelayOption = Annotated[str | None, typer.Option(
    "--smtp-relay", help="HOST:PORT of the outbound SMTP relay (one-time codes, email replies); else "
    "HELPLINE_SMTP_RELAY (or HELPLINE_SMTP_HOST/PORT), else email.smtp_relay. Login from HELPLINE_SMTP_USER / "
    "HELPLINE_SMTP_PASSWORD.")]
SmtpPortOption = Annotated[int | None, typer.Option(
    "--smtp-port", help="Listen for inbound email on this port (the MX or forwarding of our support address, "
    "email.address in business.yaml); else email.smtp_port.")]
SmtpTlsOption = Annotated[str | None, typer.Option("--smtp-tls", help="The relay's TLS: starttls | tls | none "
                                                   "(loopback only).")]
ImapUrlOption = Annotated[str | None, typer.Option(
    "--imap-url", help="Poll a support mailbox: imaps://user@host/INBOX (password from HELPLINE_IMAP_PASSWORD); "
    "else HELPLINE_IMAP_URL or email.imap_url.")]
LlmUrlOption = Annotated[str | None, typer.Option(
    "--llm-url", help="An OpenAI-compatible model server (…/v1/chat/completions); else HELPLINE_LLM_URL or llm.url "
    "in business.yaml. The key, if the server needs one, from HELPLINE_LLM_API_KEY.")]
LlmModelOption = Annotated[str | None, typer.Option("--llm-model", help="The model name the server serves; else "
                                                    "HELPLINE_LLM_MODEL or llm.model.")]
RedisUrlOption = Annotated[str | None, typer.Option("--redis-url", envvar="HELPLINE_REDIS_URL",
                                                   help="Redis shared by several nodes on one PostgreSQL "
                                                        "(docs/deployment.md).")]
LogLevelOption = Annotated[str, typer.Option("--log-level")]
LogFormatOption = Annotated[str, typer.Option("--log-format", help="text (for people) or json (one object a "
                                              "line, with the request id).")]
DrainOption = Annotated[float, typer.Option("--drain-seconds", help="On SIGTERM, how long the background jobs "
                                            "running get to finish before the process exits anyway.")]
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


def _smtp_settings(relay: str | None, tls: str | None, pack: Path | None = None) -> None:
    """--smtp-relay / --smtp-tls (else business.yaml's email section) become the HELPLINE_SMTP_* settings the
    one-time code sender reads (connectors/smtp_relay.py); a bad relay ends the command naming it."""
    from helpline.connectors.smtp_relay import RELAY_ENV, TLS_ENV, parse_host_port

    if pack is not None and (relay is None or tls is None):
        from helpline.pack.loader import PackInvalid, load_pack

        try:
            section = load_pack(pack).business.email
        except (PackInvalid, OSError):
            section = None  # the serve command reports a bad pack itself
        if section is not None:
            relay = relay or (None if os.environ.get(RELAY_ENV) else section.smtp_relay)
            tls = tls or (None if os.environ.get(TLS_ENV) else section.smtp_tls)
    if relay is not None:
        try:
            parse_host_port(relay, 25)
        except ValueError as exc:
            err_console.print(f"[red]--smtp-relay: {exc}[/red]", highlight=False)
            raise typer.Exit(2) from exc
    for name, value in ((RELAY_ENV, relay), (TLS_ENV, tls)):
        if value is not None:
            os.environ[name] = str(value)


def _email_service(runtime: Runtime, host: str, smtp_port: int | None, imap_url: str | None) -> EmailService | None:
    """The email channel when an outbound relay and our address are known (the listener with --smtp-port, the
    mailbox with --imap-url); settings that cannot work end the command with a message naming them."""
    from helpline.channels.email.service import EmailService, EmailSettings, EmailSettingsError

    try:
        settings = EmailSettings.resolve(runtime.pack.business.email, runtime.pack.business.name, listen_host=host,
                                         smtp_port=smtp_port, imap_url=imap_url)
        if not settings.enabled and (settings.relay is None or not settings.address):
            return None
        return EmailService(runtime, settings)
    except EmailSettingsError as exc:
        err_console.print(f"[red]Email: {exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc


def _sms_settings(api_url: str | None, account: str | None, sender: str | None) -> None:
    """The --sms-* options become the HELPLINE_SMS_* settings channels/sms/settings.py reads (as SMTP's do)."""
    for name, value in (("HELPLINE_SMS_API_URL", api_url), ("HELPLINE_SMS_ACCOUNT", account),
                        ("HELPLINE_SMS_FROM", sender)):
        if value is not None:
            os.environ[name] = value


def _create_app_with_sms(create_app: Any, runtime: Runtime) -> Any:
    """The app; incomplete SMS settings end the command with a message naming them."""
    from helpline.channels.sms.settings import SmsSettingsError

    try:
        api = create_app(runtime)
    except SmsSettingsError as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    sms = api.state.sms_settings
    console.print("  SMS: " + (f"{sms.account.from_number} via {sms.account.api_url} (webhook "
                               "/api/v1/sms/twilio)" if sms is not None else
                               "off (HELPLINE_SMS_AUTH_TOKEN, --sms-account, --sms-from)"), highlight=False)
    return api


@apikey_app.command("create")
def apikey_create(
    role: Annotated[str, typer.Option("--role", help="admin | supervisor | agent | integration")],
    db: DbOption = None,
    label: Annotated[str, typer.Option("--label")] = "",
) -> None:
    """Create an API key; the key is printed on the last line (it is not stored in clear)."""
    from helpline.application.keys import create_api_key
    from helpline.application.storage import Database, default_url

    database = Database(db or default_url())
    database.migrate()
    try:
        plaintext, prefix = create_api_key(database, role=role, label=label)
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
    from helpline.application.console_access import create_console_user
    from helpline.application.storage import Conflict, Database, default_url
    from helpline.console.security import hash_password

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    database = Database(db or default_url())
    database.migrate()
    try:
        hashed = hash_password(password)
        created = create_console_user(database, email=email, role=role, password_hash=hashed, name=name, actor="cli")
    except (ValueError, Conflict) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"Created {role} {created}. Sign in at /console.")


@user_app.command("softphone")
def user_softphone(
    email: Annotated[str, typer.Argument(help="The console user.")],
    address: Annotated[str, typer.Argument(help="Their own SIP phone (sip:name@host[:port] or an extension), "
                                           "rung to take calls over or listen in; '' to forget it.")],
    db: DbOption = None,
) -> None:
    """Set the softphone a console user takes phone calls over on."""
    from helpline.application.console_access import NotFound, set_softphone_by_email
    from helpline.application.storage import Database, default_url

    database = Database(db or default_url())
    database.migrate()
    try:
        set_softphone_by_email(database, email, address, actor="cli")
    except NotFound as exc:
        err_console.print(f"[red]No console user {email}.[/red]")
        raise typer.Exit(2) from exc
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"{email}: softphone {address or 'forgotten'}.")


@widget_app.command("create-key")
def widget_create_key(
    origin: Annotated[list[str] | None, typer.Option("--origin", help="Allowed site origin (repeatable).")] = None,
    label: Annotated[str, typer.Option("--label")] = "",
    db: DbOption = None,
) -> None:
    """Create a public widget key; the key is printed on the last line."""
    from helpline.application.keys import create_widget_key
    from helpline.application.storage import Database, default_url

    database = Database(db or default_url())
    database.migrate()
    public = create_widget_key(database, label=label, origins=origin or [], actor="cli")
    console.print('Embed: <script src="http://HOST:PORT/widget.js" data-key="KEY" defer></script>')
    typer.echo(public)


def _networks(values: list[str] | None) -> list[str] | None:
    """--sip-allow-from: addresses or CIDR networks, refused with a clear message when malformed."""
    import ipaddress

    for value in values or ():
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as error:
            raise typer.BadParameter(f"{value!r} is not an address or network (e.g. 10.0.0.5 or 10.0.0.0/24)") \
                from error
    return values


@app.command()
def serve(
    pack: PackOption = DEFAULT_PACK,
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
    log_level: LogLevelOption = "info",
    log_format: LogFormatOption = "text",
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Run the background jobs (send queue, team "
                                         "notices, retention, idle sweeper) in this process; --no-worker on web "
                                         "nodes when `helpline worker` processes run them.")] = True,
    graceful_seconds: Annotated[int, typer.Option("--graceful-seconds", help="On SIGTERM, how long requests "
                                                  "in flight (a turn) get to finish.")] = 30,
    drain_seconds: DrainOption = 30.0,
    phone: Annotated[bool, typer.Option("--phone/--no-phone", help="Answer phone calls over SIP.")] = True,
    sip_host: Annotated[str | None, typer.Option("--sip-host", help="SIP/RTP bind address (def. --host).")] = None,
    sip_port: Annotated[int, typer.Option("--sip-port", help="UDP port for SIP.")] = 5060,
    rtp_ports: Annotated[str, typer.Option("--rtp-ports", help="UDP port range for call audio.")] = "10000-10999",
    sip_public_host: Annotated[str, typer.Option("--sip-public-host", help="Address peers reach us at.")] = "",
    sip_registrar: Annotated[str | None, typer.Option("--sip-registrar", help="PBX/trunk host[:port].")] = None,
    sip_user: Annotated[str, typer.Option("--sip-user", help="Extension to register (password from "
                                          "HELPLINE_SIP_PASSWORD).")] = "helpline",
    sip_allow_from: Annotated[list[str] | None, typer.Option(
        "--sip-allow-from", callback=_networks, help="Accept SIP only from this address or network (repeat "
        "for several; e.g. the Kamailio proxy in front of the nodes). Default: from anyone.")] = None,
    cold_transfer: Annotated[bool, typer.Option("--cold-transfer", help="Hand calls to people with REFER "
                                                "instead of ringing them first.")] = False,
    recognizer: Annotated[str, typer.Option("--recognizer", help="base, tiny.en or sphinx.")] = "base",
    voice: Annotated[str, typer.Option("--voice", help="piper or espeak.")] = "piper",
    smtp_relay: SmtpRelayOption = None,
    smtp_port: SmtpPortOption = None,
    smtp_tls: SmtpTlsOption = None,
    imap_url: ImapUrlOption = None,
    llm_url: LlmUrlOption = None,
    llm_model: LlmModelOption = None,
    llm_mode: LlmModeOption = None,
    redis_url: RedisUrlOption = None,
    sms_api_url: Annotated[str | None, typer.Option("--sms-api-url", help="Twilio's REST API or a compatible "
                                                    "one (default https://api.twilio.com); else sms.api_url. The "
                                                    "auth token from HELPLINE_SMS_AUTH_TOKEN.")] = None,
    sms_account: Annotated[str | None, typer.Option("--sms-account", help="The SMS account SID.")] = None,
    sms_from: Annotated[str | None, typer.Option("--sms-from", help="Our SMS number (E.164).")] = None,
) -> None:
    """Serve the HTTP API (and, with the voice extra installed, the phone line) for a business pack."""
    import asyncio

    import uvicorn

    from helpline.api.app import create_app
    from helpline.ops.worker import EmbeddedWorker, WorkerSettings, background_jobs
    from helpline.outbound.setup import channel_senders
    from helpline.runtime import build_runtime

    _configure_logging(log_level, log_format)
    _smtp_settings(smtp_relay, smtp_tls, pack)
    _sms_settings(sms_api_url, sms_account, sms_from)
    assistance = _llm_assistance(pack, llm_url, llm_model, llm_mode)
    with console.status("Loading the business pack and models…"):
        runtime = build_runtime(pack, db, assistance=assistance, redis_url=redis_url)
    api = _create_app_with_sms(create_app, runtime)
    email = _email_service(runtime, host, smtp_port, imap_url)
    api.state.email_service = email
    url = f"http://{host}:{port}"
    settings = WorkerSettings(drain_seconds=drain_seconds, console_url=os.environ.get("HELPLINE_PUBLIC_URL", url))
    line = None
    if phone:
        with console.status("Loading the speech models…"):
            line = _phone_line(runtime, api, sip_host or host, sip_port, rtp_ports, sip_public_host, sip_registrar,
                               sip_user, recognizer, voice, not cold_transfer, tuple(sip_allow_from or ()))
    console.print(f"[bold green]{runtime.pack.business.name}[/bold green] is being served at {url}")
    console.print(f"  API docs: {url}/docs   health: {url}/api/v1/health   ready: {url}/api/v1/ready   "
                  f"console: {url}/console")
    if line is not None:
        console.print(f"  Phone: sip:{line.config.user}@{line.config.host}:{line.config.port} "
                      f"(RTP {line.config.rtp_ports[0]}-{line.config.rtp_ports[1]})")
    console.print("  One-time codes: " + ("by email through the SMTP relay" if runtime.engine.codes is not None else
                  "not configured (--smtp-relay): changes that need them are handed to a person"))
    console.print("  Email: " + (email.describe() if email is not None else
                                 "off (--smtp-port or --imap-url, with --smtp-relay)"), highlight=False)
    console.print("  Language model: " + (f"{assistance.model!r}, {assistance.mode} mode" if assistance else
                                          "none (embedded understanding; --llm-url to add one)"), highlight=False)
    console.print("  Nodes: " + ("sharing the bus, rate limits and duplicate checks through Redis"
                                 if runtime.shared is not None else "single node (no --redis-url)"))
    console.print("  Background jobs: " + ("in this process (send queue, team notices, retention, idle sweeper)"
                                           if worker else "off (--no-worker): `helpline worker` runs them"))
    _print_retention(runtime, settings)
    console.print(f"  Admin API key: .venv/bin/helpline apikey create --role admin --db '{runtime.db_url}'")
    console.print(f"  Console user:  .venv/bin/helpline user create --role admin --email you@example.com "
                  f"--db '{runtime.db_url}'")
    console.print(f"  Widget key:    .venv/bin/helpline widget create-key --db '{runtime.db_url}'"
                  f"  (try it at {url}/widget/demo?key=KEY)")

    async def run() -> None:
        # SIGTERM: uvicorn stops accepting, lets requests in flight finish (--graceful-seconds), then re-raises
        # the signal once it is done; by then it is handled, so the process goes on to stop the jobs and exits 0.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _handled)
        # Keep-alive longer than a client's or proxy's idle pool (nginx keeps upstream connections 60 s): with
        # uvicorn's 5 s, a pooled connection it closed just as a request went out was reset (the load test's
        # 2 ReadErrors in 500 posts).
        server = uvicorn.Server(uvicorn.Config(api, host=host, port=port, log_level=log_level, log_config=None,
                                               timeout_graceful_shutdown=graceful_seconds,
                                               timeout_keep_alive=KEEP_ALIVE_SECONDS))
        if line is not None:
            await line.start()
        if email is not None:
            await email.start()
        # what Helpline sends on its own (recaps, surveys, notices): the channels' senders, built by now
        jobs = (EmbeddedWorker(background_jobs(runtime, channel_senders(api.state), settings),
                               drain_seconds=settings.drain_seconds, observer=api.state.metrics)
                if worker else None)
        if jobs is not None:
            jobs.start()
        try:
            await server.serve()
        finally:
            if jobs is not None:
                await asyncio.to_thread(jobs.stop)
            if email is not None:
                await email.stop()
            if line is not None:
                await line.stop()

    asyncio.run(run())


@app.command("worker")
def worker_command(
    pack: PackOption = DEFAULT_PACK,
    db: DbOption = None,
    redis_url: RedisUrlOption = None,
    smtp_relay: SmtpRelayOption = None,
    smtp_tls: SmtpTlsOption = None,
    log_level: LogLevelOption = "info",
    log_format: LogFormatOption = "text",
    poll_seconds: Annotated[float, typer.Option("--poll-seconds", help="How often the send queue is looked "
                                                "at.")] = 15.0,
    claim_timeout: Annotated[float, typer.Option("--claim-timeout", help="Seconds after which a message claimed "
                                                 "by a worker that died is taken over.")] = 600.0,
    drain_seconds: DrainOption = 30.0,
) -> None:
    """Run the background jobs without serving HTTP: the send queue, team notices and the wait for the team's
    answers, retention, the idle-conversation sweeper. Run any number (work is claimed once in the database);
    SIGTERM takes no new job, lets the running ones finish (--drain-seconds) and exits 0."""
    import asyncio
    from datetime import timedelta

    from helpline.ops.worker import WorkerSettings, background_jobs, run_worker, standalone_senders
    from helpline.outbound.queue import RetryPolicy
    from helpline.runtime import build_runtime

    if poll_seconds <= 0 or claim_timeout <= 0 or drain_seconds < 0:
        err_console.print("[red]--poll-seconds and --claim-timeout must be positive, --drain-seconds not "
                          "negative.[/red]")
        raise typer.Exit(2)
    _configure_logging(log_level, log_format)
    _smtp_settings(smtp_relay, smtp_tls, pack)
    runtime = build_runtime(pack, db, redis_url=redis_url)
    settings = WorkerSettings(outbound_every_seconds=poll_seconds, drain_seconds=drain_seconds,
                              retry=RetryPolicy(claim_timeout=timedelta(seconds=claim_timeout)),
                              console_url=os.environ.get("HELPLINE_PUBLIC_URL", ""))
    senders = standalone_senders(runtime)
    jobs = background_jobs(runtime, senders, settings)
    log = logging.getLogger("helpline.worker")
    log.info("worker for %s on %s: jobs %s; sends %s", runtime.pack.business.name, runtime.db,
             ", ".join(job.name for job in jobs), ", ".join(sorted(senders)) or "nothing (no sender configured)")
    abandoned = asyncio.run(run_worker(jobs, drain_seconds=settings.drain_seconds))
    runtime.db.dispose()
    log.info("worker stopped%s", f" (gave up waiting for {', '.join(abandoned)})" if abandoned else "")


def _handled(signum: int, frame: object) -> None:
    """A signal uvicorn has already acted on (see serve)."""


def _configure_logging(level: str, log_format: str) -> None:
    from helpline.ops.logs import LogFormat, configure_logging

    try:
        chosen = LogFormat(log_format)
    except ValueError as exc:
        err_console.print(f"[red]--log-format: {log_format!r} is not one of text, json[/red]")
        raise typer.Exit(2) from exc
    configure_logging(level, chosen, QUIET_LOGGERS)


def _print_retention(runtime: Runtime, settings: WorkerSettings) -> None:
    policy = runtime.pack.business.retention
    console.print(f"  Retention: transcripts {_days(policy.transcripts_days)}, recordings "
                  f"{_days(policy.recordings_days)}, audit {_days(policy.audit_days)} (checked every "
                  f"{settings.retention_every_seconds / 3600:g} h)")


def _phone_line(runtime: Runtime, api: Any, host: str, port: int, rtp_ports: str, public_host: str,
                registrar: str | None, user: str, recognizer: str, voice: str,
                warm_transfer: bool = True, allow_from: tuple[str, ...] = ()) -> PhoneService | None:
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
                       user=user, display_name=runtime.pack.business.name, registrar=registration,
                       allow_from=allow_from)
    # Callbacks are dialled only through a trunk: without one a customer's number has nowhere to go.
    settings = PhoneSettings(warm_transfer=warm_transfer, dial_callbacks=registration is not None)
    line = PhoneService(services, config, Speaker(services.voice or models.synthesizer), settings)
    api.state.phone_desk = line.desk  # the console's take over on a phone / listen in, on this node's calls
    return line


@app.command()
def chat(pack: PackOption = DEFAULT_PACK, db: DbOption = None, smtp_relay: SmtpRelayOption = None,
         smtp_tls: SmtpTlsOption = None, llm_url: LlmUrlOption = None,
         llm_model: LlmModelOption = None, llm_mode: LlmModeOption = None) -> None:
    """Be the customer: chat with the agent in the terminal."""
    from helpline.conversation.ports import ClientIdentity, ClientKind
    from helpline.runtime import build_runtime

    _smtp_settings(smtp_relay, smtp_tls, pack)

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
    from helpline.application.storage import Database, default_url
    from helpline.privacy.attachments import AttachmentFolder
    from helpline.privacy.erasure import CustomerErasure, NothingHeld
    from helpline.privacy.recordings import RecordingStore

    business_pack = _pack_or_none(pack)
    recordings = (RecordingStore(Path(business_pack.business.call_recording.folder)) if business_pack else None)
    attachments = (AttachmentFolder(Path(business_pack.business.email.attachments_folder)) if business_pack
                   else None)
    database = Database(db or default_url())
    database.migrate()
    erasure = CustomerErasure(database, recordings=recordings, attachments=attachments,
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
        console.print("[yellow]Recordings and email attachments were not looked for: pass --pack to name the "
                      "business pack.[/yellow]")
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
    from helpline.application.storage import Database, default_url
    from helpline.privacy.attachments import AttachmentFolder
    from helpline.privacy.recordings import RecordingStore
    from helpline.privacy.retention import RetentionJob

    business_pack = _pack_or_none(pack)
    if business_pack is None:
        err_console.print(f"[red]No business pack at {pack}: pass --pack.[/red]")
        raise typer.Exit(2)
    business = business_pack.business
    database = Database(db or default_url())
    database.migrate()
    try:
        job = RetentionJob(database, business.retention,
                           recordings=RecordingStore(Path(business.call_recording.folder)),
                           attachments=AttachmentFolder(Path(business.email.attachments_folder)))
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
