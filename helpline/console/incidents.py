"""Incidents: declare an outage or planned maintenance the agent tells affected contacts about from now on
(scoped to towns and postcodes, in several languages); end it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpline.application import incident_desk
from helpline.application.allowed_values import INCIDENT_KINDS
from helpline.console.auth import Agent, ConsoleDenied, Supervisor
from helpline.console.web import back, render, runtime_of

MAX_FIELD = 2_000
# "es: Hay una avería en Millbrook" - one message per line in another language
_MESSAGE_LINE = re.compile(r"^\s*(?P<lang>[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)\s*:\s*(?P<text>.+?)\s*$")


class FormProblem(ValueError):
    """What is wrong with the submitted form, shown above it."""


def _items(text: str) -> list[str]:
    """A comma- or line-separated list: "05301, 05302"."""
    return [item.strip() for item in re.split(r"[,\n]", text) if item.strip()]


def _messages(default_language: str, message: str, others: str) -> dict[str, str]:
    messages = {default_language: message.strip()} if message.strip() else {}
    for line in others.splitlines():
        if not line.strip():
            continue
        match = _MESSAGE_LINE.match(line)
        if match is None:
            raise FormProblem(f"'{line.strip()[:60]}' is not a message line like 'es: Hay una avería en Millbrook'")
        messages[match.group("lang")] = match.group("text")[:MAX_FIELD]
    return messages


def _local(value: str, zone: ZoneInfo, name: str) -> datetime | None:
    """A datetime-local field ("2026-12-08T01:00") in the business's timezone."""
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise FormProblem(f"{name} is not a date and time") from exc
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def declaration(form: dict[str, str], timezone: str, default_language: str) -> dict[str, Any]:
    """The repository's `declare` arguments from the console form; FormProblem names what is wrong."""
    title = form.get("title", "").strip()[:200]
    if not title:
        raise FormProblem("Give the incident a title.")
    kind = form.get("kind", "outage")
    if kind not in INCIDENT_KINDS:
        raise FormProblem(f"Unknown kind '{kind[:40]}': choose an outage or planned maintenance.")
    messages = _messages(default_language, form.get("message", "")[:MAX_FIELD], form.get("other_messages", ""))
    if not messages:
        raise FormProblem("Write what the agent tells affected customers.")
    scope: dict[str, list[str]] = {}
    if _items(form.get("region", "")):
        scope["region"] = _items(form.get("region", ""))
    if _items(form.get("postcodes", "")):
        scope["postcode"] = _items(form.get("postcodes", ""))
    zone = ZoneInfo(timezone)
    start, end = _local(form.get("window_start", ""), zone, "Start"), _local(form.get("window_end", ""), zone, "End")
    if kind == "planned_maintenance":
        if start is None or end is None:
            raise FormProblem("Planned maintenance needs the start and end of its window.")
        if end <= start:
            raise FormProblem("The maintenance window ends before it starts.")
    else:
        start = end = None  # an outage is happening now: any window typed is not part of it
    return {
        "title": title, "message": next(iter(messages.values())), "messages": messages,
        "affected": [t.strip() for t in form.get("affected", "").split(",") if t.strip()],
        "expected_fix": form.get("expected_fix", "").strip()[:500] or None, "scope": scope, "kind": kind,
        "window_start": start, "window_end": end,
    }


def incidents_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    def page(request: Request, user: Any, status: int = 200, error: str = "",
             form: dict[str, str] | None = None) -> Response:
        runtime = runtime_of(request)
        items = incident_desk.incidents(runtime.db, limit=100)
        tags = sorted({t for a in runtime.knowledge.articles.values() for t in a.tags})
        business = runtime.pack.business
        return render(request, "incidents.html", user, status=status, incidents=items, tags=tags, error=error,
                      form=form or {}, timezone=business.timezone, language=(business.languages or ["en"])[0])

    @router.get("/incidents")
    def incidents(request: Request, user: Agent) -> Response:
        return page(request, user)

    @router.post("/incidents")
    async def declare(request: Request, user: Supervisor) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        business = runtime_of(request).pack.business
        try:
            fields = declaration(form, business.timezone, (business.languages or ["en"])[0])
            incident_desk.declare_incident(runtime_of(request).db, actor=user.actor, **fields)
        except ValueError as exc:  # FormProblem, or what the repository refuses
            return page(request, user, status=422, error=str(exc), form=form)
        return back("/console/incidents", "Incident declared: the agent tells affected contacts from now on.")

    @router.post("/incidents/{incident_id}/end")
    def end(request: Request, incident_id: str, user: Supervisor) -> Response:
        try:
            incident_desk.end_incident(runtime_of(request).db, incident_id, user.actor)
        except incident_desk.NotFound as exc:
            raise ConsoleDenied(404, "No such incident.") from exc
        return back("/console/incidents", "Incident ended.")

    return router

