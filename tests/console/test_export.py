"""CSV downloads: the role each table asks, contact details masked for roles that see them masked, formulas
neutralised, every download audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from helpline.application.business_days import BusinessDays
from helpline.console.export import csv_lines, safe_cell
from helpline.store.models import AuditEntry, Callback, Customer
from helpline.store.repositories import TicketRepository
from tests.console.conftest import Console

Clients = dict[str, tuple[TestClient, str]]


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_cells_that_a_spreadsheet_would_run_are_quoted() -> None:
    assert safe_cell("=HYPERLINK(\"http://evil\",\"x\")") == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert [safe_cell(v) for v in ("+1 555", "-2+3", "@SUM(A1)", "\tcmd", "plain", "a=b")] == \
        ["'+1 555", "'-2+3", "'@SUM(A1)", "'\tcmd", "plain", "a=b"]
    assert safe_cell(-5) == -5 and safe_cell(None) == "" and safe_cell(True) == "yes"  # numbers stay numbers
    lines = "".join(csv_lines(["a", "b"], [["=1+1", 'say "hi", then go']]))
    assert list(csv.reader(io.StringIO(lines))) == [["a", "b"], ["'=1+1", 'say "hi", then go']]


def seed(console: Console) -> None:
    now = datetime.now(UTC)
    with console.runtime.db.session() as session:
        customer = Customer(name="Samuel Rogers", email="samuel.rogers@example.com", phone="+15125550126")
        session.add(customer)
        session.flush()
        ticket = TicketRepository(session).create(actor="test", channel="chat", customer_id=customer.id,
                                                  summary="=HYPERLINK(\"http://x\",\"refund\")", status="resolved",
                                                  now=now)
        session.add(Callback(ticket_id=ticket.id, customer_id=customer.id, phone="+15125550126",
                             due_at=now + timedelta(hours=1), reason="call me back"))


def test_agents_get_masked_customer_details_supervisors_clear(console: Console, as_role: Clients) -> None:
    seed(console)
    agent, _ = as_role["agent"]
    supervisor, _ = as_role["supervisor"]
    response = agent.get("/console/export/tickets.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    [row] = rows_of(response.text)
    assert row["customer_email"] == "s\u2022\u2022\u2022@example.com"
    assert row["customer_phone"] == "\u2022\u2022\u2022\u2022 0126"
    assert row["customer"] == "S. R." and "Rogers" not in response.text
    assert row["summary"].startswith("'=HYPERLINK")  # a formula in a customer's words is not run
    [clear] = rows_of(supervisor.get("/console/export/tickets.csv").text)
    assert clear["customer_email"] == "samuel.rogers@example.com" and clear["customer"] == "Samuel Rogers"
    # the callbacks page shows agents the number to ring, so its download does too
    [callback] = rows_of(agent.get("/console/export/callbacks.csv").text)
    assert callback["phone"] == "'+15125550126" and callback["reason"] == "call me back"
    with console.runtime.db.session() as session:
        exports = session.scalars(select(AuditEntry).where(AuditEntry.actor == "console:agent@example.com",
                                                           AuditEntry.entity == "ticket")).all()
        assert any(e.detail.get("export") == "csv" for e in exports)


def test_each_table_asks_its_pages_role(console: Console, as_role: Clients, anon: TestClient) -> None:
    agent, _ = as_role["agent"]
    supervisor, _ = as_role["supervisor"]
    admin, _ = as_role["admin"]
    for path in ("/console/export/kpis-by-day.csv", "/console/export/qa-findings.csv", "/console/export/outbound.csv",
                 "/console/export/audit.csv"):
        assert agent.get(path).status_code == 403, path
    assert supervisor.get("/console/export/audit.csv").status_code == 403
    assert admin.get("/console/export/audit.csv").status_code == 200
    assert anon.get("/console/export/tickets.csv").status_code == 303  # to the sign-in page
    assert agent.get("/console/export/tickets.csv", params={"status": "bogus"}).status_code == 400
    assert agent.get("/console/export/tickets.csv", params={"date_from": "31/12/2026"}).status_code == 400
    # one date rule for every filter: a day that does not exist, or one past the range, is the caller's 400
    for bad in ("2026-02-30", "9999-12-31"):
        for path in ("/console/export/conversations.csv", "/console/export/audit.csv", "/console/dashboard",
                     "/console/tickets"):
            answer = admin.get(path, params={"date_to": bad})
            assert answer.status_code == 400, (path, bad)
            assert "Not a date" in answer.text or "out of range" in answer.text, (path, bad)
    assert supervisor.get("/console/export/kpis-by-week.csv").status_code == 404
    day = supervisor.get("/console/export/kpis-by-day.csv", params={"date_from": "2026-11-01",
                                                                     "date_to": "2026-11-03"})
    assert [r["day"] for r in rows_of(day.text)] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    # a table longer than one chunk streams whole, in order
    with console.runtime.db.session() as session:
        tickets = TicketRepository(session)
        for n in range(120):
            tickets.create(actor="test", channel="sms", summary=f"ticket {n} " + "words " * 40)
    rows = rows_of(supervisor.get("/console/export/tickets.csv").text)
    assert len(rows) == 120 and rows[0]["summary"].startswith("ticket 119")  # newest first, none lost
    # the ticket list and its download read a day filter the same way: the day named is included
    today = BusinessDays.named(console.runtime.pack.business.timezone).today()  # the business's day, as filters read it
    for path in ("/console/export/tickets.csv", "/console/tickets"):
        within = agent.get(path, params={"date_from": today.isoformat(), "date_to": today.isoformat()}).text
        before = agent.get(path, params={"date_to": (today - timedelta(days=1)).isoformat()}).text
        assert "ticket 119" in within and "ticket 119" not in before, path
