"""Console users (sign-in, lockout, softphone) and their sessions."""

from __future__ import annotations

import builtins
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, text, update

from helpline.store.models import (
    ConsoleSession,
    ConsoleUser,
    utcnow,
)
from helpline.store.repositories.base import (
    Conflict,
    _now,
    _Repository,
    _sha256,
)
from helpline.store.validation import (
    CONSOLE_ROLES,
    check_choice,
    normalise_email,
)

LOCKOUT_AFTER_FAILURES = 5
LOCKOUT_FOR = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)

# sip:/sips: name@host[:port][;params] with no spaces or angle brackets, or an extension the PBX routes (digits).
SOFTPHONE = re.compile(r"sips?:[^\s<>@]+@[A-Za-z0-9.\-\[\]:]+(;[^\s<>]*)?|\+?[0-9*#]{2,20}")


class ConsoleUserRepository(_Repository):
    """People who sign in to the console. Hashing is the caller's (helpline.console.security)."""

    def create(self, *, email: str, role: str, password_hash: str, name: str = "",
               actor: str = "system") -> ConsoleUser:
        check_choice("console role", role, CONSOLE_ROLES)
        email = normalise_email(email)
        if self.by_email(email) is not None:
            raise Conflict(f"a console user {email} already exists")
        user = ConsoleUser(email=email, role=role, password_hash=password_hash, name=name[:200] or email,
                           failed_logins=0, created_at=utcnow())
        self.session.add(user)
        self.session.flush()
        self.audit.record(actor, "create", "console_user", user.id, None, {"email": email, "role": role})
        return user

    def set_softphone(self, user: ConsoleUser, address: str | None, actor: str) -> None:
        """The person's own SIP phone (an address or an extension), rung to take calls over; None forgets it."""
        address = (address or "").strip() or None
        if address is not None and not SOFTPHONE.fullmatch(address):
            raise ValueError("a softphone is a SIP address (sip:name@host[:port]) or an extension (digits)")
        before, user.softphone = user.softphone, address
        self.session.flush()
        self.audit.record(actor, "update", "console_user", user.id, None, {"softphone": [before, address]})

    def by_email(self, email: str) -> ConsoleUser | None:
        try:
            email = normalise_email(email)
        except ValueError:
            return None
        return self.session.scalars(select(ConsoleUser).where(ConsoleUser.email == email)).first()

    def get(self, user_id: str) -> ConsoleUser | None:
        return self.session.get(ConsoleUser, user_id)

    def list(self) -> builtins.list[ConsoleUser]:
        return list(self.session.scalars(select(ConsoleUser).order_by(ConsoleUser.email)))

    def is_locked(self, user: ConsoleUser, now: datetime) -> bool:
        return user.locked_until is not None and user.locked_until > now

    def reserve_attempt(self, user_id: str, now: datetime) -> int | None:
        """Count a sign-in attempt *before* its password is checked, in one atomic UPDATE ... RETURNING.

        Concurrent guesses each get their own number, so no more than ``LOCKOUT_AFTER_FAILURES`` of them
        are ever checked before the lock (a read-then-write counter lets dozens through on PostgreSQL).
        Returns the attempt's number since the last success or lock, or None while the account is
        locked. Commit right after, so other requests see the count while this password is verified.
        """
        not_locked = or_(ConsoleUser.locked_until.is_(None), ConsoleUser.locked_until <= now)
        row = self.session.execute(
            update(ConsoleUser).where(ConsoleUser.id == user_id, not_locked)
            .values(failed_logins=ConsoleUser.failed_logins + 1).returning(ConsoleUser.failed_logins)
            .execution_options(synchronize_session=False)
        ).first()
        return None if row is None else int(row[0])

    def attempt_failed(self, user: ConsoleUser, attempt: int | None, now: datetime) -> bool:
        """A reserved attempt had the wrong password (or was refused): lock the account once the attempts
        reach the limit. Returns whether the account is locked now."""
        locked = attempt is None
        if attempt is not None and attempt >= LOCKOUT_AFTER_FAILURES:
            not_locked = or_(ConsoleUser.locked_until.is_(None), ConsoleUser.locked_until <= now)
            self.session.execute(
                update(ConsoleUser).where(ConsoleUser.id == user.id, not_locked)
                .values(locked_until=now + LOCKOUT_FOR, failed_logins=0)
                .execution_options(synchronize_session=False))
            locked = True
        self.audit.record(f"console:{user.email}", "read", "console_login", user.id, None,
                          {"ok": False, "locked": locked})
        return locked

    def login_failed(self, user: ConsoleUser, now: datetime) -> None:
        """Count a failed password; the account locks for a while after too many in a row."""
        self.attempt_failed(user, self.reserve_attempt(user.id, now), now)
        self.session.refresh(user)

    def login_succeeded(self, user: ConsoleUser, *, rehash: str | None = None) -> None:
        self.session.execute(update(ConsoleUser).where(ConsoleUser.id == user.id)
                             .values(failed_logins=0, locked_until=None)
                             .execution_options(synchronize_session=False))
        if rehash:
            user.password_hash = rehash
        self.session.flush()
        self.session.refresh(user)
        self.audit.record(f"console:{user.email}", "read", "console_login", user.id, None, {"ok": True})

    def set_password(self, user: ConsoleUser, password_hash: str, *, actor: str) -> None:
        user.password_hash = password_hash
        user.failed_logins = 0
        user.locked_until = None
        self.session.flush()
        self.audit.record(actor, "update", "console_user", user.id, None, {"fields": ["password"]})

    def disable(self, user: ConsoleUser, *, actor: str, now: datetime | None = None) -> None:
        user.disabled_at = _now(now)
        self.session.execute(text("DELETE FROM console_sessions WHERE user_id = :uid"), {"uid": user.id})
        self.session.flush()
        self.audit.record(actor, "update", "console_user", user.id, None, {"disabled": True})


class ConsoleSessionRepository(_Repository):
    """Server-side console sessions: revocable, expiring, each with its own CSRF token."""

    def create(self, user: ConsoleUser, *, now: datetime | None = None,
               ttl: timedelta = SESSION_TTL) -> tuple[str, ConsoleSession]:
        token = secrets.token_urlsafe(32)
        moment = _now(now)
        record = ConsoleSession(token_hash=_sha256(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                                created_at=moment, expires_at=moment + ttl)
        self.session.add(record)
        self.session.flush()
        return token, record

    def lookup(self, token: str, *, now: datetime | None = None) -> tuple[ConsoleSession, ConsoleUser] | None:
        """The live session and its (enabled) user for a cookie value, or None."""
        if not token:
            return None
        record = self.session.get(ConsoleSession, _sha256(token))
        if record is None or record.expires_at <= _now(now):
            return None
        user = self.session.get(ConsoleUser, record.user_id)
        if user is None or user.disabled_at is not None:
            return None
        return record, user

    def delete(self, token: str) -> None:
        record = self.session.get(ConsoleSession, _sha256(token))
        if record is not None:
            self.session.delete(record)
            self.session.flush()

    def purge_expired(self, now: datetime | None = None) -> None:
        self.session.execute(text("DELETE FROM console_sessions WHERE expires_at <= :now"), {"now": _now(now)})


