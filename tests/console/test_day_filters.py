"""One day everywhere: a ticket opened at 23:30 in the business's zone (America/Chicago in the demo pack, already
the next day in UTC) is on the same day in the ticket list's filters, the CSV downloads and the dashboard."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from helpline.store.repositories import TicketRepository
from tests.console.conftest import Console

Clients = dict[str, tuple[TestClient, str]]

LATE_EVENING = datetime(2026, 11, 20, 5, 30, tzinfo=UTC)  # 23:30 on Thursday 19 November in Chicago
LOCAL_DAY, NEXT_DAY = "2026-11-19", "2026-11-20"


def _seed(console: Console) -> int:
    assert console.runtime.pack.business.timezone == "America/Chicago"
    with console.runtime.db.session() as session:
        ticket = TicketRepository(session).create(actor="test", channel="chat", summary="late evening parcel",
                                                  status="resolved", now=LATE_EVENING)
        return ticket.number


def _csv_numbers(client: TestClient, path: str, day: str) -> list[str]:
    response = client.get(path, params={"date_from": day, "date_to": day})
    assert response.status_code == 200, response.text
    return [row.get("number") or row.get("ticket", "") for row in csv.DictReader(io.StringIO(response.text))]


def test_the_ticket_list_filters_by_the_business_s_day(console: Console, as_role: Clients) -> None:
    number = _seed(console)
    agent, _ = as_role["agent"]
    on_the_day = agent.get("/console/tickets", params={"date_from": LOCAL_DAY, "date_to": LOCAL_DAY}).text
    on_the_next = agent.get("/console/tickets", params={"date_from": NEXT_DAY, "date_to": NEXT_DAY}).text
    assert f"#{number}<" in on_the_day
    assert f"#{number}<" not in on_the_next


def test_the_ticket_download_bounds_by_the_business_s_day(console: Console, as_role: Clients) -> None:
    number = _seed(console)
    supervisor, _ = as_role["supervisor"]
    assert _csv_numbers(supervisor, "/console/export/tickets.csv", LOCAL_DAY) == [str(number)]
    assert _csv_numbers(supervisor, "/console/export/tickets.csv", NEXT_DAY) == []
    [row] = csv.DictReader(io.StringIO(supervisor.get("/console/export/tickets.csv").text))
    assert row["created"].startswith(f"{LOCAL_DAY}T23:30")  # and the time it shows is on that day too


def test_the_dashboard_counts_the_ticket_on_the_day_the_list_shows_it(console: Console, as_role: Clients) -> None:
    _seed(console)
    supervisor, _ = as_role["supervisor"]
    response = supervisor.get("/console/export/kpis-by-day.csv", params={"date_from": LOCAL_DAY, "date_to": NEXT_DAY})
    counted = {row["day"]: row["contacts"] for row in csv.DictReader(io.StringIO(response.text))}
    assert counted == {LOCAL_DAY: "1", NEXT_DAY: "0"}
