"""In a real browser: a visitor chats in the widget and asks for a person; a supervisor signs in,
accepts, replies; the visitor sees it (also after a reload, exactly once); the rating lands on the
ticket. Screenshots go to artifacts/browser/."""

from __future__ import annotations

from typing import Any

import pytest

from helpline.store.models import Ticket
from tests.browser.conftest import ARTIFACTS, PASSWORD, Server

pytestmark = pytest.mark.browser
HUMAN_REPLY = "Hello, this is Sam from the team. I can sort that out for you."


def test_visitor_to_human_and_rating(server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    visitor = browser.new_page()
    visitor.set_viewport_size({"width": 390, "height": 844})  # a phone
    visitor.goto(f"{server.url}/widget/demo?key={server.widget_key}")
    launcher = visitor.get_by_role("button", name="Chat with Brightbean Coffee Co.")
    launcher.click()
    log = visitor.get_by_role("log", name="Messages")
    expect(log.locator("li.agent").first).to_contain_text("Brightbean", timeout=15_000)
    box = visitor.get_by_label("Type your message")
    expect(box).to_be_focused()  # focus moves into the chat when it opens
    box.fill("I'd like to speak to a person please")
    box.press("Enter")
    expect(log.locator("li.customer")).to_have_count(1)
    expect(log.locator("li.agent")).not_to_have_count(1, timeout=15_000)  # the agent answered the request
    visitor.screenshot(path=str(ARTIFACTS / "1-visitor-asks-for-a-person.png"))

    staff = browser.new_page()
    staff.goto(f"{server.url}/console")
    staff.get_by_label("Email").fill("sam@example.com")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    expect(staff.get_by_role("heading", name="Live conversations")).to_be_visible()
    staff.screenshot(path=str(ARTIFACTS / "2-console-live.png"))
    staff.get_by_role("link", name="Escalations").click()
    expect(staff.get_by_text("I'd like to speak to a person please").or_(staff.get_by_text("speak to a person")).first
           ).to_be_visible()
    staff.screenshot(path=str(ARTIFACTS / "3-escalation-inbox.png"))
    staff.get_by_role("button", name="Accept").first.click()
    expect(staff.get_by_role("heading", name="Conversation", exact=False)).to_be_visible()
    staff.get_by_label("Reply to the customer").fill(HUMAN_REPLY)
    staff.get_by_role("button", name="Send reply").click()
    expect(staff.locator("#transcript li.human")).to_contain_text(HUMAN_REPLY)

    expect(log.locator("li.human")).to_contain_text(HUMAN_REPLY, timeout=10_000)
    expect(visitor.get_by_role("status").first).to_contain_text("chatting with Sam")
    visitor.screenshot(path=str(ARTIFACTS / "4-visitor-sees-the-human.png"))

    # The visitor answers; the supervisor's page shows it live (SSE), with no AI reply in between.
    box.fill("Great, thank you!")
    box.press("Enter")
    expect(staff.locator("#transcript li.customer").last).to_contain_text("Great, thank you!", timeout=10_000)
    staff.screenshot(path=str(ARTIFACTS / "5-console-conversation.png"))

    # A reload resumes the same chat: everything replayed once, nothing doubled.
    visitor.reload()
    visitor.get_by_role("button", name="Chat with Brightbean Coffee Co.").click()
    expect(log.locator("li.human")).to_have_count(1, timeout=10_000)
    expect(log.locator("li.customer")).to_have_count(2)

    staff.get_by_label("Resolution").fill("Order re-sent")
    staff.get_by_role("button", name="Resolve and end").click()
    visitor.bring_to_front()  # keyboard focus belongs to the page in front
    rating = visitor.get_by_role("group", name="How satisfied are you with this chat?")
    expect(rating).to_be_visible(timeout=10_000)
    expect(rating.get_by_role("button", name="1 out of 5 (very unhappy)")).to_be_focused()
    rating.get_by_role("button", name="5 out of 5 (very happy)").click()
    expect(visitor.get_by_text("Thank you for your rating")).to_be_visible()
    visitor.screenshot(path=str(ARTIFACTS / "6-visitor-rated.png"))

    with server.runtime.db.session() as session:
        ticket = session.query(Ticket).filter(Ticket.csat.is_not(None)).one()
        assert (ticket.csat, ticket.status, ticket.resolution) == (5, "resolved", "Order re-sent")
        number = ticket.number
    staff.goto(f"{server.url}/console/tickets/{number}")
    expect(staff.locator("#csat")).to_have_text("5")
    staff.screenshot(path=str(ARTIFACTS / "7-ticket-with-rating.png"), full_page=True)
    for path, name in (("/console/dashboard", "8-dashboard"), ("/console/tickets", "9-tickets"),
                       ("/console/knowledge?q=do+gift+cards+expire", "10-knowledge"),
                       ("/console/settings", "11-settings"), ("/console/callbacks", "12-callbacks")):
        staff.goto(server.url + path)
        staff.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    visitor.close()
    staff.close()
