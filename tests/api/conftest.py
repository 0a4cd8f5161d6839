"""A small app with the records and health routers on an in-memory database, and one key per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from helpline.api.errors import install_error_handlers
from helpline.api.records import health_router, records_router
from helpline.store.db import Database
from helpline.store.repositories import ApiKeyRepository

ROLES = ("admin", "supervisor", "agent", "integration")


@pytest.fixture
def records_db() -> Iterator[Database]:
    db = Database("sqlite:///:memory:")
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def records_app(records_db: Database) -> FastAPI:
    app = FastAPI()
    app.state.db = records_db
    install_error_handlers(app)
    app.include_router(health_router(), prefix="/api/v1")
    app.include_router(records_router(), prefix="/api/v1")
    return app


@pytest.fixture
def client(records_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(records_app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def keys(records_db: Database) -> dict[str, str]:
    """Plaintext key per role."""
    with records_db.session() as session:
        repo = ApiKeyRepository(session)
        return {role: repo.create(role=role, label=f"test {role}")[0] for role in ROLES}


@pytest.fixture
def auth(keys: dict[str, str]) -> dict[str, dict[str, str]]:
    """Authorization headers per role."""
    return {role: {"Authorization": f"Bearer {key}"} for role, key in keys.items()}
