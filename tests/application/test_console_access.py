"""Console sign-in and the access page through the application layer: attempts counted before the password is
checked, a lock after five wrong ones, sessions, the last admin kept, keys listed as plain views."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpline.application import console_access
from helpline.application.audit import AuditEntryView
from helpline.application.console_access import (
    LOCKOUT_AFTER_FAILURES,
    LastAdmin,
    access_desk,
    access_overview,
    begin_sign_in,
    finish_sign_in,
    staff_session,
)
from helpline.store.db import Database

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
HASH = "stored-hash"  # hashing is the console's: the layer only stores and compares what it is given


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'h.db'}")
    database.migrate()
    with access_desk(database, "test") as desk:
        desk.create_user(email="Ada@Example.com", name="Ada", role="admin", password_hash=HASH)
    yield database
    database.dispose()


def _sign_in(db: Database, email: str, password_ok: bool) -> str | None:
    attempt = begin_sign_in(db, email, NOW)
    return finish_sign_in(db, attempt, password_ok=password_ok and attempt.password_hash == HASH, now=NOW)


def test_a_right_password_opens_a_session_the_cookie_finds(db: Database) -> None:
    token = _sign_in(db, "ada@example.com", True)
    assert token is not None
    found = staff_session(db, token, NOW)
    assert found is not None and (found.email, found.role, found.name) == ("ada@example.com", "admin", "Ada")
    assert found.csrf and staff_session(db, "not-a-token", NOW) is None and staff_session(db, "", NOW) is None
    console_access.end_session(db, token)
    assert staff_session(db, token, NOW) is None


def test_wrong_passwords_lock_the_account_even_for_the_right_one(db: Database) -> None:
    for _ in range(LOCKOUT_AFTER_FAILURES):
        assert _sign_in(db, "ada@example.com", False) is None
    locked = begin_sign_in(db, "ada@example.com", NOW)
    assert locked.password_hash is None  # checked against a dummy hash: the same work, the same answer
    assert finish_sign_in(db, locked, password_ok=True, now=NOW) is None


def test_an_unknown_email_gets_no_hash_and_no_session(db: Database) -> None:
    attempt = begin_sign_in(db, "nobody@example.com", NOW)
    assert attempt.user_id is None and attempt.password_hash is None
    assert finish_sign_in(db, attempt, password_ok=True, now=NOW) is None


def test_the_last_admin_is_kept_and_changes_are_listed(db: Database) -> None:
    ada = next(u for u in access_overview(db).users if u.email == "ada@example.com")
    with pytest.raises(LastAdmin), access_desk(db, "console:ada@example.com") as desk:
        desk.set_role(ada.id, "agent")
    with access_desk(db, "console:ada@example.com") as desk:
        desk.create_user(email="bo@example.com", name="Bo", role="admin", password_hash=HASH)
        new_key = desk.create_api_key(role="integration", label="crm")
        desk.create_widget_key(label="site", origins="https://shop.example.com")
    with access_desk(db, "console:bo@example.com") as desk:
        desk.set_role(ada.id, "agent")  # another admin exists now
    seen = access_overview(db)
    assert seen.admins == 1
    assert {(u.email, u.role) for u in seen.users} == {("ada@example.com", "agent"), ("bo@example.com", "admin")}
    assert [k.label for k in seen.api_keys] == ["crm"] and new_key.plaintext.startswith(seen.api_keys[0].prefix)
    assert seen.widget_keys[0].allowed_origins == ("https://shop.example.com",)
    assert all(isinstance(c, AuditEntryView) for c in seen.changes)
    assert any(c.detail.get("role") == ["admin", "agent"] for c in seen.changes)


def test_softphone_is_set_checked_and_forgotten(db: Database) -> None:
    ada = access_overview(db).users[0]
    console_access.set_softphone(db, ada.id, "sip:ada@pbx.example.com", "test")
    assert console_access.softphone_of(db, ada.id) == "sip:ada@pbx.example.com"
    with pytest.raises(ValueError):
        console_access.set_softphone(db, ada.id, "not a phone", "test")
    console_access.set_softphone(db, ada.id, "", "test")
    assert console_access.softphone_of(db, ada.id) == ""
    with pytest.raises(console_access.NotFound):
        console_access.set_softphone(db, "no-such-user", "100", "test")


def test_the_cli_adds_people_and_sets_softphones_by_email(db: Database) -> None:
    email = console_access.create_console_user(db, email="Sam@Example.com", role="supervisor", password_hash=HASH,
                                               name="Sam", actor="cli")
    assert email == "sam@example.com"
    with pytest.raises(console_access.Conflict):
        console_access.create_console_user(db, email="sam@example.com", role="agent", password_hash=HASH, name="",
                                           actor="cli")
    with pytest.raises(ValueError):
        console_access.create_console_user(db, email="b@example.com", role="boss", password_hash=HASH, name="",
                                           actor="cli")
    console_access.set_softphone_by_email(db, "SAM@example.com", "sip:sam@pbx.example.com", "cli")
    sam = next(u for u in access_overview(db).users if u.email == email)
    assert console_access.softphone_of(db, sam.id) == "sip:sam@pbx.example.com"
    with pytest.raises(ValueError):
        console_access.set_softphone_by_email(db, email, "not a phone", "cli")
    assert console_access.softphone_of(db, sam.id) == "sip:sam@pbx.example.com"  # the refused change kept nothing
    with pytest.raises(console_access.NotFound):
        console_access.set_softphone_by_email(db, "nobody@example.com", "100", "cli")
