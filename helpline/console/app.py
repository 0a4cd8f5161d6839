"""Mounts the console (pages, static files, error pages) on the Helpline FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from helpline.console.auth import ConsoleDenied
from helpline.console.calls import calls_router
from helpline.console.dashboard import dashboard_router
from helpline.console.export import export_router
from helpline.console.inbox import inbox_router
from helpline.console.incidents import incidents_router
from helpline.console.insight import insight_router
from helpline.console.knowledge import knowledge_router
from helpline.console.live import live_router
from helpline.console.login import login_router
from helpline.console.outbound import outbound_router
from helpline.console.pack_reload import PackFollower
from helpline.console.settings import settings_router
from helpline.console.tickets import tickets_router
from helpline.console.web import STATIC, denied_handler, make_templates


def mount_console(app: FastAPI) -> None:
    app.state.console_templates = make_templates()
    app.state.pack_follower = PackFollower(app.state.runtime)  # settings saved on another node apply here
    app.add_exception_handler(ConsoleDenied, denied_handler)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.get("/console", include_in_schema=False)
    def console_home() -> RedirectResponse:
        return RedirectResponse("/console/live", status_code=303)

    for router in (login_router(), live_router(), inbox_router(), tickets_router(), knowledge_router(),
                   incidents_router(), dashboard_router(), insight_router(), settings_router(), outbound_router(),
                   export_router()):
        app.include_router(router)
    app.include_router(calls_router())  # take over on a phone, listen in (issue 14)
