"""Settings (admin): the business's hours, time zone, persona and greeting, escalation teams and callback
promise as forms (settings_form.py), and the whole business.yaml in an advanced editor. Every save is
validated by the pack loader on a copy of the pack first, applies at once, and is audited with the fields
it changed."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpline.application import audit
from helpline.console.access import access_router
from helpline.console.auth import Admin, StaffUser
from helpline.console.pack_reload import announce_pack_changed, apply_pack
from helpline.console.settings_form import (
    DAYS,
    TONES,
    FormProblems,
    hours_rows,
    place_errors,
    read_form,
    tier_rows,
    timezones,
    to_chips,
)
from helpline.console.texts import texts_router
from helpline.console.web import back, render, runtime_of
from helpline.pack.loader import BusinessPack, PackInvalid, load_pack

MAX_YAML_BYTES = 200_000


def validate_business(pack_root: Path, business: dict[str, Any]) -> BusinessPack:
    """Load a copy of the pack with the new business.yaml; raises PackInvalid listing every error."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "pack"
        shutil.copytree(pack_root, copy, ignore=shutil.ignore_patterns("*.db", "__pycache__", "var"))
        (copy / "business.yaml").write_text(yaml.safe_dump(business, sort_keys=False, allow_unicode=True),
                                            encoding="utf-8")
        return load_pack(copy)


def changed_fields(before: Any, after: Any, prefix: str = "") -> list[str]:
    """Dotted paths whose value differs (what the audit entry lists)."""
    if isinstance(before, dict) and isinstance(after, dict):
        paths: list[str] = []
        for key in dict.fromkeys([*before, *after]):
            paths += changed_fields(before.get(key), after.get(key), f"{prefix}{key}.")
        return paths
    return [] if before == after else [prefix.rstrip(".") or "(all)"]


def _announcement(request: Request, raw: dict[str, Any]) -> str:
    recording = raw.get("call_recording")
    if isinstance(recording, dict) and isinstance(recording.get("announcement"), str):
        return str(recording["announcement"])
    return runtime_of(request).pack.business.call_recording.announcement  # the default the calls use


def _read_business(request: Request) -> tuple[Path, dict[str, Any]]:
    path = runtime_of(request).pack.root / "business.yaml"
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return path, loaded if isinstance(loaded, dict) else {}


def _save(request: Request, user: StaffUser, path: Path, before: dict[str, Any], business: dict[str, Any],
          validated: BusinessPack, how: str, text: str | None = None) -> list[str]:
    """Write business.yaml (the advanced editor's text as typed, comments and all) and audit the change."""
    runtime = runtime_of(request)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(text if text is not None else "# Edited in the Helpline console (comments are not kept).\n"
                   + yaml.safe_dump(business, sort_keys=False, allow_unicode=True), encoding="utf-8")
    tmp.replace(path)
    apply_pack(runtime, validated)
    announce_pack_changed(request.app.state)  # the other nodes reload it
    fields = changed_fields(before, business)
    audit.record(runtime.db, user.actor, "update", "business_settings", "business.yaml", None,
                 {"fields": fields[:50], "editor": how})
    return fields


def settings_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    def form_page(request: Request, user: StaffUser, raw: dict[str, Any], problems: FormProblems,
                  status: int = 200) -> Response:
        persona = raw.get("persona") or {}
        escalation = raw.get("escalation") or {}
        rows = tier_rows(escalation)
        return render(request, "settings.html", user, status=status, raw=raw, problems=problems,
                      hours=hours_rows(raw.get("opening_hours")), tones=TONES, timezones=timezones(),
                      greeting=to_chips(persona.get("greeting")), persona=persona, escalation=escalation,
                      # a team without hours of its own shows the business's, a start when it gets its own
                      tiers=[(row, hours_rows(row.values.get("opening_hours") or raw.get("opening_hours")))
                             for row in rows],
                      announcement=_announcement(request, raw), days=DAYS)

    @router.get("/settings")
    def settings(request: Request, user: Admin) -> Response:
        _path, raw = _read_business(request)
        return form_page(request, user, raw, FormProblems())

    @router.post("/settings")
    async def save(request: Request, user: Admin) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        path, raw = _read_business(request)
        result = read_form(raw, form, default_announcement=_announcement(request, raw))
        if result.problems:
            return form_page(request, user, result.business, result.problems, 400)
        try:
            validated = validate_business(runtime_of(request).pack.root, result.business)
        except PackInvalid as exc:
            place_errors([str(e) for e in exc.errors], result.tier_rows, result.problems)
            return form_page(request, user, result.business, result.problems, 400)
        fields = _save(request, user, path, raw, result.business, validated, "form")
        return back("/console/settings", "Settings saved; they apply now." if fields else "Nothing changed.")

    @router.get("/settings/advanced")
    def advanced(request: Request, user: Admin) -> Response:
        path, _raw = _read_business(request)
        return render(request, "settings_advanced.html", user, text=path.read_text(encoding="utf-8"), errors=[])

    @router.post("/settings/advanced")
    async def save_advanced(request: Request, user: Admin) -> Response:
        form = await request.form()
        text = form.get("business_yaml")
        text = text if isinstance(text, str) else ""
        path, raw = _read_business(request)

        def refused(errors: list[str]) -> Response:
            return render(request, "settings_advanced.html", user, status=400, text=text, errors=errors)

        if len(text.encode("utf-8")) > MAX_YAML_BYTES:
            return refused([f"business.yaml: longer than {MAX_YAML_BYTES // 1000} kB"])
        try:
            # No aliases: a few nested ones expand into billions of values when the pack is validated.
            if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader)):
                return refused(["business.yaml: aliases (*name) are not allowed here; write the values out"])
            business = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            return refused([f"business.yaml: not valid YAML ({exc})"])
        if not isinstance(business, dict):
            return refused(["business.yaml: must be a mapping of settings (name:, timezone:, ...)"])
        try:
            validated = validate_business(runtime_of(request).pack.root, business)
        except PackInvalid as exc:
            return refused([str(e) for e in exc.errors])
        fields = _save(request, user, path, raw, business, validated, "advanced", text.replace("\r\n", "\n"))
        return back("/console/settings/advanced", "Saved; it applies now." if fields else "Nothing changed.")

    # The settings area's other pages: the agent's wording (texts.py), staff and API/widget keys (access.py).
    router.include_router(texts_router(prefix=""))
    router.include_router(access_router(prefix=""))
    return router
