"""Templates, rendering and error pages shared by the console's routers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from helpline.console.auth import ConsoleDenied, StaffUser
from helpline.runtime import Runtime

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# Pages in the navigation: (path, label, lowest role that sees it).
NAV = (
    ("/console/live", "Live", "agent"),
    ("/console/inbox", "Escalations", "agent"),
    ("/console/tickets", "Tickets", "agent"),
    ("/console/callbacks", "Callbacks", "agent"),
    ("/console/knowledge", "Knowledge", "agent"),
    ("/console/incidents", "Incidents", "agent"),
    ("/console/outbound", "Outbound", "supervisor"),
    ("/console/dashboard", "Dashboard", "supervisor"),
    ("/console/settings", "Settings", "admin"),
)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(seconds: float | int | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def make_templates() -> Environment:
    # Autoescape everything: customers' messages are shown in these pages.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    env.filters["when"] = _when
    env.filters["duration"] = _duration
    return env


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def render(request: Request, template: str, user: StaffUser | None, status: int = 200, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.console_templates
    nav = [(path, label) for path, label, role in NAV if user is not None and user.can(role)]
    html = env.get_template(template).render(
        user=user, nav=nav, path=request.url.path, business=runtime_of(request).pack.business.name,
        flash=request.query_params.get("flash", ""), **context,
    )
    # No caching of staff pages; no framing (clickjacking); scripts only from this server.
    headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                          "script-src 'self'; frame-ancestors 'none'; form-action 'self'"}
    return HTMLResponse(html, status_code=status, headers=headers)


def back(location: str, flash: str = "") -> RedirectResponse:
    """Post/redirect/get, with a short message for the next page."""
    if flash:
        from urllib.parse import quote

        location += ("&" if "?" in location else "?") + "flash=" + quote(flash)
    return RedirectResponse(location, status_code=303)


async def denied_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleDenied)
    if exc.location:
        return RedirectResponse(exc.location, status_code=303)
    accept = request.headers.get("accept", "")
    if (accept.startswith("application/json") or request.method != "GET") and "text/html" not in accept:
        return JSONResponse({"error": {"code": "forbidden" if exc.status == 403 else "unauthorized",
                                           "message": exc.message}}, status_code=exc.status)
    from helpline.console.auth import optional_user

    return render(request, "error.html", optional_user(request), status=exc.status, message=exc.message)
