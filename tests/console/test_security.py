"""Every console route refuses anonymous users and wrong roles; forged POSTs fail; customer text is text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from helpline.store.repositories import ConsoleUserRepository
from tests.console.conftest import Console, login

X = "00000000-0000-0000-0000-000000000000"
# (method, path, lowest role allowed)
ROUTES = [
    ("GET", "/console/live", "agent"), ("GET", "/console/live/rows", "agent"),
    ("GET", "/console/live/events", "agent"), ("GET", f"/console/conversations/{X}", "agent"),
    ("GET", f"/console/conversations/{X}/events", "agent"),
    ("POST", f"/console/conversations/{X}/takeover", "supervisor"),
    ("POST", f"/console/conversations/{X}/whisper", "supervisor"),
    ("POST", f"/console/conversations/{X}/handback", "agent"),
    ("POST", f"/console/conversations/{X}/reply", "agent"),
    ("POST", f"/console/conversations/{X}/resolve", "agent"),
    ("GET", "/console/inbox", "agent"), ("POST", f"/console/inbox/{X}/accept", "agent"),
    ("GET", "/console/tickets", "agent"), ("GET", "/console/tickets/1001", "agent"),
    ("POST", "/console/tickets/1001", "agent"), ("POST", "/console/tickets/1001/merge", "supervisor"),
    ("GET", "/console/callbacks", "agent"), ("POST", f"/console/callbacks/{X}/done", "agent"),
    ("GET", "/console/knowledge", "agent"), ("GET", "/console/knowledge/new", "supervisor"),
    ("GET", "/console/knowledge/gift-cards", "supervisor"), ("POST", "/console/knowledge", "supervisor"),
    ("GET", "/console/incidents", "agent"), ("POST", "/console/incidents", "supervisor"),
    ("POST", f"/console/incidents/{X}/end", "supervisor"),
    ("GET", "/console/dashboard", "supervisor"),
    ("GET", "/console/insight", "supervisor"), ("GET", "/console/insight/declare-incident", "supervisor"),
    ("GET", "/console/insight/draft-article", "supervisor"),
    ("GET", "/console/settings", "admin"), ("POST", "/console/settings", "admin"),
    ("GET", "/console/settings/advanced", "admin"), ("POST", "/console/settings/advanced", "admin"),
    ("GET", "/console/settings/texts", "admin"), ("POST", "/console/settings/texts", "admin"),
    ("GET", "/console/access", "admin"), ("POST", "/console/access/users", "admin"),
    ("POST", "/console/access/users/role", "admin"), ("POST", "/console/access/users/disable", "admin"),
    ("POST", "/console/access/users/enable", "admin"), ("POST", "/console/access/api-keys", "admin"),
    ("POST", "/console/access/api-keys/revoke", "admin"), ("POST", "/console/access/widget-keys", "admin"),
    ("POST", "/console/access/widget-keys/revoke", "admin"),
]
RANK = {"agent": 1, "supervisor": 2, "admin": 3}


def test_the_route_list_covers_every_console_route(console: Console) -> None:
    listed = {(m, p.replace(X, "{x}")) for m, p, _ in ROUTES}
    for route in console.app.routes:
        path = getattr(route, "path", "")
        if not path.startswith("/console") or path in ("/console", "/console/login", "/console/logout") \
                or path.startswith("/console/static"):
            continue
        for method in getattr(route, "methods", set()) - {"HEAD"}:
            generic = path.replace("{conversation_id}", "{x}").replace("{handoff_id}", "{x}") \
                .replace("{callback_id}", "{x}").replace("{incident_id}", "{x}").replace("{number}", "1001") \
                .replace("{article_id}", "gift-cards").replace("{outcome}", "done")
            assert (method, generic) in listed, f"{method} {path} is not in the security test"


def test_anonymous_is_refused(anon: TestClient) -> None:
    for method, path, _role in ROUTES:
        response = anon.request(method, path, data={"csrf": "x", "text": "hi"})
        if method == "GET":
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/console/login")
        else:
            assert response.status_code == 401, path


def test_wrong_roles_are_refused(as_role: dict[str, tuple[TestClient, str]]) -> None:
    for method, path, needed in ROUTES:
        for role, (client, csrf) in as_role.items():
            if RANK[role] >= RANK[needed]:
                continue
            response = client.request(method, path, data={"csrf": csrf, "text": "hi", "title": "t", "body": "b"},
                                      headers={"accept": "text/html"})
            assert response.status_code == 403, (role, method, path, response.status_code)


def test_a_forged_post_without_the_csrf_token_fails(console: Console,
                                                     as_role: dict[str, tuple[TestClient, str]]) -> None:
    client, csrf = as_role["supervisor"]
    form = {"title": "Forged outage", "message": "m"}
    assert client.post("/console/incidents", data=form).status_code == 403
    assert client.post("/console/incidents", data={**form, "csrf": "wrong"}).status_code == 403
    assert "Forged outage" not in client.get("/console/incidents").text
    assert client.post("/console/incidents", data={**form, "csrf": csrf}).status_code == 303
    assert "Forged outage" in client.get("/console/incidents").text


def test_customer_html_is_shown_as_text(console: Console, as_role: dict[str, tuple[TestClient, str]]) -> None:
    service = console.runtime.conversations
    started = service.start(channel="chat")
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    service.post(started.id, payload)
    client, _ = as_role["agent"]
    for path in (f"/console/conversations/{started.id}", "/console/live", "/console/tickets/1001"):
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
    assert "&lt;script&gt;alert(" in client.get(f"/console/conversations/{started.id}").text


def test_cookie_flags_lockout_and_logout(console: Console, anon: TestClient) -> None:
    login(anon, "agent@example.com")
    cookie = next(c for c in anon.cookies.jar if c.name == "helpline_console")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/console"
    anon.cookies.clear()
    page = anon.get("/console/login")
    for _ in range(5):
        # Each answer is a fresh form with a fresh (double-submit) CSRF token.
        page = anon.post("/console/login", data={"email": "admin@example.com", "password": "nope",
                                                 "csrf": _token(page.text)})
        assert page.status_code == 401
    locked = anon.post("/console/login", data={"email": "admin@example.com", "password": "correct horse battery",
                                               "csrf": _token(page.text)})
    # Locked: the right password is refused with the same answer as a wrong one (docs/security.md).
    assert locked.status_code == 401 and "Wrong email or password" in locked.text
    with console.runtime.db.session() as session:
        user = ConsoleUserRepository(session).by_email("admin@example.com")
        assert user is not None and user.locked_until is not None and user.locked_until > datetime.now(UTC)


def test_login_needs_its_csrf_cookie_and_logout_ends_the_session(anon: TestClient) -> None:
    forged = anon.post("/console/login", data={"email": "agent@example.com", "password": "correct horse battery",
                                               "csrf": "guess"})
    assert forged.status_code == 403
    csrf = login(anon, "agent@example.com")
    assert anon.get("/console/live").status_code == 200
    assert anon.post("/console/logout", data={"csrf": csrf}).status_code == 303
    assert anon.get("/console/live").status_code == 303


def _token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)
