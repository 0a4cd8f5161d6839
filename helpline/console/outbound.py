"""Outbound (supervisor): the send queue (queued, sent, failed, blocked, cancelled), retry and cancel; a preview
of every kind of message written for a real recent ticket; notices for an active incident; and (admin) the
pack's `outbound:` settings — which kinds go automatically, the survey channel, the delay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpline.api.validation import MAX_INT32
from helpline.application import audit, incident_desk
from helpline.application.outbound_desk import cancel_message, outbound_overview, retry_message
from helpline.console.auth import Admin, ConsoleDenied, Supervisor
from helpline.console.settings import validate_business
from helpline.console.web import back, render, runtime_of
from helpline.outbound.audience import Audience
from helpline.outbound.planner import Planner
from helpline.outbound.queue import OutboundStatus
from helpline.outbound.writers import IncidentFacts
from helpline.pack.loader import PackInvalid

PAGE = "/console/outbound"
KINDS = ("recap", "apology", "survey", "outage_notice", "callback_reminder")
SETTING_FIELDS = ("automatic", "survey_channel", "delay", "reminder_before", "contact_email", "contact_phone",
                  "website")


def apply_outbound(raw: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """business.yaml with the form's `outbound:` settings (empty fields dropped: the defaults apply)."""
    business = dict(raw)
    outbound: dict[str, Any] = {"automatic": [k for k in KINDS if form.get(f"auto_{k}")]}
    for name in SETTING_FIELDS[1:]:
        value = str(form.get(name, "")).strip()
        if value:
            outbound[name] = value
    business["outbound"] = outbound
    return business


def outbound_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/outbound")
    def outbound(request: Request, user: Supervisor, status: str = "", ticket: int | None = None) -> Response:
        runtime = runtime_of(request)
        shown = status if status in {s.value for s in OutboundStatus} else None
        # a number no ticket can have (out of the column's range) previews nothing, like an unknown one
        asked = ticket if ticket is None or 1 <= ticket <= MAX_INT32 else 0
        seen = outbound_overview(runtime.db, runtime.pack, user.actor, status=shown, preview_number=asked)
        incidents = incident_desk.incidents(runtime.db, not_ended_only=True)
        return render(request, "outbound.html", user, messages=seen.messages, numbers=seen.numbers,
                      counts=seen.counts, shown=shown or "", statuses=[s.value for s in OutboundStatus],
                      preview_ticket=seen.preview_ticket, asked_ticket=ticket, drafts=seen.drafts, incidents=incidents,
                      kinds=KINDS,
                      settings=runtime.pack.business.outbound)

    @router.post("/outbound/{message_id}/retry")
    def retry(request: Request, message_id: str, user: Supervisor) -> Response:
        done = retry_message(runtime_of(request).db, message_id, user.actor, datetime.now(UTC))
        return back(PAGE, "Queued again." if done else "Only a failed message can be retried.")

    @router.post("/outbound/{message_id}/cancel")
    def cancel(request: Request, message_id: str, user: Supervisor) -> Response:
        done = cancel_message(runtime_of(request).db, message_id, user.actor, datetime.now(UTC))
        return back(PAGE, "Cancelled: it will not be sent." if done else "Only a queued message can be cancelled.")

    @router.post("/outbound/incidents/{incident_id}/notify")
    def notify(request: Request, incident_id: str, user: Supervisor) -> Response:
        runtime = runtime_of(request)
        incident = incident_desk.incident(runtime.db, incident_id)
        if incident is None or incident.ended_at is not None:
            raise ConsoleDenied(404, "No such active incident.")
        facts = IncidentFacts(incident.id, incident.title, incident.message, incident.expected_fix,
                              dict(incident.scope), incident.affected)
        records = runtime.operations.sql.engine if runtime.operations.sql is not None else None
        planner = Planner(runtime.db, runtime.pack, Audience(runtime.db, runtime.pack, records))
        report = planner.notify_incident(facts, datetime.now(UTC))
        return back(PAGE, f"Notices queued: {report.queued}; without an address: {report.unsendable}.")

    @router.post("/outbound/settings")
    async def save_settings(request: Request, user: Admin) -> Response:
        runtime = runtime_of(request)
        form = dict(await request.form())
        path = runtime.pack.root / "business.yaml"
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        business = apply_outbound(raw, form)
        try:
            validated = validate_business(runtime.pack.root, business)
        except PackInvalid as exc:
            return back(PAGE, "Not saved: " + "; ".join(str(e) for e in exc.errors)[:500])
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text("# Edited in the Helpline console (comments are not kept).\n"
                       + yaml.safe_dump(business, sort_keys=False, allow_unicode=True), encoding="utf-8")
        tmp.replace(path)
        runtime.pack.business = validated.business  # the planner reads the settings on every pass
        audit.record(runtime.db, user.actor, "update", "business_settings", "business.yaml", None,
                     {"fields": ["outbound"]})
        return back(PAGE, "Outbound settings saved; they apply now.")

    return router
