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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpline.console.auth import Admin, StaffUser
from helpline.console.security import hash_password
from helpline.console.web import back, render, runtime_of
from helpline.store.models import ApiKey, AuditEntry, ConsoleUser, WidgetKey, utcnow
from helpline.store.repositories import (
    ApiKeyRepository,
    AuditLog,
    Conflict,
    ConsoleUserRepository,
    NotFound,
    WidgetKeyRepository,
)
from helpline.store.validation import API_ROLES, CONSOLE_ROLES

PAGE = "/console/access"
MAX_LABEL = 200


class LastAdmin(Conflict):
    """The change would leave the console without an enabled admin."""


@dataclass(frozen=True)
class NewKey:
    """A key just created: its plaintext is shown this once."""

    plaintext: str
    label: str
    role: str


class AccessDesk:
    """The changes the page makes, inside the caller's transaction."""

    def __init__(self, session: Session, actor: str):
        self.session = session
        self.actor = actor
        self.users = ConsoleUserRepository(session)

    def _user(self, user_id: str) -> ConsoleUser:
        user = self.users.get(user_id)
        if user is None:
            raise NotFound("no such console user")
        return user

    def _keep_an_admin(self, leaving: ConsoleUser) -> None:
        if leaving.role != "admin" or leaving.disabled_at is not None:
            return
        # Lock the enabled admins' rows (PostgreSQL), so two admins demoting each other at the same moment
        # cannot both pass this check; SQLite serialises writers anyway.
        admins = list(self.session.scalars(
            select(ConsoleUser.id).where(ConsoleUser.role == "admin", ConsoleUser.disabled_at.is_(None))
            .with_for_update()))
        if not set(admins) - {leaving.id}:
            raise LastAdmin(f"{leaving.email} is the last admin: make someone else an admin first")

    def create_user(self, *, email: str, name: str, role: str, password_hash: str) -> ConsoleUser:
        return self.users.create(email=email, role=role, password_hash=password_hash, name=name.strip(),
                                 actor=self.actor)

    def set_role(self, user_id: str, role: str) -> ConsoleUser:
        if role not in CONSOLE_ROLES:
            raise ValueError(f"unknown role {role!r} (use {', '.join(CONSOLE_ROLES)})")
        user = self._user(user_id)
        if user.role == role:
            return user
        if role != "admin":
            self._keep_an_admin(user)
        before, user.role = user.role, role
        self.session.flush()
        AuditLog(self.session).record(self.actor, "update", "console_user", user.id, None,
                                      {"email": user.email, "role": [before, role]})
        return user

    def disable_user(self, user_id: str) -> ConsoleUser:
        user = self._user(user_id)
        if user.disabled_at is None:
            self._keep_an_admin(user)
            self.users.disable(user, actor=self.actor)  # deletes the person's sessions, audited
        return user

    def enable_user(self, user_id: str) -> ConsoleUser:
        user = self._user(user_id)
        if user.disabled_at is not None:
            user.disabled_at = None
            self.session.flush()
            AuditLog(self.session).record(self.actor, "update", "console_user", user.id, None, {"disabled": False})
        return user

    def create_api_key(self, *, role: str, label: str) -> NewKey:
        if role not in API_ROLES:
            raise ValueError(f"unknown role {role!r} (use {', '.join(API_ROLES)})")
        plaintext, key = ApiKeyRepository(self.session).create(role=role, label=label.strip()[:MAX_LABEL],
                                                               actor=self.actor)
        return NewKey(plaintext, key.label, key.role)

    def revoke_api_key(self, key_id: str) -> ApiKey:
        if self.session.get(ApiKey, key_id) is None:
            raise NotFound("no such API key")  # by id only: the repository's prefix lookup is for the CLI
        return ApiKeyRepository(self.session).revoke(key_id, actor=self.actor)

    def create_widget_key(self, *, label: str, origins: str) -> WidgetKey:
        allowed = [o.strip() for o in origins.replace("\n", ",").split(",") if o.strip()]
        for origin in allowed:
            if not origin.startswith(("https://", "http://")) or " " in origin:
                raise ValueError(f"{origin!r} is not a site address like https://www.example.com")
        return WidgetKeyRepository(self.session).create(label=label.strip()[:MAX_LABEL], allowed_origins=allowed,
                                                        actor=self.actor)

    def revoke_widget_key(self, key_id: str) -> WidgetKey:
        key = self.session.get(WidgetKey, key_id)
        if key is None:
            raise NotFound("no such widget key")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            self.session.flush()
            AuditLog(self.session).record(self.actor, "update", "widget_key", key.id, None,
                                          {"revoked": True, "label": key.label})
        return key


# What the page's "recent changes" lists: who changed access or settings, and when.
AUDITED = ("console_user", "api_key", "widget_key", "business_settings")


def recent_changes(session: Session, limit: int = 15) -> list[AuditEntry]:
    log = AuditLog(session)
    entries = [e for entity in AUDITED for e in log.list(entity=entity, limit=limit) if e.action != "read"]
    return sorted(entries, key=lambda e: e.id, reverse=True)[:limit]


def _admins_enabled(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ConsoleUser).where(
        ConsoleUser.role == "admin", ConsoleUser.disabled_at.is_(None))) or 0)


def access_router(prefix: str = "/console") -> APIRouter:
    router = APIRouter(prefix=prefix, include_in_schema=False)

    def page(request: Request, user: StaffUser, *, status: int = 200, error: str = "",
             new_key: NewKey | None = None) -> Response:
        with runtime_of(request).db.session() as session:
            users = ConsoleUserRepository(session).list()
            api_keys = ApiKeyRepository(session).list(include_revoked=True)
            widget_keys = WidgetKeyRepository(session).list()
            admins = _admins_enabled(session)
            changes = recent_changes(session)
        return render(request, "access.html", user, status=status, error=error, new_key=new_key, users=users,
                      api_keys=api_keys, widget_keys=widget_keys, admins=admins, changes=changes, now=datetime.now(UTC),
                      console_roles=CONSOLE_ROLES, api_roles=API_ROLES, request_base=str(request.base_url).rstrip("/"))

    def change(request: Request, user: StaffUser, done: str, action: Callable[[AccessDesk], object]) -> Response:
        try:
            with runtime_of(request).db.session() as session:
                action(AccessDesk(session, user.actor))
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
            with runtime_of(request).db.session() as session:
                created = AccessDesk(session, user.actor).create_user(email=email, name=name, role=role,
                                                                      password_hash=hashed)
                address = created.email
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
            with runtime_of(request).db.session() as session:
                new_key = AccessDesk(session, user.actor).create_api_key(role=role, label=label)
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
            with runtime_of(request).db.session() as session:
                public = AccessDesk(session, user.actor).create_widget_key(label=label, origins=origins).public_key
        except ValueError as exc:
            return page(request, user, status=400, error=str(exc))
        return back(PAGE, f"Widget key {public} created.")

    @router.post("/access/widget-keys/revoke")
    def revoke_widget_key(request: Request, user: Admin, key_id: Annotated[str, Form()]) -> Response:
        return change(request, user,
                      "Widget key revoked; new chats with it are refused and open ones end within seconds.",
                      lambda desk: desk.revoke_widget_key(key_id))

    return router
