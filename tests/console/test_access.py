"""Staff and keys in the console: people, API keys and widget keys created, listed and revoked by an admin;
a key shown once and stored hashed; revocation at once; every change audited; never without an admin."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from helpline.store.models import ApiKey, AuditEntry, ConsoleUser, WidgetKey
from tests.console.conftest import PASSWORD, Console, login

Clients = dict[str, tuple[TestClient, str]]


def _audited(console: Console, entity: str) -> list[AuditEntry]:
    with console.runtime.db.session() as session:
        return session.query(AuditEntry).filter(AuditEntry.entity == entity,
                                                AuditEntry.actor == "console:admin@example.com").all()


def _user_id(console: Console, email: str) -> str:
    with console.runtime.db.session() as session:
        return session.query(ConsoleUser).filter(ConsoleUser.email == email).one().id


def test_keys_are_shown_once_work_and_stop_at_revocation(console: Console, as_role: Clients) -> None:
    client, csrf = as_role["admin"]
    created = client.post("/console/access/api-keys", data={"csrf": csrf, "role": "supervisor", "label": "orders"})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    key = re.search(r'id="new-key-value"[^>]*value="([^"]+)"', created.text)
    assert key
    plaintext = key.group(1)
    listing = client.get("/console/access").text
    assert plaintext not in listing and plaintext[:8] in listing and "orders" in listing
    with console.runtime.db.session() as session:
        stored = session.query(ApiKey).filter(ApiKey.label == "orders").one()
        assert plaintext not in (stored.key_hash, stored.prefix)
        key_id = stored.id
    api = TestClient(console.app, raise_server_exceptions=False)
    bearer = {"Authorization": f"Bearer {plaintext}"}
    assert api.get("/api/v1/tickets", headers=bearer).status_code == 200
    assert client.post("/console/access/api-keys/revoke", data={"csrf": csrf, "key_id": key_id}).status_code == 303
    assert api.get("/api/v1/tickets", headers=bearer).status_code == 401  # at once, no restart
    listing = client.get("/console/access").text
    assert "revoked" in listing
    changes = listing.split("Recent changes")[1]  # the admin sees who did it
    assert "admin@example.com" in changes and "create api key" in changes and "update api key" in changes
    assert [e.action for e in _audited(console, "api_key")] == ["create", "update"]
    bad = client.post("/console/access/api-keys", data={"csrf": csrf, "role": "owner"})
    assert bad.status_code == 400 and "unknown role" in bad.text
    assert client.post("/console/access/api-keys/revoke", data={"csrf": csrf, "key_id": "nope"}).status_code == 400

    # Widget keys (public: they sit in the site's HTML) are listed, and revoked the same way.
    made = client.post("/console/access/widget-keys",
                       data={"csrf": csrf, "label": "shop", "origins": "https://shop.example"})
    assert made.status_code == 303
    assert client.post("/console/access/widget-keys", data={"csrf": csrf, "origins": "shop.example"}).status_code == 400
    with console.runtime.db.session() as session:
        key = session.query(WidgetKey).filter(WidgetKey.label == "shop").one()
        key_id, public = key.id, key.public_key
    anon = TestClient(console.app, raise_server_exceptions=False)
    assert anon.get(f"/widget/demo?key={public}").status_code == 200
    assert client.post("/console/access/widget-keys/revoke", data={"csrf": csrf, "key_id": key_id}).status_code == 303
    with console.runtime.db.session() as session:
        assert session.get(WidgetKey, key_id).revoked_at is not None  # type: ignore[union-attr]
    assert [e.action for e in _audited(console, "widget_key")] == ["create", "update"]


def test_people_are_added_demoted_and_removed_but_never_the_last_admin(console: Console, as_role: Clients,
                                                                        anon: TestClient) -> None:
    client, csrf = as_role["admin"]
    admin_id = _user_id(console, "admin@example.com")
    # The only admin can be neither demoted nor removed.
    for path, extra in (("/console/access/users/role", {"role": "agent"}), ("/console/access/users/disable", {})):
        refused = client.post(path, data={"csrf": csrf, "user_id": admin_id, **extra})
        assert refused.status_code == 409 and "last admin" in refused.text
    assert client.get("/console/settings").status_code == 200  # still an admin

    weak = client.post("/console/access/users", data={"csrf": csrf, "email": "kim@example.com", "role": "admin",
                                                      "password": "short"})
    assert weak.status_code == 400 and "10 characters" in weak.text
    added = client.post("/console/access/users", data={"csrf": csrf, "email": "Kim@Example.com", "name": "Kim",
                                                       "role": "agent", "password": PASSWORD})
    assert added.status_code == 303
    assert client.post("/console/access/users", data={"csrf": csrf, "email": "kim@example.com", "role": "agent",
                                                      "password": PASSWORD}).status_code == 400  # exists
    kim = _user_id(console, "kim@example.com")
    login(anon, "kim@example.com")
    assert anon.get("/console/settings").status_code == 403
    # Promoted: the next request already has the role.
    assert client.post("/console/access/users/role", data={"csrf": csrf, "user_id": kim, "role": "admin"}
                       ).status_code == 303
    assert anon.get("/console/settings").status_code == 200
    # With a second admin, the first may step down.
    assert client.post("/console/access/users/role", data={"csrf": csrf, "user_id": admin_id, "role": "supervisor"}
                       ).status_code == 303
    assert client.get("/console/settings").status_code == 403
    # Removing Kim's access ends Kim's session at once... but Kim is now the last admin.
    kim_csrf = re.search(r'name="csrf" value="([^"]+)"', anon.get("/console/access").text).group(1)  # type: ignore[union-attr]
    assert anon.post("/console/access/users/disable", data={"csrf": kim_csrf, "user_id": kim}).status_code == 409
    assert anon.post("/console/access/users/role", data={"csrf": kim_csrf, "user_id": admin_id, "role": "admin"}
                     ).status_code == 303
    assert anon.post("/console/access/users/disable", data={"csrf": kim_csrf, "user_id": kim}).status_code == 303
    assert anon.get("/console/live").status_code == 303  # signed out: sent to the login page
    assert client.post("/console/access/users/role", data={"csrf": csrf, "user_id": kim, "role": "nobody"}
                       ).status_code == 400
    with console.runtime.db.session() as session:
        trail = session.query(AuditEntry).filter(AuditEntry.entity == "console_user",
                                                 AuditEntry.action != "read").all()
        assert len(trail) >= 5
        assert {e.actor for e in trail} >= {"console:admin@example.com", "console:kim@example.com"}
