"""Sign in and out. Failed passwords count towards a temporary lockout of the account."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

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
from helpline.store.db import Database
from helpline.store.repositories import LOCKOUT_FOR, SESSION_TTL, ConsoleSessionRepository, ConsoleUserRepository

LOGIN_CSRF_COOKIE = "helpline_login_csrf"
GENERIC_FAILURE = "Wrong email or password."


def _safe_next(target: str) -> str:
    # Only paths inside the console: never an open redirect to another site.
    return target if target.startswith("/console") and not target.startswith("//") else "/console/live"


def login_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

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
        db: Database = request.app.state.db
        now = now_utc()
        with db.session() as session:
            users = ConsoleUserRepository(session)
            user = users.by_email(email)
            if user is None or user.disabled_at is not None:
                verify_password(DUMMY_HASH, password)
                return _login_form(request, next, email, GENERIC_FAILURE, 401)
            if users.is_locked(user, now):
                minutes = int(LOCKOUT_FOR.total_seconds() // 60)
                return _login_form(request, next, email, f"Too many failed attempts: this account is locked for "
                                                         f"up to {minutes} minutes.", 429)
            if not verify_password(user.password_hash, password):
                users.login_failed(user, now)
                return _login_form(request, next, email, GENERIC_FAILURE, 401)
            users.login_succeeded(user, rehash=hash_password(password) if needs_rehash(user.password_hash) else None)
            token, _record = ConsoleSessionRepository(session).create(user, now=now)
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
            db: Database = request.app.state.db
            with db.session() as session:
                ConsoleSessionRepository(session).delete(token)
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
