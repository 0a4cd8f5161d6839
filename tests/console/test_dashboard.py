"""The dashboard page: who may see it, what it says about how it counts, its charts' text alternatives."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from helpline.outbound.surveys import record_nps_answer
from helpline.store.models import Ticket
from tests.console.conftest import Console

Clients = dict[str, tuple[TestClient, str]]


def test_the_dashboard_explains_its_rules_and_describes_its_charts(console: Console, as_role: Clients) -> None:
    service = console.runtime.conversations
    conversation_id = service.start("chat").id
    service.post(conversation_id, "what's your return policy?")
    service.end(conversation_id)
    supervisor, _ = as_role["supervisor"]
    page = supervisor.get("/console/dashboard").text
    assert "How these figures are counted" in page and "still doesn" in page  # the FCR rule, in words
    for title in ("Contacts by hour of day", "First-contact resolution by day", "Service level by day",
                  "QA score distribution"):
        assert title in page
    assert page.count("<desc id=") >= 8 and page.count("as a table</summary>") >= 5
    assert 'href="/console/export/kpis-by-channel.csv?date_from=' in page
    assert "<td>chat</td><td>1</td>" in page  # the contact is in the by-channel table


def test_the_dashboard_refuses_agents_and_dates_out_of_range(as_role: Clients) -> None:
    agent, _ = as_role["agent"]
    supervisor, _ = as_role["supervisor"]
    assert agent.get("/console/dashboard").status_code == 403
    assert supervisor.get("/console/dashboard", params={"date_to": "9999-12-31"}).status_code == 400
    assert supervisor.get("/console/export/kpis-by-day.csv", params={"date_from": "0001-01-01"}).status_code == 400
    assert supervisor.get("/console/dashboard", params={"date_from": "2026-11-30", "date_to": "2026-11-01"}) \
        .status_code == 200  # reversed dates are put in order


def test_the_nps_card_says_what_the_survey_asks_then_shows_the_answers(console: Console, as_role: Clients) -> None:
    service = console.runtime.conversations
    conversation_id = service.start("chat").id
    service.post(conversation_id, "what's your return policy?")
    service.end(conversation_id)
    supervisor, _ = as_role["supervisor"]
    asks = console.runtime.pack.business.outbound.survey_asks
    wording = {"csat": "the surveys ask CSAT 1–5", "nps": "the surveys ask NPS 0–10",
               "both": "the surveys ask CSAT 1–5, then NPS 0–10"}[asks]
    assert wording in supervisor.get("/console/dashboard").text
    with console.runtime.db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.conversation_id == conversation_id))
        assert ticket is not None and record_nps_answer(session, ticket, 3, actor="test")
    page = supervisor.get("/console/dashboard").text
    assert wording not in page and "1 answer<" in page and "-100" in page  # one detractor of one answer
