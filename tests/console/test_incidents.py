"""The console's incident form: towns and postcodes, planned maintenance with its window in the business's
time, messages in other languages; a bad form is shown again with what is wrong (422), never a 500."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from helpline.store.repositories import IncidentRepository
from tests.console.conftest import Console

Clients = dict[str, tuple[TestClient, str]]


def test_a_supervisor_declares_scoped_planned_maintenance(console: Console, as_role: Clients) -> None:
    client, csrf = as_role["supervisor"]
    response = client.post("/console/incidents", data={
        "csrf": csrf, "title": "Roastery network upgrade", "kind": "planned_maintenance",
        "message": "The app may be slow for a few minutes.", "other_messages": "es: La app puede ir lenta.",
        "region": "Austin, Round Rock", "postcodes": "78701, 787*", "affected": "app",
        "window_start": "2026-12-09T01:00", "window_end": "2026-12-09T04:00", "expected_fix": ""})
    assert response.status_code == 303, response.text
    with console.runtime.db.session() as session:
        [incident] = IncidentRepository(session).list(active_only=False)
        assert incident.scope == {"region": ["Austin", "Round Rock"], "postcode": ["78701", "787*"]}
        assert incident.messages == {"en": "The app may be slow for a few minutes.", "es": "La app puede ir lenta."}
        assert incident.kind == "planned_maintenance"
        # the demo business is on Central time: 01:00 there is 07:00 UTC
        assert incident.window_start == datetime(2026, 12, 9, 7, 0, tzinfo=UTC)
    page = client.get("/console/incidents").text
    assert "region: Austin, Round Rock" in page and "Planned" in page and "active-incident" in page
    assert client.post(f"/console/incidents/{incident.id}/end", data={"csrf": csrf}).status_code == 303
    assert "active-incident" not in client.get("/console/incidents").text
    # an incident that does not exist is a 404 saying so, not a 500
    assert client.post("/console/incidents/no-such-incident/end", data={"csrf": csrf}).status_code == 404


def test_a_window_ending_before_it_starts_is_shown_back(console: Console, as_role: Clients) -> None:
    client, csrf = as_role["supervisor"]
    response = client.post("/console/incidents", data={
        "csrf": csrf, "title": "Upgrade", "kind": "planned_maintenance", "message": "Slow app.",
        "window_start": "2026-12-09T04:00", "window_end": "2026-12-09T01:00"})
    assert response.status_code == 422
    assert "ends before it starts" in response.text and 'value="Upgrade"' in response.text
    for bad in ({"kind": "meteor"}, {"other_messages": "spanish please"}, {"message": ""}):
        form = {"csrf": csrf, "title": "Outage", "message": "Down.", **bad}
        assert client.post("/console/incidents", data=form).status_code == 422
    with console.runtime.db.session() as session:
        assert IncidentRepository(session).list(active_only=False) == []


def test_agents_cannot_declare(as_role: Clients) -> None:
    client, csrf = as_role["agent"]
    response = client.post("/console/incidents", data={"csrf": csrf, "title": "x", "message": "y"})
    assert response.status_code == 403
