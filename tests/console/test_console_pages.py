"""Console pages a shop owner can read: local times, plain-language steps, the customer beside the conversation and
the ticket (contact details masked for agents), trouble first on the live view."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from fastapi.testclient import TestClient

from helpline.store.models import AuditEntry
from tests.console.conftest import Console

Clients = dict[str, tuple[TestClient, str]]
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
LOCAL_TIME = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}, \d{2}:\d{2}")


def _text(page: str) -> str:
    """What a reader sees: the main content without tags, scripts or attribute values."""
    main = page.split("<main", 1)[1]
    main = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", main, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)))


def _return_outside_the_window(console: Console) -> str:
    """Zoe Cooper (C-1026) asks to return BB-10002, delivered on 29 August: refused by the 30-day policy."""
    service = console.runtime.conversations
    view = service.start("chat")
    for text in ("I want to return my order BB-10002", "zoe.cooper@example.com"):
        service.post(view.id, text)
    return view.id


def test_ticket_and_conversation_show_plain_words_local_times_and_the_customer(console: Console,
                                                                              as_role: Clients) -> None:
    conversation_id = _return_outside_the_window(console)
    agent, _ = as_role["agent"]
    admin, _ = as_role["admin"]

    page = agent.get("/console/tickets/1001")
    assert page.status_code == 200
    seen = _text(page.text)
    assert "Refused: the order was delivered more than 30 days ago" in seen
    assert "Policy check failed" not in page.text  # the engine's words only for admins
    assert not ISO_MOMENT.search(seen) and "UTC" not in seen
    assert LOCAL_TIME.search(seen)
    # the customer beside the ticket: name, masked contact details for an agent, their orders
    panel = seen.split("Customer Name", 1)[1].split("Contact history", 1)[0]
    assert "Zoe Cooper" in panel and "z•••@example.com" in panel and "•••• 0196" in panel
    assert "zoe.cooper@example.com" not in panel and "0196" not in panel.replace("•••• 0196", "")
    records = panel.split("Their records", 1)[1]
    assert "BB-10002" in records and "BB-10178" in records and "C-1003" not in panel

    full = admin.get("/console/tickets/1001").text
    assert "<details class=\"technical\">" in full and "Policy check failed: (order.delivered_at | days_since)" in full
    assert "+18175550196" in _text(full)  # an admin sees the details in full

    live = _text(agent.get(f"/console/conversations/{conversation_id}").text)
    assert "Zoe Cooper" in live and "BB-10006" in live and not ISO_MOMENT.search(live)
    assert "Verified yes" in live and "Status In progress" in live
    with console.runtime.db.session() as session:  # the staff member's read of the records is audited
        assert session.query(AuditEntry).filter_by(actor="console:agent@example.com",
                                                   entity="customer_records").count() >= 2


def test_the_live_view_puts_trouble_first_in_words(console: Console, as_role: Clients) -> None:
    service = console.runtime.conversations
    calm = service.start("chat")
    service.post(calm.id, "do you sell decaf beans?")
    angry = service.start("chat")
    service.post(angry.id, "this is ridiculous, third time I'm asking, I want to talk to a human NOW")
    client, _ = as_role["agent"]

    rows = client.get("/console/live/rows").text
    first, second = rows.split("</tr>")[:2]
    assert angry.id in first and calm.id in second
    assert "Waiting for a person for under a minute" in first and "Angry" in first
    assert "flag-ok" in second

    # Ten minutes on without a word from the calm customer: flagged as silent, still after the waiting one.
    real_clock = service.clock
    service.clock = lambda: real_clock() + timedelta(minutes=10)
    try:
        rows = client.get("/console/live/rows").text
    finally:
        service.clock = real_clock
    first, second = rows.split("</tr>")[:2]
    assert angry.id in first and "Waiting for a person for 10 min" in first
    assert calm.id in second and "No reply from the customer for 10 min" in second
