"""QA in the console: the ticket page shows the score and each finding linked to its transcript line; only a
supervisor can dispute a finding, which then stops counting; the dashboard shows the period's average."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select

from helpline.qa.review import QaReviewer
from helpline.store.models import Ticket
from tests.console.conftest import Console

Clients = dict[str, tuple[TestClient, str]]


def scored_ticket(console: Console) -> Ticket:
    """An ended contact with a failing finding (a callback offered, the customer gone before giving a number)."""
    service = console.runtime.conversations
    conversation_id = service.start("chat").id
    service.post(conversation_id, "is your website down? I can't check out")
    service.post(conversation_id, "ok thanks bye")
    service.end(conversation_id)
    QaReviewer.for_pack(console.runtime.db, console.runtime.pack).run_once()
    with console.runtime.db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)).one()
        session.expunge(ticket)
    return ticket


def test_ticket_page_shows_score_and_findings_linked_to_lines(console: Console, as_role: Clients) -> None:
    ticket = scored_ticket(console)
    client, _ = as_role["agent"]
    page = client.get(f"/console/tickets/{ticket.number}").text
    assert f'{ticket.qa_score:.0f}</span> / 100' in page
    cited = [f for f in ticket.qa_findings or [] if f["seq"]]
    assert cited
    for finding in cited:  # each cited line is linked, and the transcript has the anchor it links to
        assert f'href="#msg-{finding["seq"]}"' in page
        assert f'id="msg-{finding["seq"]}"' in page
    assert "Identity verified before account data" in page or "Greeting and identification" in page
    assert "/qa/dispute" not in page  # an agent sees findings but cannot dispute them


def test_dispute_needs_a_supervisor_and_stops_counting(console: Console, as_role: Clients) -> None:
    ticket = scored_ticket(console)
    failed = next(f for f in ticket.qa_findings or [] if f["result"] == "fail")
    url = f"/console/tickets/{ticket.number}/qa/dispute"
    agent, agent_csrf = as_role["agent"]
    assert agent.post(url, data={"csrf": agent_csrf, "finding": failed["id"], "why": "fine"}).status_code == 403
    supervisor, csrf = as_role["supervisor"]
    assert "/qa/dispute" in supervisor.get(f"/console/tickets/{ticket.number}").text
    empty = supervisor.post(url, data={"csrf": csrf, "finding": failed["id"], "why": ""})
    assert empty.status_code == 303
    unknown = supervisor.post(url, data={"csrf": csrf, "finding": "x" * 500, "why": "wrong"})
    assert unknown.status_code == 303
    done = supervisor.post(url, data={"csrf": csrf, "finding": failed["id"], "why": "customer left first"})
    assert done.status_code == 303
    with console.runtime.db.session() as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None and stored.qa_score is not None and ticket.qa_score is not None
        assert stored.qa_score > ticket.qa_score
        disputed = next(f for f in stored.qa_findings or [] if f["id"] == failed["id"])
        assert disputed["dispute"]["by"] == "console:supervisor@example.com"
    page = supervisor.get(f"/console/tickets/{ticket.number}").text
    assert "Disputed by console:supervisor@example.com: customer left first" in page
    assert supervisor.post("/console/tickets/999999/qa/dispute",
                           data={"csrf": csrf, "finding": "a", "why": "b"}).status_code == 404


def test_dashboard_shows_the_average_qa_score(console: Console, as_role: Clients) -> None:
    ticket = scored_ticket(console)
    client, _ = as_role["supervisor"]
    # the dashboard's days are the business's (its time zone), not UTC's
    day = datetime.now(ZoneInfo(console.runtime.pack.business.timezone)).date().isoformat()
    page = client.get("/console/dashboard", params={"date_from": day, "date_to": day}).text
    assert "QA score" in page
    assert re.search(rf"{ticket.qa_score:.0f} / 100", page)
    assert "average of 1 reviewed contacts" in page
