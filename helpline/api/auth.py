"""API-key authentication and role checks.

Roles: admin > supervisor > agent (a higher role may do whatever a lower one may); ``integration``
stands apart, for machines that only drive conversations, and is allowed only where it is named.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from helpline.api.errors import ApiError
from helpline.api.limits import RateLimit, RedisSlidingWindow, SlidingWindow
from helpline.application.keys import ApiKeyHolder
from helpline.store.db import Database
from helpline.store.repositories import ApiKeyRepository
from helpline.store.validation import API_ROLES, check_choice

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Anti-automation (ASVS 2.2.1): after this many wrong or missing keys from one address in the window,
# the address gets 429 (right key or not) until the window has room again.
AUTH_FAILURES_PER_ADDRESS = 30
AUTH_FAILURE_WINDOW_SECONDS = 60.0

_bearer = HTTPBearer(auto_error=False, description="An API key from `helpline apikey create`.")


# Who is calling: the key's prefix (the audit log's name for it, `actor`) and its role (`allowed`).
Principal = ApiKeyHolder


def database(request: Request) -> Database:
    """The app's Database (kept on ``app.state.db``, never in a global)."""
    db: Database = request.app.state.db
    return db


def failed_auth_limiter(request: Request) -> RateLimit:
    """The app's counter of failed API authentications per client address (made on first use; in Redis,
    shared by every node, when the deployment has it)."""
    state = request.app.state
    limiter: RateLimit | None = getattr(state, "api_auth_failures", None)
    if limiter is None:
        shared = getattr(getattr(state, "runtime", None), "shared", None)
        limiter = (RedisSlidingWindow(shared.client, shared.key("limit", "api-auth-failures", ""),
                                      AUTH_FAILURES_PER_ADDRESS, AUTH_FAILURE_WINDOW_SECONDS)
                   if shared is not None else SlidingWindow(AUTH_FAILURES_PER_ADDRESS, AUTH_FAILURE_WINDOW_SECONDS))
        state.api_auth_failures = limiter
    return limiter


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    limiter, address = failed_auth_limiter(request), client_address(request)
    if limiter.blocked(address):
        raise ApiError(429, "too_many_requests", "too many failed authentications from this address; try later",
                       headers={"Retry-After": str(limiter.retry_after(address))})
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        limiter.hit(address)
        raise ApiError(401, "unauthorized", "missing API key: send 'Authorization: Bearer <key>'",
                       headers=BEARER_CHALLENGE)
    # a read session: on SQLite, checking a key never queues behind (or blocks) a turn being written
    with database(request).read_session() as session:
        key = ApiKeyRepository(session).verify(credentials.credentials.strip())
        if key is None:
            limiter.hit(address)
            raise ApiError(401, "unauthorized", "invalid or revoked API key", headers=BEARER_CHALLENGE)
        return Principal(key_prefix=key.prefix, role=key.role)


def require_role(*roles: str) -> Callable[..., Principal]:
    """A dependency admitting callers whose role is listed, or outranks a listed role."""
    if not roles:
        raise ValueError("require_role needs at least one role")
    for role in roles:
        check_choice("role", role, API_ROLES)

    def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.allowed(roles):
            raise ApiError(403, "forbidden", f"the {principal.role} role may not do this "
                                             f"(needs {' or '.join(roles)})")
        return principal

    return dependency
