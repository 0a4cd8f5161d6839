"""The API's ticket list reads a bare date as the business's day (America/Chicago in the demo pack), as the
console's filters and the dashboard do; a full date-time is taken as given."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from helpline.api.app import create_app
from helpline.store.repositories import ApiKeyRepository, TicketRepository
from tests.conftest import RuntimeFactory

LATE_EVENING = datetime(2026, 11, 20, 5, 30, tzinfo=UTC)  # 23:30 on 19 November in Chicago


def test_a_bare_date_is_the_business_s_day(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(LATE_EVENING)
    with runtime.db.session() as session:
        key, _ = ApiKeyRepository(session).create(role="agent")
        number = TicketRepository(session).create(actor="test", channel="chat", summary="late one",
                                                  now=LATE_EVENING).number
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(runtime, sweep_every_seconds=None)) as client:
        def numbers(**params: str) -> list[int]:
            response = client.get("/api/v1/tickets", params=params, headers=auth)
            assert response.status_code == 200, response.text
            return [t["number"] for t in response.json()["items"]]

        assert numbers(created_from="2026-11-19", created_to="2026-11-20") == [number]  # the 19th, local
        assert numbers(created_from="2026-11-20") == []
        assert numbers(created_from="2026-11-20T00:00:00Z") == [number]  # a time is a time: UTC's 20th
        assert numbers(created_to="2026-11-20T05:00:00Z") == []
