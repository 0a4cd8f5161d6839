"""In a real browser: the pages a shop owner reads show local times, plain words, the customer beside the ticket
and the conversation, and the live view's trouble first. Screenshots go to artifacts/browser/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, PASSWORD, Server

pytestmark = pytest.mark.browser
LOCAL_TIME = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}, \d{2}:\d{2}")
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def test_console_pages_a_shop_owner_can_read(server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    service = server.runtime.conversations
    refused = service.start("chat")
    for text in ("I want to return my order BB-10002", "zoe.cooper@example.com"):
        service.post(refused.id, text)
    upset = service.start("chat")
    service.post(upset.id, "this is ridiculous, third time I'm asking, I want to talk to a human NOW")

    staff = browser.new_page()
    staff.goto(f"{server.url}/console")
    staff.get_by_label("Email").fill("sam@example.com")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    expect(staff.get_by_role("heading", name="Live conversations")).to_be_visible()
    first = staff.locator("#live-rows tr").first
    expect(first).to_contain_text("Waiting for a person")
    expect(first).to_contain_text("Angry")
    staff.screenshot(path=str(ARTIFACTS / "console-live-trouble-first.png"), full_page=True)

    number = _ticket_number(server, refused.id)
    staff.goto(f"{server.url}/console/tickets/{number}")
    main = staff.locator("main")
    expect(main).to_contain_text("Refused: the order was delivered more than 30 days ago")
    expect(main.locator(".customer-panel")).to_contain_text("Zoe Cooper")
    expect(main.locator(".customer-panel")).to_contain_text("+18175550196")  # a supervisor sees the number in full
    expect(main.locator(".customer-records")).to_contain_text("BB-10002")
    text = main.inner_text()
    assert LOCAL_TIME.search(text) and not ISO_MOMENT.search(text) and "UTC" not in text
    staff.screenshot(path=str(ARTIFACTS / "console-ticket-plain-words.png"), full_page=True)

    staff.goto(f"{server.url}/console/conversations/{refused.id}")
    expect(staff.locator("main .customer-panel")).to_contain_text("Zoe Cooper")
    expect(staff.locator("#state")).to_contain_text("In progress")
    # A line that arrives live shows its time as the server renders it, without a reload.
    service.post(refused.id, "one more thing please")
    live_line = staff.locator("#transcript li.customer", has_text="one more thing please")
    expect(live_line.locator(".at")).to_have_text(_rendered_time(server, refused.id, "one more thing please"))
    staff.screenshot(path=str(ARTIFACTS / "console-conversation-customer.png"), full_page=True)
    staff.close()


def _ticket_number(server: Server, conversation_id: str) -> int:
    from helpline.store.repositories import TicketRepository

    with server.runtime.db.session() as session:
        return TicketRepository(session).list(actor="test", conversation_id=conversation_id, limit=1)[0].number


def _rendered_time(server: Server, conversation_id: str, text: str) -> str:
    """What the server's ``when`` filter prints for that line (the page's business time zone)."""
    from zoneinfo import ZoneInfo

    from helpline.console.web import local_time
    from helpline.store.models import Message

    with server.runtime.db.session() as session:
        line = session.query(Message).filter_by(conversation_id=conversation_id, text=text).one()
        rendered = local_time(line.created_at, ZoneInfo(server.runtime.pack.business.timezone))
    assert LOCAL_TIME.fullmatch(rendered)
    return rendered
