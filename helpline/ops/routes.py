"""``/metrics`` (Prometheus, API key with role admin or integration), ``/api/v1/ready`` (readiness, open like
``/api/v1/health``), the request id on every request, and the count of 5xx responses."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpline.api.auth import Principal, require_role
from helpline.api.errors import AUTHENTICATED_ERRORS, error_responses
from helpline.api.validation import known_query_only
from helpline.ops.jobs import in_daemon_thread
from helpline.ops.logs import RequestIdMiddleware
from helpline.ops.metrics import CONTENT_TYPE, Metrics
from helpline.runtime import Runtime
from helpline.store.db import Database

READY_TIMEOUT_SECONDS = 5.0  # a database that does not answer within this is not ready
METRICS_ROLES = ("admin", "integration")


class Check(StrEnum):
    OK = "ok"
    UNAVAILABLE = "unavailable"
    NOT_AT_HEAD = "not_at_head"  # the database is at another revision than this version's head
    NOT_CONFIGURED = "not_configured"


class Readiness(BaseModel):
    status: str  # ready | not_ready
    database: Check
    migrations: Check
    redis: Check


class MigrationHeads:
    """The packaged migrations' heads, read once (parsing the scripts takes a moment)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._heads: frozenset[str] | None = None

    def heads(self) -> frozenset[str]:
        if self._heads is None:
            from alembic.script import ScriptDirectory

            self._heads = frozenset(ScriptDirectory.from_config(self.db.alembic_config()).get_heads())
        return self._heads

    def at_head(self) -> bool:
        from alembic.runtime.migration import MigrationContext

        with self.db.engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
        return current == self.heads()


def check_readiness(runtime: Runtime, migrations: MigrationHeads) -> Readiness:
    database = Check.OK if runtime.db.ping() else Check.UNAVAILABLE
    migrated = Check.UNAVAILABLE
    if database == Check.OK:
        try:
            migrated = Check.OK if migrations.at_head() else Check.NOT_AT_HEAD
        except Exception:
            migrated = Check.UNAVAILABLE
    redis = Check.NOT_CONFIGURED
    if runtime.shared is not None:
        try:
            redis = Check.OK if runtime.shared.client.ping() else Check.UNAVAILABLE
        except Exception:
            redis = Check.UNAVAILABLE
    ready = database == Check.OK and migrated == Check.OK and redis in (Check.OK, Check.NOT_CONFIGURED)
    return Readiness(status="ready" if ready else "not_ready", database=database, migrations=migrated, redis=redis)


def readiness_router(runtime: Runtime) -> APIRouter:
    # Open, like /health, and kept out of the OpenAPI document, whose every other operation is authenticated.
    router = APIRouter(dependencies=[Depends(known_query_only)], include_in_schema=False)
    migrations = MigrationHeads(runtime.db)

    @router.get("/ready", response_model=Readiness)
    async def ready() -> Any:
        try:
            result = await asyncio.wait_for(in_daemon_thread(lambda: check_readiness(runtime, migrations)),
                                            READY_TIMEOUT_SECONDS)
        except TimeoutError:
            result = Readiness(status="not_ready", database=Check.UNAVAILABLE, migrations=Check.UNAVAILABLE,
                               redis=Check.NOT_CONFIGURED if runtime.shared is None else Check.UNAVAILABLE)
        if result.status == "ready":
            return result
        return JSONResponse(result.model_dump(mode="json"), status_code=503)

    return router


def metrics_router() -> APIRouter:
    router = APIRouter(dependencies=[Depends(known_query_only)])

    @router.get("/metrics", tags=["health"], summary="Prometheus metrics (API key: admin or integration)",
                response_class=Response,
                responses={200: {"content": {"text/plain": {}}}, **error_responses(*AUTHENTICATED_ERRORS)})
    async def metrics(request: Request,
                      _caller: Annotated[Principal, Depends(require_role(*METRICS_ROLES))]) -> Response:
        registry: Metrics = request.app.state.metrics
        # the database gauges query the database: off the event loop
        body = await in_daemon_thread(registry.exposition)
        return Response(body, media_type=CONTENT_TYPE)

    return router


class ServerErrorCounter:
    """Counts responses with a 5xx status, and requests that raised (the 500 is sent further out)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start" and int(message.get("status", 200)) >= 500:
                self.metrics.http_errors.inc()
            await send(message)

        try:
            await self.app(scope, receive, counting)
        except Exception:
            self.metrics.http_errors.inc()
            raise


def install_operations(app: FastAPI, runtime: Runtime) -> Metrics:
    """Metrics, readiness and request ids on ``app``; call after the other middleware is added, so the request
    id is outermost and every response (a 413 from the edge guard too) carries it."""
    metrics = Metrics(runtime.db, runtime.conversations.clock)
    app.state.metrics = metrics
    runtime.conversations.observer = metrics
    app.include_router(readiness_router(runtime), prefix="/api/v1")
    app.include_router(metrics_router())
    app.add_middleware(ServerErrorCounter, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    return metrics
