"""DELETE /api/v1/customers/{id}: admin only, erases through the same service as the CLI, 404 once nothing is
held, documented in the OpenAPI document; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from helpline.api.customers import customers_router
from helpline.api.errors import install_error_handlers
from helpline.api.records import records_router
from helpline.store.db import Database
from helpline.store.repositories import ApiKeyRepository
from tests.privacy.seed import AISHA_TRACES, LUCAS_TRACES, rows_with, seed
from tests.privacy.test_erasure import dump
from tests.store.conftest import db, postgres_url  # noqa: F401 (fixtures)

ROLES = ("admin", "supervisor", "agent", "integration")


@pytest.fixture
def api(db: Database) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:  # noqa: F811
    app = FastAPI()
    app.state.db = db
    install_error_handlers(app)
    app.include_router(records_router(), prefix="/api/v1")
    app.include_router(customers_router(), prefix="/api/v1")
    with db.session() as session:
        repo = ApiKeyRepository(session)
        auth = {role: {"Authorization": f"Bearer {repo.create(role=role)[0]}"} for role in ROLES}
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, auth


def test_an_admin_erases_a_customer_and_then_nothing_is_held(api: tuple[TestClient, dict[str, dict[str, str]]],
                                                             db: Database) -> None:  # noqa: F811
    client, auth = api
    seed(db)
    preview = client.delete("/api/v1/customers/C-1038", params={"dry_run": "true"}, headers=auth["admin"])
    assert preview.status_code == 200, preview.text
    assert preview.json()["dry_run"] is True and preview.json()["erased"]["conversations"] == 2
    assert rows_with(db, AISHA_TRACES)
    response = client.delete("/api/v1/customers/C-1038", headers=auth["admin"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["complete"] and body["matched_by"] == ["external_id"] and body["erased"] == preview.json()["erased"]
    assert rows_with(db, AISHA_TRACES) == [] and rows_with(db, LUCAS_TRACES)
    audit = client.get("/api/v1/audit", params={"entity": "customer_erasure", "action": "delete"},
                       headers=auth["admin"]).json()
    assert len(audit) == 1 and audit[0]["entity_id"] == body["customer"] and audit[0]["actor"].startswith("apikey:")
    again = client.delete("/api/v1/customers/aisha.patel@example.com", headers=auth["admin"])
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    assert "erased 20" in again.json()["error"]["message"]
    never = client.delete("/api/v1/customers/C-9999", headers=auth["admin"])
    assert never.status_code == 404 and "erased" not in never.json()["error"]["message"]


def test_only_an_admin_may_erase(api: tuple[TestClient, dict[str, dict[str, str]]], db: Database) -> None:  # noqa: F811
    client, auth = api
    seed(db)
    before = dump(db)
    for role in ("supervisor", "agent", "integration"):
        response = client.delete("/api/v1/customers/C-1038", headers=auth[role])
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", role
    assert client.delete("/api/v1/customers/C-1038").status_code == 401
    assert dump(db) == before


def test_bad_input_is_refused_and_documented(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, auth = api
    admin = auth["admin"]
    assert client.delete("/api/v1/customers/C-1%0038", headers=admin).status_code == 422
    assert client.delete("/api/v1/customers/" + "x" * 201, headers=admin).status_code == 422
    assert client.delete("/api/v1/customers/C-1038", params={"dryrun": "1"}, headers=admin).status_code == 422
    assert client.delete("/api/v1/customers/C-1038", params={"dry_run": "maybe"}, headers=admin).status_code == 422
    assert client.delete("/api/v1/customers/%20", headers=admin).status_code == 404
    documented = client.get("/openapi.json").json()["paths"]["/api/v1/customers/{customer_ref}"]["delete"]
    assert set(documented["responses"]) == {"200", "400", "401", "403", "404", "422", "429"}
