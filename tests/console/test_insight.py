"""The Insight page: supervisors (and admins) only; spiking reasons link to the incident form filled with the
reason, knowledge gaps to the article editor filled with the questions asked."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.console.conftest import Console
from tests.insight.seeding import add_contact

Clients = dict[str, tuple[TestClient, str]]
BURST = ["the kettle base sparks when I plug it in", "sparks coming out of the kettle stand!",
         "my kettle's power base is sparking"]
GAP = "can I compost the used coffee pods"


def seed(console: Console) -> None:
    now = datetime.now(UTC)
    with console.runtime.db.session() as session:
        for i in range(6):
            add_contact(session, ["hi", BURST[i % 3]], now - timedelta(minutes=20 * i + 1))
        add_contact(session, [GAP], now - timedelta(hours=3), kb_gap=[GAP])
        add_contact(session, ["hello there", "I'm Peter Okafor, do you compost pods?"], now - timedelta(hours=2),
                    kb_gap=["hello there", "I'm Peter Okafor, do you compost pods?"])


def test_supervisor_sees_spike_gaps_and_kpis(console: Console, as_role: Clients) -> None:
    seed(console)
    client, _ = as_role["supervisor"]
    page = client.get("/console/insight")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Nothing is spiking now" not in text
    assert "Declare an incident" in text and "Draft an article" in text
    assert GAP in text
    assert "Peter" not in text and "hello there" not in text  # personal data and greetings never listed
    assert "Containment" in text

    incident_link = re.search(r'href="(/console/insight/declare-incident\?[^"]+)"', page.text)
    assert incident_link
    form = client.get(html.unescape(incident_link.group(1)))
    assert form.status_code == 200
    message = re.search(r'<textarea id="message" name="message" rows="3">([^<]+)</textarea>', form.text)
    assert message and html.unescape(message.group(1)) in BURST
    assert 'action="/console/incidents"' in form.text  # the incidents page's own form declares it

    article_link = re.search(r'href="(/console/insight/draft-article\?[^"]+)"', page.text)
    assert article_link
    editor = client.get(html.unescape(article_link.group(1)))
    assert editor.status_code == 200
    assert f"- {GAP}" in html.unescape(editor.text)
    assert 'action="/console/knowledge"' in editor.text


def test_agents_are_refused_and_bad_periods_are_an_error(console: Console, as_role: Clients) -> None:
    agent, _ = as_role["agent"]
    assert agent.get("/console/insight").status_code == 403
    assert agent.get("/console/insight/draft-article?title=x").status_code == 403
    assert agent.get("/console/insight/declare-incident?label=x").status_code == 403
    assert "/console/insight" not in agent.get("/console/live").text  # not in the agent's navigation
    admin, _ = as_role["admin"]
    assert admin.get("/console/insight?days=7").status_code == 200
    assert admin.get("/console/insight?days=3").status_code == 400
    assert admin.get("/console/insight?days=abc").status_code in (400, 422)
