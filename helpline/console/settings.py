"""Settings (admin): hours, persona, escalation targets and callback SLA in the pack's business.yaml,
validated by the pack loader before saving; console users; widget keys."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from helpline.console.auth import Admin
from helpline.console.security import hash_password
from helpline.console.web import back, render, runtime_of
from helpline.pack.loader import BusinessPack, PackInvalid, load_pack
from helpline.store.repositories import AuditLog, Conflict, ConsoleUserRepository, WidgetKeyRepository
from helpline.store.validation import CONSOLE_ROLES

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def validate_business(pack_root: Path, business: dict[str, Any]) -> BusinessPack:
    """Load a copy of the pack with the new business.yaml; raises PackInvalid listing every error."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "pack"
        shutil.copytree(pack_root, copy, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
        (copy / "business.yaml").write_text(yaml.safe_dump(business, sort_keys=False, allow_unicode=True),
                                            encoding="utf-8")
        return load_pack(copy)


def apply_settings(raw: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    business = dict(raw)
    business["opening_hours"] = {d: form[f"hours_{d}"].strip() for d in DAYS if form.get(f"hours_{d}", "").strip()}
    business["holidays"] = [h.strip() for h in form.get("holidays", "").split(",") if h.strip()]
    persona = dict(business.get("persona") or {})
    persona.update(name=form.get("persona_name", "").strip(), tone=form.get("persona_tone", "warm"))
    greeting = form.get("persona_greeting", "").strip()
    persona["greeting"] = greeting or None
    business["persona"] = persona
    business["callback_sla"] = form.get("callback_sla", "").strip()
    escalation = yaml.safe_load(form.get("escalation", "")) if form.get("escalation", "").strip() else None
    if escalation is not None:
        business["escalation"] = escalation
    return business


def settings_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    def page(request: Request, user: Any, raw: dict[str, Any], errors: list[str], status: int = 200,
             escalation_text: str | None = None) -> Response:
        runtime = runtime_of(request)
        with runtime.db.session() as session:
            users = ConsoleUserRepository(session).list()
            keys = WidgetKeyRepository(session).list()
        escalation = escalation_text if escalation_text is not None else yaml.safe_dump(
            raw.get("escalation") or {}, sort_keys=False, allow_unicode=True)
        return render(request, "settings.html", user, status=status, raw=raw, days=DAYS, errors=errors,
                      escalation=escalation, users=users, keys=keys, roles=CONSOLE_ROLES,
                      request_base=str(request.base_url).rstrip("/"))

    @router.get("/settings")
    def settings(request: Request, user: Admin) -> Response:
        path = runtime_of(request).pack.root / "business.yaml"
        return page(request, user, yaml.safe_load(path.read_text(encoding="utf-8")) or {}, [])

    @router.post("/settings")
    async def save(request: Request, user: Admin) -> Response:
        runtime = runtime_of(request)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        path = runtime.pack.root / "business.yaml"
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        try:
            business = apply_settings(raw, form)
        except yaml.YAMLError as exc:
            return page(request, user, raw, [f"escalation: not valid YAML ({exc})"], 400, form.get("escalation"))
        try:
            validated = validate_business(runtime.pack.root, business)
        except PackInvalid as exc:
            return page(request, user, business, [str(e) for e in exc.errors], 400, form.get("escalation"))
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text("# Edited in the Helpline console (comments are not kept).\n"
                       + yaml.safe_dump(business, sort_keys=False, allow_unicode=True), encoding="utf-8")
        tmp.replace(path)
        # The engine reads the business settings on every turn: the change applies at once.
        runtime.pack.business = validated.business
        with runtime.db.session() as session:
            AuditLog(session).record(user.actor, "update", "business_settings", "business.yaml", None,
                                     {"fields": ["opening_hours", "holidays", "persona", "escalation",
                                                 "callback_sla"]})
        return back("/console/settings", "Settings saved; they apply now.")

    @router.post("/users")
    def create_user(request: Request, user: Admin, email: Annotated[str, Form()], role: Annotated[str, Form()],
                    password: Annotated[str, Form()], name: Annotated[str, Form()] = "") -> Response:
        try:
            hashed = hash_password(password)
            with runtime_of(request).db.session() as session:
                ConsoleUserRepository(session).create(email=email, role=role, password_hash=hashed, name=name,
                                                      actor=user.actor)
        except (ValueError, Conflict) as exc:
            return back("/console/settings", str(exc))
        return back("/console/settings", f"User {email} created.")

    @router.post("/widget-keys")
    def create_widget_key(request: Request, user: Admin, label: Annotated[str, Form()] = "",
                          origins: Annotated[str, Form()] = "") -> Response:
        allowed = [o.strip() for o in origins.replace("\n", ",").split(",") if o.strip()]
        with runtime_of(request).db.session() as session:
            key = WidgetKeyRepository(session).create(label=label, allowed_origins=allowed, actor=user.actor)
            public = key.public_key
        return back("/console/settings", f"Widget key {public} created.")

    return router
