"""The whole app (API, console, widget) on a copy of the demo pack, with one console user per role."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from helpline.api.app import create_app
from helpline.console.security import hash_password
from helpline.runtime import Runtime, build_runtime
from helpline.store.repositories import ConsoleUserRepository
from tests.conftest import DEMO, DemoModels

PASSWORD = "correct horse battery"
ROLES = ("admin", "supervisor", "agent")


@dataclass
class Console:
    app: FastAPI
    runtime: Runtime
    pack_dir: Path


@pytest.fixture()
def console(demo_models: DemoModels, tmp_path: Path) -> Iterator[Console]:
    pack_dir = tmp_path / "pack"
    shutil.copytree(DEMO, pack_dir, ignore=shutil.ignore_patterns("*.db"))
    runtime = build_runtime(pack_dir, db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                            records_url=f"sqlite:///{tmp_path / 'records.db'}", models=demo_models.models)
    hashed = hash_password(PASSWORD)
    with runtime.db.session() as session:
        for role in ROLES:
            ConsoleUserRepository(session).create(email=f"{role}@example.com", role=role, password_hash=hashed,
                                                  name=role.capitalize())
    yield Console(create_app(runtime, sweep_every_seconds=None), runtime, pack_dir)
    runtime.db.dispose()
    if runtime.operations.sql:
        runtime.operations.sql.engine.dispose()


@pytest.fixture()
def anon(console: Console) -> Iterator[TestClient]:
    with TestClient(console.app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token (read from a console page)."""
    page = client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    response = client.post("/console/login", data={"email": email, "password": password, "csrf": token.group(1)})
    assert response.status_code == 303, response.text
    return csrf_of(client)


def csrf_of(client: TestClient, path: str = "/console/incidents") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


@pytest.fixture()
def as_role(console: Console) -> Iterator[dict[str, tuple[TestClient, str]]]:
    """A signed-in client and its CSRF token per role."""
    clients: dict[str, tuple[TestClient, str]] = {}
    opened = []
    for role in ROLES:
        client = TestClient(console.app, raise_server_exceptions=False, follow_redirects=False)
        client.__enter__()
        opened.append(client)
        clients[role] = (client, login(client, f"{role}@example.com"))
    yield clients
    for client in opened:
        client.__exit__(None, None, None)
