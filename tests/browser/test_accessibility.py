"""Accessibility of the console in a real browser: axe-core (npm, tests/browser/package.json) audits every
console page and finds no serious or critical violation; the inbox and the live view work with the keyboard
alone (skip link, visible focus, Tab to an action, Enter). One browser for the module (conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpline.console.security import hash_password
from helpline.store.repositories import ConsoleUserRepository, IncidentRepository
from tests.browser.conftest import ARTIFACTS, PASSWORD, Server

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
ADMIN = "ada@example.com"


@pytest.fixture(scope="module")
def seeded(server: Server) -> dict[str, str]:
    """An admin, a customer waiting for a person (inbox, live view, a ticket) and an incident."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/install.sh (npm ci in tests/browser)")
    runtime = server.runtime
    with runtime.db.session() as session:
        ConsoleUserRepository(session).create(email=ADMIN, role="admin", name="Ada",
                                              password_hash=hash_password(PASSWORD))
        IncidentRepository(session).declare(title="Payments delayed", message="Card payments are slow.",
                                            actor="test")
    service = runtime.conversations
    started = service.start(channel="chat")
    service.post(started.id, "my grinder is making a horrible noise")
    service.post(started.id, "I'd like to speak to a person please")
    with runtime.db.session() as session:
        from helpline.store.models import Conversation, Ticket

        ticket = session.query(Ticket).filter(Ticket.conversation_id == started.id).one()
        assert session.get(Conversation, started.id) is not None
        return {"conversation": started.id, "ticket": str(ticket.number)}


@pytest.fixture(scope="module")
def staff(server: Server, browser: Any, seeded: dict[str, str]) -> Iterator[Any]:
    page = browser.new_page()
    page.goto(f"{server.url}/console/login")
    _audit(page, "login")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/live")
    yield page
    page.close()


def _audit(page: Any, name: str) -> list[str]:
    """axe-core's serious and critical violations on the page, as readable lines."""
    if not page.evaluate("() => !!window.axe"):
        # Evaluated through the DevTools protocol, which the console's CSP (script-src 'self') allows.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    found = []
    for violation in result["violations"]:
        if violation["impact"] in BLOCKING:
            targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
            found.append(f"{name}: {violation['id']} ({violation['impact']}): {violation['help']} — {targets}")
    return found


def test_no_serious_violations_on_any_console_page(server: Server, staff: Any, seeded: dict[str, str]) -> None:
    pages = {
        "live": "/console/live", "inbox": "/console/inbox", "conversation": f"/console/conversations/"
        f"{seeded['conversation']}", "ticket": f"/console/tickets/{seeded['ticket']}", "tickets": "/console/tickets",
        "knowledge": "/console/knowledge?q=do+gift+cards+expire", "settings": "/console/settings",
        "access": "/console/access", "advanced-settings": "/console/settings/advanced",
        "texts": "/console/settings/texts", "dashboard": "/console/dashboard", "incidents": "/console/incidents",
        "outbound": "/console/outbound", "callbacks": "/console/callbacks",
    }
    problems: list[str] = []
    for name, path in pages.items():
        response = staff.goto(server.url + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        problems += _audit(staff, name)
    # The login page was audited signed out, by the `staff` fixture.
    assert not problems, "\n".join(problems)


def _focus_is_visible(page: Any) -> bool:
    return bool(page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'; }"""))


def _tab_to(page: Any, accessible: str, limit: int = 80) -> list[str]:
    """Press Tab until the focused element's text starts with ``accessible``; every stop must show its focus."""
    stops: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        text = page.evaluate("() => (document.activeElement.innerText || document.activeElement.value || '').trim()")
        stops.append(text)
        assert _focus_is_visible(page), f"no visible focus on {text!r} after {stops}"
        if text.startswith(accessible):
            return stops
    raise AssertionError(f"Tab never reached {accessible!r}: {stops}")


def test_the_inbox_and_live_view_work_with_the_keyboard(server: Server, staff: Any) -> None:
    from playwright.sync_api import expect

    staff.goto(f"{server.url}/console/inbox")
    staff.keyboard.press("Tab")  # the first stop is the skip link, shown when focused
    skip = staff.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    staff.keyboard.press("Enter")
    expect(staff.locator("main")).to_be_focused()
    _tab_to(staff, "Accept")  # past the page's own links, to the first waiting customer
    staff.screenshot(path=str(ARTIFACTS / "a11y-inbox-keyboard.png"))
    staff.keyboard.press("Enter")
    expect(staff.get_by_role("heading", name="Conversation", exact=False).first).to_be_visible()
    assert "/console/conversations/" in staff.url

    staff.goto(f"{server.url}/console/live")
    stops = _tab_to(staff, "Open")
    assert stops[0] == "Skip to content"
    assert "conversation started" in stops[-1]  # the link says which conversation it opens
    # The rows re-render live as customers write; the keyboard user keeps their place.
    opened = staff.evaluate("() => document.activeElement.getAttribute('href')")
    server.runtime.conversations.post(opened.rsplit("/", 1)[1], "are you still there? it's rattling now")
    expect(staff.locator(f'tr:has(a[href="{opened}"])')).to_contain_text("rattling now", timeout=10_000)
    assert staff.evaluate("() => document.activeElement.getAttribute('href')") == opened
    staff.keyboard.press("Enter")
    staff.wait_for_url("**/console/conversations/*")


def test_api_docs_render_without_internet(server: Server, browser: Any) -> None:
    """Swagger UI draws the API from this server alone (the test browser reaches no other host)."""
    from playwright.sync_api import expect

    page = browser.new_page()
    try:
        failed: list[str] = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.goto(f"{server.url}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Helpline", timeout=15_000)
        expect(page.locator(".opblock-summary-path").first).to_be_visible()
        assert not failed, failed
        assert page.request.get(f"{server.url}/favicon.ico").ok
    finally:
        page.close()
