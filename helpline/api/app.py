"""The FastAPI application: OpenAPI docs at /docs, every route under /api/v1 authenticated."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from helpline import __version__
from helpline.api.conversations import conversations_router
from helpline.api.customers import customers_router
from helpline.api.docs import install_docs
from helpline.api.edge import MAX_BODY_BYTES, EdgeGuard
from helpline.api.errors import install_error_handlers
from helpline.api.followups import followups_router
from helpline.api.idempotency import IdempotencyGuard
from helpline.api.logscrub import install_secret_scrubber
from helpline.api.records import health_router, records_router
from helpline.channels.mediastream import media_stream_router
from helpline.channels.sms.routes import sms_router
from helpline.channels.sms.setup import install_sms
from helpline.channels.widget import WidgetHub, widget_router
from helpline.console.app import mount_console
from helpline.ops.routes import install_operations
from helpline.ops.worker import idle_sweeper
from helpline.runtime import Runtime

log = logging.getLogger(__name__)


def create_app(runtime: Runtime, sweep_every_seconds: float | None = None,
               max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The app alone runs no background job: ``helpline serve`` runs them beside it (helpline/ops/worker.py).
    ``sweep_every_seconds`` runs just the idle sweeper with the app (an app embedded without the CLI)."""
    install_secret_scrubber()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        install_secret_scrubber()  # again: the server may have set up its log handlers since
        sweeper = idle_sweeper(runtime, sweep_every_seconds) if sweep_every_seconds else None
        if sweeper:
            sweeper.start()
        yield
        if sweeper:
            sweeper.stop()

    app = FastAPI(
        title=f"Helpline — {runtime.pack.business.name}",
        version=__version__,
        description="Offline AI contact-center agent. Authenticate with `Authorization: Bearer <key>`. "
                    "A POST or PATCH may carry `Idempotency-Key: <unique key>` (e.g. a UUID): a retry with the same "
                    "key and body within 24 h gets the first answer again (`Idempotent-Replayed: true`) and does "
                    "nothing twice; the key with a different body is a 422, and while the first is running a 409.",
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served offline by install_docs
    )
    app.state.db = runtime.db
    app.state.runtime = runtime
    app.state.conversations = runtime.conversations
    install_error_handlers(app)
    install_docs(app)
    # Idempotency-Key on API POST/PATCH (docs/api.md): added first, so it runs inside EdgeGuard, on a body
    # already size-checked.
    app.add_middleware(IdempotencyGuard, db=runtime.db)
    # Body-size limit and NUL refusal before any route reads the request (docs/security.md).
    app.add_middleware(EdgeGuard, max_body_bytes=max_body_bytes)
    app.include_router(health_router(), prefix="/api/v1")
    app.include_router(conversations_router(), prefix="/api/v1")
    app.include_router(records_router(), prefix="/api/v1")
    # The web console (/console) and the website chat widget (/widget.js, /widget/ws).
    app.state.widget = WidgetHub.across_nodes(runtime.shared)
    mount_console(app)
    app.include_router(widget_router())
    app.include_router(followups_router(), prefix="/api/v1")
    app.include_router(customers_router(), prefix="/api/v1")
    # Phone calls bridged from a cloud number; answered only when the server has speech models
    # (``app.state.voice``, set by ``helpline serve`` with the voice extra).
    app.include_router(media_stream_router())
    # Texts: Twilio's webhooks and a generic JSON one, on when HELPLINE_SMS_AUTH_TOKEN is set (channels/sms).
    install_sms(app, runtime)
    app.include_router(sms_router(), prefix="/api/v1")
    # /metrics, /api/v1/ready, request ids (helpline/ops): last, so the request id wraps every other middleware
    install_operations(app, runtime)
    return app
