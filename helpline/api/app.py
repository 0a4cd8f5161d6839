"""The FastAPI application: OpenAPI docs at /docs, every route under /api/v1 authenticated."""

from __future__ import annotations

from fastapi import FastAPI

from helpline import __version__
from helpline.api.conversations import conversations_router
from helpline.api.errors import install_error_handlers
from helpline.api.records import health_router, records_router
from helpline.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title=f"Helpline — {runtime.pack.business.name}",
        version=__version__,
        description="Offline AI contact-center agent. Authenticate with `Authorization: Bearer <key>`.",
    )
    app.state.db = runtime.db
    app.state.runtime = runtime
    app.state.conversations = runtime.conversations
    install_error_handlers(app)
    app.include_router(health_router(), prefix="/api/v1")
    app.include_router(conversations_router(), prefix="/api/v1")
    app.include_router(records_router(), prefix="/api/v1")
    return app
