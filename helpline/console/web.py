"""Templates, rendering and error pages shared by the console's routers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from helpline.application.business_days import BusinessDays
from helpline.console import wording
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
    ("/console/insight", "Insight", "supervisor"),
    ("/console/settings", "Settings", "admin"),
)


# The days a date filter may name: repeats are looked for a week either side, so keep clear of date.min/max.
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(9000, 12, 31)


def parse_day(text: str) -> date | None:
    """A date filter's day (YYYY-MM-DD), None when left empty; anything else is the caller's mistake: a 400
    saying so, never a 500."""
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ConsoleDenied(400, f"Not a date: {text[:40]!r} (use YYYY-MM-DD).") from exc
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ConsoleDenied(400, f"{text} is out of range ({EARLIEST_DAY.year}–{LATEST_DAY.year}).")
    return day


def business_days(runtime: Runtime) -> BusinessDays:
    """The business's days (settings may change its zone while the server runs: read it per request)."""
    return BusinessDays.named(runtime.pack.business.timezone)


def day_span(runtime: Runtime, date_from: str, date_to: str) -> tuple[datetime | None, datetime | None]:
    """Date filters (YYYY-MM-DD, either may be empty) as bounds on stored UTC times: from the start of the first
    business day to the start of the day after the last, so both days are included. The business's days, as the
    dashboard counts them, not UTC's."""
    return business_days(runtime).span(parse_day(date_from), parse_day(date_to))


def utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_time(moment: datetime | None, zone: ZoneInfo, now: datetime | None = None) -> str:
    """'Mon 30 Nov, 14:05' in the business's time zone (the zone the agent tells customers times in); the year
    only when it is not this year's."""
    if moment is None:
        return ""
    local = utc(moment).astimezone(zone)
    this_year = utc(now or datetime.now(UTC)).astimezone(zone).year
    day = f"{local:%a} {local.day} {local:%b}" + ("" if local.year == this_year else f" {local.year}")
    return f"{day}, {local:%H:%M}"


def span(seconds: float) -> str:
    """A length of time as staff say it: 'under a minute', '12 min', '2 h 5 min', '3 days'."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return "under a minute"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h" + (f" {minutes} min" if minutes and hours < 6 else "")
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''}"


def time_ago(moment: datetime | None, now: datetime) -> str:
    """'3 min ago', for a supervisor reading recency; a moment in the future reads 'in 3 min'."""
    if moment is None:
        return ""
    seconds = (utc(now) - utc(moment)).total_seconds()
    if abs(seconds) < 60:
        return "just now"
    return f"{span(seconds)} ago" if seconds > 0 else f"in {span(seconds)}"


@pass_context
def _when(context: Context, moment: datetime | str | None) -> str:
    if isinstance(moment, str):  # a transcript line's time, as its JSON carries it
        try:
            moment = datetime.fromisoformat(moment) if moment else None
        except ValueError:
            return ""
    return local_time(moment, context.get("tz") or ZoneInfo("UTC"), context.get("now"))


@pass_context
def _ago(context: Context, moment: datetime | None) -> str:
    return time_ago(moment, context.get("now") or datetime.now(UTC))


def _duration(seconds: float | int | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def make_templates() -> Environment:
    # Autoescape everything: customers' messages are shown in these pages.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    env.filters["when"] = _when
    env.filters["ago"] = _ago
    env.filters["duration"] = _duration
    env.filters["status"] = wording.status
    env.filters["flag"] = wording.flag
    env.filters["mood"] = wording.mood_words
    env.filters["issue"] = wording.issue
    return env


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def render(request: Request, template: str, user: StaffUser | None, status: int = 200, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.console_templates
    nav = [(path, label) for path, label, role in NAV if user is not None and user.can(role)]
    runtime = runtime_of(request)
    # Times read in the business's zone (settings may change it while the server runs: read it per page).
    zone = ZoneInfo(runtime.pack.business.timezone)
    shared: dict[str, Any] = {
        "user": user, "nav": nav, "path": request.url.path, "business": runtime.pack.business.name,
        "flash": request.query_params.get("flash", ""), "tz": zone, "now": runtime.conversations.clock(),
        "words": wording.ConsoleWording(runtime.engine.procedures, zone),
    }
    html = env.get_template(template).render({**shared, **context})  # a page's own value of a name wins
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
