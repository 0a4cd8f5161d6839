"""Who may use the console, and how: staff sign-in and sessions, the people, API keys and widget keys an admin
manages, and each person's own softphone. Reads return plain views, never the store's rows.

Password hashing stays with the console (``console/security.py``): this module only stores and compares what it
is given, so the slow argon2 work happens outside every transaction here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpline.application.audit import AuditEntryView, recent_changes
from helpline.store.db import Database
from helpline.store.models import ApiKey, ConsoleUser, WidgetKey, utcnow
from helpline.store.repositories import (
    LOCKOUT_AFTER_FAILURES,
    LOCKOUT_FOR,
    SESSION_TTL,
    ApiKeyRepository,
    AuditLog,
    Conflict,
    ConsoleSessionRepository,
    ConsoleUserRepository,
    NotFound,
    WidgetKeyRepository,
)
from helpline.store.validation import API_ROLES, CONSOLE_ROLES

__all__ = [
    "LOCKOUT_AFTER_FAILURES", "LOCKOUT_FOR", "SESSION_TTL", "AccessDesk", "AccessOverview", "ApiKeyView", "Conflict",
    "LastAdmin", "NewKey", "NotFound", "SignInAttempt", "StaffSession", "StaffUserView", "WidgetKeyView",
    "access_desk", "access_overview", "begin_sign_in", "create_console_user", "end_session", "finish_sign_in",
    "set_softphone", "set_softphone_by_email", "softphone_of", "staff_session",
]

MAX_LABEL = 200
# What the access page's "recent changes" lists: who changed access or settings, and when.
AUDITED = ("console_user", "api_key", "widget_key", "business_settings")


# --- sessions and sign-in -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffSession:
    """A live console session: whose, and its CSRF token."""

    user_id: str
    email: str
    name: str
    role: str
    csrf: str


def staff_session(db: Database, token: str, now: datetime) -> StaffSession | None:
    """The live session of a cookie value and its enabled user; None for an empty, unknown or expired one."""
    if not token:
        return None
    with db.session() as session:
        found = ConsoleSessionRepository(session).lookup(token, now=now)
        if found is None:
            return None
        record, user = found
        return StaffSession(user_id=user.id, email=user.email, name=user.name or user.email, role=user.role,
                            csrf=record.csrf_token)


def end_session(db: Database, token: str) -> None:
    with db.session() as session:
        ConsoleSessionRepository(session).delete(token)


@dataclass(frozen=True)
class SignInAttempt:
    """One sign-in attempt, counted against the account before its password is checked."""

    email: str
    user_id: str | None  # the enabled account of that email, if any
    attempt: int | None  # its number since the last success or lock; None while locked (or no account)
    # the account's password hash when this attempt may be checked against it; None: check a dummy hash, so an
    # unknown, disabled or locked account costs the same work and reads the same
    password_hash: str | None


def begin_sign_in(db: Database, email: str, now: datetime) -> SignInAttempt:
    """Take an attempt from the account's allowance and commit, so concurrent guesses see it."""
    with db.session() as session:
        users = ConsoleUserRepository(session)
        user = users.by_email(email)
        user_id = user.id if user is not None and user.disabled_at is None else None
        attempt = users.reserve_attempt(user_id, now) if user_id else None
        allowed = user is not None and attempt is not None and attempt <= LOCKOUT_AFTER_FAILURES
        return SignInAttempt(email=email, user_id=user_id, attempt=attempt,
                             password_hash=user.password_hash if allowed and user is not None else None)


def finish_sign_in(db: Database, attempt: SignInAttempt, *, password_ok: bool, now: datetime,
                   rehash: str | None = None) -> str | None:
    """Record the attempt's outcome: on success a new session's token (``rehash``, a fresher hash of the same
    password, replaces the stored one); else None, the failure counted (the account locks at the limit)."""
    ok = password_ok and attempt.password_hash is not None
    with db.session() as session:
        users = ConsoleUserRepository(session)
        user = users.get(attempt.user_id) if attempt.user_id else None
        if not ok or user is None:
            if user is not None:
                users.attempt_failed(user, attempt.attempt, now)
            else:
                email = attempt.email
                AuditLog(session).record("console:unknown", "read", "console_login", "", None,
                                         {"ok": False, "email": email[:100] if "@" in email else "?"})
            return None
        users.login_succeeded(user, rehash=rehash)
        token, _record = ConsoleSessionRepository(session).create(user, now=now)
        return token


# --- a person's own softphone ---------------------------------------------------------------------------------


def softphone_of(db: Database, user_id: str) -> str:
    """The person's own SIP phone ("" when not set)."""
    with db.read_session() as session:
        record = ConsoleUserRepository(session).get(user_id)
        return (record.softphone or "") if record is not None else ""


def set_softphone(db: Database, user_id: str, address: str, actor: str) -> None:
    """Set (or, empty, forget) the person's softphone. NotFound for a user that is gone; ValueError for an
    address that is not a SIP address or an extension."""
    with db.session() as session:
        repo = ConsoleUserRepository(session)
        record = repo.get(user_id)
        if record is None:
            raise NotFound("no such console user")
        repo.set_softphone(record, address, actor=actor)


def set_softphone_by_email(db: Database, email: str, address: str, actor: str) -> None:
    """``set_softphone`` for the console user signing in as ``email`` (as the CLI names them); NotFound when there
    is none, ValueError for an address that is not a SIP address or an extension."""
    with db.session() as session:
        repo = ConsoleUserRepository(session)
        record = repo.by_email(email)
        if record is None:
            raise NotFound(f"no console user {email}")
        repo.set_softphone(record, address, actor=actor)


def create_console_user(db: Database, *, email: str, role: str, password_hash: str, name: str, actor: str) -> str:
    """A new console user (audited); their email as stored (normalised). ValueError for an unknown role or a
    malformed email, Conflict when the email is taken."""
    with db.session() as session:
        return ConsoleUserRepository(session).create(email=email, role=role, password_hash=password_hash, name=name,
                                                     actor=actor).email


# --- the admin's access page ----------------------------------------------------------------------------------


class LastAdmin(Conflict):
    """The change would leave the console without an enabled admin."""


@dataclass(frozen=True)
class NewKey:
    """A key just created: its plaintext is shown this once."""

    plaintext: str
    label: str
    role: str


@dataclass(frozen=True)
class StaffUserView:
    id: str
    email: str
    name: str
    role: str
    locked_until: datetime | None
    disabled_at: datetime | None


@dataclass(frozen=True)
class ApiKeyView:
    id: str
    prefix: str
    role: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class WidgetKeyView:
    id: str
    public_key: str
    label: str
    allowed_origins: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class AccessOverview:
    """Everything the access page lists."""

    users: list[StaffUserView]
    api_keys: list[ApiKeyView]
    widget_keys: list[WidgetKeyView]
    admins: int  # enabled admins
    changes: list[AuditEntryView]


def access_overview(db: Database) -> AccessOverview:
    with db.session() as session:
        users = [StaffUserView(u.id, u.email, u.name, u.role, u.locked_until, u.disabled_at)
                 for u in ConsoleUserRepository(session).list()]
        api_keys = [ApiKeyView(k.id, k.prefix, k.role, k.label, k.created_at, k.revoked_at)
                    for k in ApiKeyRepository(session).list(include_revoked=True)]
        widget_keys = [WidgetKeyView(k.id, k.public_key, k.label, tuple(k.allowed_origins or ()), k.created_at,
                                     k.revoked_at) for k in WidgetKeyRepository(session).list()]
        admins = int(session.scalar(select(func.count()).select_from(ConsoleUser).where(
            ConsoleUser.role == "admin", ConsoleUser.disabled_at.is_(None))) or 0)
    return AccessOverview(users, api_keys, widget_keys, admins, recent_changes(db, AUDITED))


class AccessDesk:
    """The changes the access page makes, inside one transaction (``access_desk``); every change audited."""

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

    def create_user(self, *, email: str, name: str, role: str, password_hash: str) -> str:
        """The new person's email, as stored (normalised)."""
        return self.users.create(email=email, role=role, password_hash=password_hash, name=name.strip(),
                                 actor=self.actor).email

    def set_role(self, user_id: str, role: str) -> None:
        if role not in CONSOLE_ROLES:
            raise ValueError(f"unknown role {role!r} (use {', '.join(CONSOLE_ROLES)})")
        user = self._user(user_id)
        if user.role == role:
            return
        if role != "admin":
            self._keep_an_admin(user)
        before, user.role = user.role, role
        self.session.flush()
        AuditLog(self.session).record(self.actor, "update", "console_user", user.id, None,
                                      {"email": user.email, "role": [before, role]})

    def disable_user(self, user_id: str) -> None:
        user = self._user(user_id)
        if user.disabled_at is None:
            self._keep_an_admin(user)
            self.users.disable(user, actor=self.actor)  # deletes the person's sessions, audited

    def enable_user(self, user_id: str) -> None:
        user = self._user(user_id)
        if user.disabled_at is not None:
            user.disabled_at = None
            self.session.flush()
            AuditLog(self.session).record(self.actor, "update", "console_user", user.id, None, {"disabled": False})

    def create_api_key(self, *, role: str, label: str) -> NewKey:
        if role not in API_ROLES:
            raise ValueError(f"unknown role {role!r} (use {', '.join(API_ROLES)})")
        plaintext, key = ApiKeyRepository(self.session).create(role=role, label=label.strip()[:MAX_LABEL],
                                                               actor=self.actor)
        return NewKey(plaintext, key.label, key.role)

    def revoke_api_key(self, key_id: str) -> None:
        if self.session.get(ApiKey, key_id) is None:
            raise NotFound("no such API key")  # by id only: the repository's prefix lookup is for the CLI
        ApiKeyRepository(self.session).revoke(key_id, actor=self.actor)

    def create_widget_key(self, *, label: str, origins: str) -> str:
        """The new key's public key (shown on the business's pages)."""
        allowed = [o.strip() for o in origins.replace("\n", ",").split(",") if o.strip()]
        for origin in allowed:
            if not origin.startswith(("https://", "http://")) or " " in origin:
                raise ValueError(f"{origin!r} is not a site address like https://www.example.com")
        return WidgetKeyRepository(self.session).create(label=label.strip()[:MAX_LABEL], allowed_origins=allowed,
                                                        actor=self.actor).public_key

    def revoke_widget_key(self, key_id: str) -> None:
        key = self.session.get(WidgetKey, key_id)
        if key is None:
            raise NotFound("no such widget key")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            self.session.flush()
            AuditLog(self.session).record(self.actor, "update", "widget_key", key.id, None,
                                          {"revoked": True, "label": key.label})


@contextmanager
def access_desk(db: Database, actor: str) -> Iterator[AccessDesk]:
    """The desk in one transaction: committed when the block ends, rolled back if it raises."""
    with db.session() as session:
        yield AccessDesk(session, actor)
