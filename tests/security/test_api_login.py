"""Finding 4: console sign-in cannot be brute-forced by racing, from one address, or by telling a locked
account from an unknown one (issue 10; docs/security.md, "API and console hardening")."""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

import helpline.console.login as login_module
from helpline.api.app import create_app
from helpline.console.security import DUMMY_HASH, hash_password
from helpline.runtime import Runtime, build_runtime
from helpline.store.repositories import LOCKOUT_AFTER_FAILURES, ConsoleUserRepository
from tests.conftest import DEMO, DemoModels
from tests.console.conftest import PASSWORD, Console, console  # noqa: F401 (fixtures)
from tests.store.conftest import POSTGRES_URL, postgres_admin, with_search_path

EMAIL = "admin@example.com"
GUESSES = 30


def _token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, demo_models: DemoModels, tmp_path: Path) -> Iterator[tuple[str, Runtime]]:
    """The whole app served by uvicorn on loopback, its database on SQLite or PostgreSQL, one admin."""
    schema = ""
    if request.param == "postgres":
        admin = postgres_admin()
        schema = f"helpline_login_{int(time.time() * 1000) % 10**9}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db_url = with_search_path(POSTGRES_URL, schema)
    else:
        db_url = f"sqlite:///{tmp_path / 'helpline.db'}"
    pack = tmp_path / "pack"
    shutil.copytree(DEMO, pack, ignore=shutil.ignore_patterns("*.db"))
    runtime = build_runtime(pack, db_url=db_url, records_url=f"sqlite:///{tmp_path / 'records.db'}",
                            models=demo_models.models)
    with runtime.db.session() as session:
        ConsoleUserRepository(session).create(email=EMAIL, role="admin", password_hash=hash_password(PASSWORD))
    app = create_app(runtime, sweep_every_seconds=None)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", runtime
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        runtime.db.dispose()
        if runtime.operations.sql:
            runtime.operations.sql.engine.dispose()
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


def _guess(base: str, password: str) -> int:
    with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as client:
        csrf = _token(client.get("/console/login").text)
        return client.post("/console/login", data={"email": EMAIL, "password": password, "csrf": csrf}).status_code


def test_concurrent_wrong_passwords_check_at_most_the_limit(served: tuple[str, Runtime],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """30 wrong passwords at once: at most 5 are checked against the real hash, then the account is locked
    (before the fix PostgreSQL checked every one of them and counted failed_logins = 2)."""
    base, runtime = served
    checked: list[str] = []
    guard = threading.Lock()
    real_verify = login_module.verify_password

    def slow_verify(password_hash: str, password: str) -> bool:
        if password_hash != DUMMY_HASH:
            with guard:
                checked.append(password)
        time.sleep(0.2)  # argon2's time, without its CPU: every request is in flight at once
        return password_hash != DUMMY_HASH and real_verify(password_hash, password)

    monkeypatch.setattr(login_module, "verify_password", slow_verify)
    with ThreadPoolExecutor(GUESSES) as pool:
        statuses = list(pool.map(lambda n: _guess(base, f"wrong-guess-{n:02d}"), range(GUESSES)))
    assert statuses == [401] * GUESSES
    assert 1 <= len(checked) <= LOCKOUT_AFTER_FAILURES, f"{len(checked)} guesses were checked"
    with runtime.db.session() as session:
        user = ConsoleUserRepository(session).by_email(EMAIL)
        assert user is not None and user.locked_until is not None
    # Locked (and this address has used its attempts): even the right password is refused now.
    assert _guess(base, PASSWORD) in (401, 429)
    assert PASSWORD not in checked


def _attempt(client: TestClient, email: str, password: str) -> tuple[int, str, float]:
    csrf = _token(client.get("/console/login").text)
    started = time.perf_counter()
    response = client.post("/console/login", data={"email": email, "password": password, "csrf": csrf})
    elapsed = time.perf_counter() - started
    body = response.text.replace(email, "EMAIL")
    return response.status_code, re.sub(r'name="csrf" value="[^"]+"', "", body), elapsed


def test_an_unknown_email_and_a_locked_account_answer_alike(console: Console) -> None:  # noqa: F811
    with TestClient(console.app, raise_server_exceptions=False, follow_redirects=False) as client:
        for _ in range(LOCKOUT_AFTER_FAILURES):
            assert _attempt(client, EMAIL, "not the password")[0] == 401
        locked = [_attempt(client, EMAIL, PASSWORD) for _ in range(4)]
        unknown = [_attempt(client, "nobody@example.com", PASSWORD) for _ in range(4)]
    assert {status for status, _, _ in locked + unknown} == {401}
    assert {body for _, body, _ in locked} == {body for _, body, _ in unknown}
    assert len({body for _, body, _ in locked + unknown}) == 1
    # The same work (one argon2 verification): a locked account is not answered noticeably faster.
    locked_time = statistics.median(t for _, _, t in locked)
    unknown_time = statistics.median(t for _, _, t in unknown)
    assert locked_time > 0.5 * unknown_time, (locked_time, unknown_time)


def test_one_address_gets_a_limited_number_of_attempts(console: Console,  # noqa: F811
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login_module, "verify_password", lambda password_hash, password: False)
    app: FastAPI = console.app
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False,
                    client=("203.0.113.7", 40000)) as attacker:
        statuses = [_attempt(attacker, f"user{n}@example.com", "guess")[0]
                    for n in range(login_module.FAILURES_PER_ADDRESS)]
        assert statuses == [401] * login_module.FAILURES_PER_ADDRESS
        csrf = _token(attacker.get("/console/login").text)
        refused = attacker.post("/console/login", data={"email": EMAIL, "password": PASSWORD, "csrf": csrf})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    monkeypatch.undo()
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False,
                    client=("198.51.100.9", 40000)) as colleague:
        assert _attempt(colleague, EMAIL, PASSWORD)[0] == 303  # another address is not affected
