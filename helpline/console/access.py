"""Staff and keys (admin): console users, API keys and chat-widget keys created, listed and revoked in the
console, as ``helpline user``/``apikey``/``widget`` do on the command line.

An API key is shown once, in the answer to the form that created it (never in a URL, a redirect or a log),
and only its SHA-256 is stored. Revoking a key or disabling a person takes effect on their next request
(both are checked against the database on every request; a disabled person's sessions are deleted). Every
change is audited. The last enabled admin can be neither disabled nor demoted, so the console always has
someone who can manage it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from helpline.application.allowed_values import API_ROLES, CONSOLE_ROLES
from helpline.application.console_access import AccessDesk, Conflict, NewKey, access_desk, access_overview
from helpline.console.auth import Admin, StaffUser
from helpline.console.security import hash_password
from helpline.console.web import back, render, runtime_of

PAGE = "/console/access"


def access_router(prefix: str = "/console") -> APIRouter:
    router = APIRouter(prefix=prefix, include_in_schema=False)

    def page(request: Request, user: StaffUser, *, status: int = 200, error: str = "",
             new_key: NewKey | None = None) -> Response:
        seen = access_overview(runtime_of(request).db)
        return render(request, "access.html", user, status=status, error=error, new_key=new_key, users=seen.users,
                      api_keys=seen.api_keys, widget_keys=seen.widget_keys, admins=seen.admins, changes=seen.changes,
                      now=datetime.now(UTC),
                      console_roles=CONSOLE_ROLES, api_roles=API_ROLES, request_base=str(request.base_url).rstrip("/"))

    def change(request: Request, user: StaffUser, done: str, action: Callable[[AccessDesk], object]) -> Response:
        try:
            with access_desk(runtime_of(request).db, user.actor) as desk:
                action(desk)
        except (ValueError, LookupError, Conflict) as exc:
            return page(request, user, status=409 if isinstance(exc, Conflict) else 400, error=str(exc))
        return back(PAGE, done)

    @router.get("/access")
    def access(request: Request, user: Admin) -> Response:
        return page(request, user)

    @router.post("/access/users")
    def create_user(request: Request, user: Admin, email: Annotated[str, Form()], role: Annotated[str, Form()],
                    password: Annotated[str, Form()], name: Annotated[str, Form()] = "") -> Response:
        try:
            hashed = hash_password(password)  # argon2 is slow: before the transaction, not inside it
            with access_desk(runtime_of(request).db, user.actor) as desk:
                address = desk.create_user(email=email, name=name, role=role, password_hash=hashed)
        except (ValueError, Conflict) as exc:
            return page(request, user, status=400, error=str(exc))
        return back(PAGE, f"{address} can now sign in as {role}.")

    @router.post("/access/users/role")
    def set_role(request: Request, user: Admin, user_id: Annotated[str, Form()],
                 role: Annotated[str, Form()]) -> Response:
        return change(request, user, f"Role changed to {role}.", lambda desk: desk.set_role(user_id, role))

    @router.post("/access/users/disable")
    def disable(request: Request, user: Admin, user_id: Annotated[str, Form()]) -> Response:
        return change(request, user, "Access removed; their sessions have ended.",
                      lambda desk: desk.disable_user(user_id))

    @router.post("/access/users/enable")
    def enable(request: Request, user: Admin, user_id: Annotated[str, Form()]) -> Response:
        return change(request, user, "Access restored.", lambda desk: desk.enable_user(user_id))

    @router.post("/access/api-keys")
    def create_api_key(request: Request, user: Admin, role: Annotated[str, Form()],
                       label: Annotated[str, Form()] = "") -> Response:
        try:
            with access_desk(runtime_of(request).db, user.actor) as desk:
                new_key = desk.create_api_key(role=role, label=label)
        except ValueError as exc:
            return page(request, user, status=400, error=str(exc))
        # Rendered, not redirected: the key must not travel in a URL (history, logs).
        return page(request, user, new_key=new_key)

    @router.post("/access/api-keys/revoke")
    def revoke_api_key(request: Request, user: Admin, key_id: Annotated[str, Form()]) -> Response:
        return change(request, user, "API key revoked; it no longer works.", lambda desk: desk.revoke_api_key(key_id))

    @router.post("/access/widget-keys")
    def create_widget_key(request: Request, user: Admin, label: Annotated[str, Form()] = "",
                          origins: Annotated[str, Form()] = "") -> Response:
        try:
            with access_desk(runtime_of(request).db, user.actor) as desk:
                public = desk.create_widget_key(label=label, origins=origins)
        except ValueError as exc:
            return page(request, user, status=400, error=str(exc))
        return back(PAGE, f"Widget key {public} created.")

    @router.post("/access/widget-keys/revoke")
    def revoke_widget_key(request: Request, user: Admin, key_id: Annotated[str, Form()]) -> Response:
        return change(request, user,
                      "Widget key revoked; new chats with it are refused and open ones end within seconds.",
                      lambda desk: desk.revoke_widget_key(key_id))

    return router
