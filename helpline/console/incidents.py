"""Incidents: declare an outage the agent tells every affected contact about from now on; end it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from helpline.console.auth import Agent, Supervisor
from helpline.console.web import back, render, runtime_of
from helpline.store.repositories import IncidentRepository


def incidents_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/incidents")
    def incidents(request: Request, user: Agent) -> Response:
        with runtime_of(request).db.session() as session:
            items = IncidentRepository(session).list(active_only=False, limit=100)
        tags = sorted({t for a in runtime_of(request).knowledge.articles.values() for t in a.tags})
        return render(request, "incidents.html", user, incidents=items, tags=tags)

    @router.post("/incidents")
    def declare(request: Request, user: Supervisor, title: Annotated[str, Form()], message: Annotated[str, Form()],
                affected: Annotated[str, Form()] = "", expected_fix: Annotated[str, Form()] = "") -> Response:
        tags = [t.strip() for t in affected.split(",") if t.strip()]
        with runtime_of(request).db.session() as session:
            IncidentRepository(session).declare(actor=user.actor, title=title[:200], message=message, affected=tags,
                                                expected_fix=expected_fix.strip() or None)
        return back("/console/incidents", "Incident declared: the agent tells affected contacts from now on.")

    @router.post("/incidents/{incident_id}/end")
    def end(request: Request, incident_id: str, user: Supervisor) -> Response:
        with runtime_of(request).db.session() as session:
            IncidentRepository(session).end(incident_id, actor=user.actor)
        return back("/console/incidents", "Incident ended.")

    return router
