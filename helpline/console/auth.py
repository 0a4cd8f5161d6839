"""Console sign-in: server-side sessions in the database, roles, CSRF on every POST.

Roles: admin > supervisor > agent. Pages declare the lowest role they admit. An anonymous browser is
sent to the login page (GET) or refused with 401 (POST); a signed-in user without the role gets 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from helpline.application.console_access import staff_session
from helpline.application.keys import ROLE_RANK
from helpline.console.security import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, csrf_matches


class ConsoleDenied(Exception):
    """Rendered by the console's handler: a redirect to login, or an error page."""

    def __init__(self, status: int, message: str, location: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.location = location


@dataclass(frozen=True)
class StaffUser:
    id: str
    email: str
    name: str
    role: str
    csrf: str

    @property
    def actor(self) -> str:
        """The audit log's name for this person."""
        return f"console:{self.email}"

    def can(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def now_utc() -> datetime:
    return datetime.now(UTC)


def optional_user(request: Request) -> StaffUser | None:
    found = staff_session(request.app.state.db, request.cookies.get(SESSION_COOKIE, ""), now_utc())
    if found is None:
        return None
    return StaffUser(id=found.user_id, email=found.email, name=found.name, role=found.role, csrf=found.csrf)


def require(role: str) -> Callable[[Request], Awaitable[StaffUser]]:
    """A dependency admitting signed-in users of ``role`` or above; POSTs must carry the CSRF token."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown console role {role!r}")

    async def dependency(request: Request) -> StaffUser:
        user = optional_user(request)
        unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
        if user is None:
            if unsafe:
                raise ConsoleDenied(401, "Please sign in.")
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise ConsoleDenied(303, "Please sign in.", f"/console/login?next={quote(target)}")
        if not user.can(role):
            raise ConsoleDenied(403, f"This needs the {role} role; you are signed in as {user.role}.")
        if unsafe:
            given = request.headers.get(CSRF_HEADER)
            if given is None and request.headers.get("content-type", "").startswith(
                    ("application/x-www-form-urlencoded", "multipart/form-data")):
                value = (await request.form()).get(CSRF_FIELD)
                given = value if isinstance(value, str) else None
            if not csrf_matches(user.csrf, given):
                raise ConsoleDenied(403, "The form expired or did not come from this console (CSRF check). "
                                         "Reload the page and try again.")
        return user

    return dependency


Agent = Annotated[StaffUser, Depends(require("agent"))]
Supervisor = Annotated[StaffUser, Depends(require("supervisor"))]
Admin = Annotated[StaffUser, Depends(require("admin"))]
