"""API-key authentication and role checks.

Roles: admin > supervisor > agent (a higher role may do whatever a lower one may); ``integration``
stands apart, for machines that only drive conversations, and is allowed only where it is named.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from helpline.api.errors import ApiError
from helpline.api.limits import RateLimit, RedisSlidingWindow, SlidingWindow
from helpline.application.keys import ApiKeyHolder, VerifiedApiKey, api_key_holder, known_api_role
from helpline.application.storage import Database

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Anti-automation (ASVS 2.2.1): after this many wrong or missing keys from one address in the window,
# the address gets 429 (right key or not) until the window has room again.
AUTH_FAILURES_PER_ADDRESS = 30
AUTH_FAILURE_WINDOW_SECONDS = 60.0
HELD_OFF_ADDRESSES = 10_000  # per node: the addresses remembered as held off (least recently seen forgotten)

_bearer = HTTPBearer(auto_error=False, description="An API key from `helpline apikey create`.")


# Who is calling: the key's prefix (the audit log's name for it, `actor`) and its role (`allowed`).
Principal = ApiKeyHolder


@dataclass(frozen=True)
class CheckedKey:
    """The bearer token of this request as already checked by a middleware (the Idempotency-Key guard): the live
    key it is, or None (wrong or revoked). Kept in the request's state so the route does not look the same token
    up a second time; used only for the very token the route reads (a request with two Authorization headers,
    each read by one side, is looked up again)."""

    token: str
    found: VerifiedApiKey | None


CHECKED_KEY_STATE = "checked_api_key"  # the name of the CheckedKey in ``request.state``


def remember_checked_key(scope: MutableMapping[str, Any], checked: CheckedKey) -> None:
    """Keep ``checked`` in the request's state (``scope["state"]``, what ``request.state`` reads), for
    ``authenticate``."""
    scope.setdefault("state", {})[CHECKED_KEY_STATE] = checked


def _key_holder(request: Request, token: str) -> Principal | None:
    """Who holds the live key ``token``: as a middleware already checked it on this request, else looked up."""
    checked = getattr(request.state, CHECKED_KEY_STATE, None)
    if isinstance(checked, CheckedKey) and checked.token == token:
        return checked.found.holder if checked.found is not None else None
    return api_key_holder(database(request), token)


def database(request: Request) -> Database:
    """The app's Database (kept on ``app.state.db``, never in a global)."""
    db: Database = request.app.state.db
    return db


# Module level: FastAPI resolves (postponed) annotations in the module's globals.
Db = Annotated[Database, Depends(database)]


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


class FailureGate:
    """Failed authentications per address, with the shared counter (Redis, with several nodes) asked only when
    something fails: a request with a right key costs no round trip. Each node remembers the addresses it has
    seen held off, until their wait is over, and refuses them (429, right key or not) without asking again.

    Guesses stay bounded across nodes: every wrong key is counted in the shared window, and one arriving while
    the window is full is refused (429) wherever it lands. What a node cannot know without asking is that an
    address it has not seen fail is held off by the others: a right key from there is let in (with keys of 256
    random bits, a guess that is right is not the risk the limit is for)."""

    def __init__(self, counter: RateLimit, clock: Callable[[], float] = time.monotonic,
                 max_addresses: int = HELD_OFF_ADDRESSES) -> None:
        self.counter = counter
        self.clock = clock
        self.max_addresses = max_addresses
        self._held: OrderedDict[str, float] = OrderedDict()  # address -> when (clock) it may try again
        self._guard = threading.Lock()

    def held_off(self, address: str) -> int:
        """Seconds ``address`` must still wait, as this node knows it (0: go on); never asks the counter."""
        with self._guard:
            until = self._held.get(address)
            if until is None:
                return 0
            left = until - self.clock()
            if left <= 0:
                del self._held[address]
                return 0
            return max(1, math.ceil(left))

    def failed(self, address: str) -> int:
        """Count a failure of ``address``; the seconds to wait if it is held off now (this failure came while
        the window was full: answer 429), else 0 (answer 401; if it filled the window, the next one waits)."""
        counted = self.counter.allow(address)
        wait = self.counter.retry_after(address)
        if wait > 0:
            with self._guard:
                self._held[address] = self.clock() + wait
                self._held.move_to_end(address)
                while len(self._held) > self.max_addresses:
                    self._held.popitem(last=False)
        return 0 if counted else max(1, wait)


def failure_gate(request: Request) -> FailureGate:
    """The app's gate over ``failed_auth_limiter`` (made on first use)."""
    state = request.app.state
    gate: FailureGate | None = getattr(state, "api_auth_gate", None)
    limiter = failed_auth_limiter(request)
    if gate is None or gate.counter is not limiter:
        gate = state.api_auth_gate = FailureGate(limiter)
    return gate


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def too_many_failures(wait: int, what: str = "authentications") -> ApiError:
    """The 429 for an address held off by `FailureGate` (API keys; the SMS webhooks' signatures)."""
    return ApiError(429, "too_many_requests", f"too many failed {what} from this address; try later",
                    headers={"Retry-After": str(wait)})


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    gate, address = failure_gate(request), client_address(request)
    wait = gate.held_off(address)
    if wait:
        raise too_many_failures(wait)
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        wait = gate.failed(address)
        if wait:
            raise too_many_failures(wait)
        raise ApiError(401, "unauthorized", "missing API key: send 'Authorization: Bearer <key>'",
                       headers=BEARER_CHALLENGE)
    found = _key_holder(request, credentials.credentials.strip())
    if found is None:
        wait = gate.failed(address)  # outside the read session: no database transaction waits on Redis
        if wait:
            raise too_many_failures(wait)
        raise ApiError(401, "unauthorized", "invalid or revoked API key", headers=BEARER_CHALLENGE)
    return found


def require_role(*roles: str) -> Callable[..., Principal]:
    """A dependency admitting callers whose role is listed, or outranks a listed role."""
    if not roles:
        raise ValueError("require_role needs at least one role")
    for role in roles:
        known_api_role(role)

    def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.allowed(roles):
            raise ApiError(403, "forbidden", f"the {principal.role} role may not do this "
                                             f"(needs {' or '.join(roles)})")
        return principal

    return dependency
