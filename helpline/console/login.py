"""Sign in and out. Failed passwords count towards a temporary lockout of the account.

Brute force is bounded twice: per account (``LOCKOUT_AFTER_FAILURES`` attempts, counted atomically in
the database *before* each password is checked, so concurrent guesses cannot slip past the limit on any
backend or across processes), and per client address (``FAILURES_PER_ADDRESS`` in
``ADDRESS_WINDOW_SECONDS``, in memory, answered 429). An unknown email, a disabled account, a locked
account and a wrong password all get the same 401 page after the same work (one argon2 verification and
one audit entry), so the answer reveals neither which accounts exist nor which are locked.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from helpline.api.limits import SlidingWindow
from helpline.application.console_access import (
    LOCKOUT_AFTER_FAILURES,
    LOCKOUT_FOR,
    SESSION_TTL,
    begin_sign_in,
    end_session,
    finish_sign_in,
)
from helpline.console.auth import ConsoleDenied, now_utc, optional_user
from helpline.console.security import (
    DUMMY_HASH,
    SESSION_COOKIE,
    csrf_matches,
    hash_password,
    needs_rehash,
    verify_password,
)
from helpline.console.web import render

LOGIN_CSRF_COOKIE = "helpline_login_csrf"
_MINUTES = int(LOCKOUT_FOR.total_seconds() // 60)
# One message for every failure: it must not tell a locked account from an unknown email.
GENERIC_FAILURE = (f"Wrong email or password. After {LOCKOUT_AFTER_FAILURES} wrong passwords in a row an account "
                   f"is locked for {_MINUTES} minutes.")
FAILURES_PER_ADDRESS = 30
ADDRESS_WINDOW_SECONDS = 15 * 60.0


def _safe_next(target: str) -> str:
    # Only paths inside the console: never an open redirect to another site.
    return target if target.startswith("/console") and not target.startswith("//") else "/console/live"


def login_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    # Sign-in attempts per client address (a success gives its attempt back).
    per_address = SlidingWindow(FAILURES_PER_ADDRESS, ADDRESS_WINDOW_SECONDS)

    @router.get("/login")
    def login_page(request: Request, next: str = "/console/live") -> Response:
        if optional_user(request) is not None:
            return RedirectResponse(_safe_next(next), status_code=303)
        return _login_form(request, next, "", "")

    @router.post("/login")
    def login(request: Request, email: Annotated[str, Form()], password: Annotated[str, Form()],
              csrf: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/console/live") -> Response:
        # Before there is a session, CSRF is a double-submit: the form's token must equal the cookie's.
        if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf):
            raise ConsoleDenied(403, "The sign-in form expired. Reload the page and try again.")
        address = request.client.host if request.client else "unknown"
        if not per_address.allow(address):
            wait = per_address.retry_after(address)
            response = _login_form(request, next, email, f"Too many sign-in attempts from your network. Try again in "
                                                         f"{max(1, wait // 60)} minutes.", 429)
            response.headers["Retry-After"] = str(wait)
            return response
        db = request.app.state.db
        now = now_utc()
        # 1. Take an attempt from the account's allowance and commit, so concurrent guesses see it.
        attempt = begin_sign_in(db, email, now)
        # 2. Check the password outside any transaction (argon2 is slow; no row stays locked meanwhile).
        #    Unknown, disabled and locked accounts are checked against a dummy hash: the same work.
        stored = attempt.password_hash
        ok = verify_password(stored or DUMMY_HASH, password) and stored is not None
        rehash = hash_password(password) if ok and stored is not None and needs_rehash(stored) else None
        # 3. Count the failure (locking at the limit) or open a session.
        token = finish_sign_in(db, attempt, password_ok=ok, now=now, rehash=rehash)
        if token is None:
            return _login_form(request, next, email, GENERIC_FAILURE, 401)
        per_address.release(address)
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_TTL.total_seconds()), path="/console",
                            httponly=True, samesite="strict", secure=request.url.scheme == "https")
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        user = optional_user(request)
        form = await request.form()
        token = request.cookies.get(SESSION_COOKIE, "")
        given = form.get("csrf")
        if user is not None and csrf_matches(user.csrf, given if isinstance(given, str) else None):
            end_session(request.app.state.db, token)
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/console")
        return response

    return router


def _login_form(request: Request, next: str, email: str, error: str, status: int = 200) -> Response:
    csrf = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, status=status, csrf=csrf, next=_safe_next(next), email=email,
                      error=error)
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, max_age=3600, path="/console", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response
