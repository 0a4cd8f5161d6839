"""Settings → What the agent says (admin): the pack's replies (templates/replies.yaml, its own language) as
plain text, one wording per line, with placeholders as readable words ("{business name}") instead of
template code. Checked by the pack loader on a copy of the pack before saving, applied at once, audited."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpline.application import audit
from helpline.console.auth import Admin, StaffUser
from helpline.console.pack_reload import announce_pack_changed, apply_pack
from helpline.console.settings_form import FormProblems, TemplateText, from_chips, to_chips
from helpline.console.web import back, render, runtime_of
from helpline.pack.loader import BusinessPack, PackInvalid, load_pack

REPLIES = Path("templates") / "replies.yaml"
MAX_LINES = 20


def read_replies(pack_root: Path) -> tuple[str, dict[str, list[Any]]]:
    """The file's leading comments (kept when it is saved) and its replies, each as a list of wordings."""
    path = pack_root / REPLIES
    if not path.is_file():
        return "", {}
    text = path.read_text(encoding="utf-8")
    header = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        header.append(line)
    loaded = yaml.safe_load(text)
    replies = {str(k): v if isinstance(v, list) else [v] for k, v in (loaded or {}).items()} \
        if isinstance(loaded, dict) else {}
    return "\n".join(header).rstrip() + "\n\n" if any(header) else "", replies


def shown(wordings: list[Any]) -> TemplateText:
    """All of a reply's wordings, one per line, as the owner edits them."""
    if not all(isinstance(w, str) and "\n" not in w for w in wordings):
        return TemplateText("", (), editable=False)
    parts = [to_chips(w) for w in wordings]
    chips = tuple(dict.fromkeys(c for p in parts for c in p.chips))
    return TemplateText("\n".join(p.text for p in parts), chips, editable=all(p.editable for p in parts))


def apply_form(replies: dict[str, list[Any]], form: dict[str, str], problems: FormProblems) -> dict[str, list[Any]]:
    updated: dict[str, list[Any]] = {}
    for key, wordings in replies.items():
        field = f"reply_{key}"
        if field not in form or not shown(wordings).editable:
            updated[key] = wordings
            continue
        lines = [line.strip() for line in form[field].splitlines() if line.strip()]
        if not lines:
            problems.add(field, "give at least one wording (one per line)")
        if len(lines) > MAX_LINES:
            problems.add(field, f"at most {MAX_LINES} wordings")
        original = " ".join(str(w) for w in wordings)
        converted = []
        for line in lines[:MAX_LINES]:
            try:
                converted.append(from_chips(line, original))
            except ValueError as exc:
                problems.add(field, str(exc))
        updated[key] = converted or wordings
    return updated


def _validate(pack_root: Path, text: str) -> BusinessPack:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "pack"
        shutil.copytree(pack_root, copy, ignore=shutil.ignore_patterns("*.db", "__pycache__", "var"))
        (copy / REPLIES).write_text(text, encoding="utf-8")
        return load_pack(copy)


def texts_router(prefix: str = "/console") -> APIRouter:
    router = APIRouter(prefix=prefix, include_in_schema=False)

    def page(request: Request, user: StaffUser, replies: dict[str, list[Any]], problems: FormProblems,
             posted: dict[str, str] | None = None, status: int = 200) -> Response:
        rows = [(key, key.replace("_", " "), shown(wordings)) for key, wordings in replies.items()]
        return render(request, "settings_texts.html", user, status=status, rows=rows, problems=problems,
                      posted=posted or {})

    @router.get("/settings/texts")
    def texts(request: Request, user: Admin) -> Response:
        _header, replies = read_replies(runtime_of(request).pack.root)
        return page(request, user, replies, FormProblems())

    @router.post("/settings/texts")
    async def save(request: Request, user: Admin) -> Response:
        runtime = runtime_of(request)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        header, replies = read_replies(runtime.pack.root)
        problems = FormProblems()
        updated = apply_form(replies, form, problems)
        text = header + yaml.safe_dump(updated, sort_keys=False, allow_unicode=True, width=1000)
        if not problems:
            try:
                validated = _validate(runtime.pack.root, text)
            except PackInvalid as exc:
                for error in exc.errors:
                    key = next((k for k in replies if error.message.startswith((f"{k}:", f"replies.{k}"))), "")
                    problems.add(f"reply_{key}" if key else "", error.message if key else str(error))
        if problems:
            return page(request, user, replies, problems, posted=form, status=400)
        changed = sorted(k for k in updated if updated[k] != replies.get(k))
        if changed:
            path = runtime.pack.root / REPLIES
            tmp = path.with_suffix(".yaml.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
            apply_pack(runtime, validated)
            announce_pack_changed(request.app.state)  # the other nodes reload it
            audit.record(runtime.db, user.actor, "update", "business_settings", str(REPLIES), None,
                         {"fields": [f"replies.{k}" for k in changed][:50], "editor": "texts"})
        return back("/console/settings/texts", "Saved; the agent says it now." if changed else "Nothing changed.")

    return router
