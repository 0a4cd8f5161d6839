"""Keys checked through the application layer: an API key's holder and role, a widget key and its origins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpline.application.keys import ApiKeyHolder, api_key_holder, create_api_key, create_widget_key, widget_key_id
from helpline.store.db import Database
from helpline.store.models import AuditEntry, Base
from helpline.store.repositories import ApiKeyRepository, WidgetKeyRepository


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'h.db'}")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def test_a_live_api_key_names_its_holder_and_a_revoked_or_wrong_one_nobody(db: Database) -> None:
    with db.session() as session:
        keys = ApiKeyRepository(session)
        integration, made = keys.create(role="integration")
        revoked, _ = keys.create(role="integration")
        keys.revoke(revoked[:8], actor="test")
    holder = api_key_holder(db, f"  {integration}\n")
    assert holder == ApiKeyHolder(made.prefix, "integration")
    assert holder.actor == f"apikey:{made.prefix}"
    assert api_key_holder(db, revoked) is None
    assert api_key_holder(db, integration[:-1] + ("x" if integration[-1] != "x" else "y")) is None
    assert api_key_holder(db, "") is None
    assert api_key_holder(db, "hl_\x00\x00\x00\x00\x00") is None  # never reaches PostgreSQL with a NUL


def test_roles_outrank_each_other_but_integration_stands_apart() -> None:
    assert ApiKeyHolder("p", "admin").allowed(("agent",))
    assert ApiKeyHolder("p", "supervisor").allowed(("agent",))
    assert not ApiKeyHolder("p", "agent").allowed(("supervisor",))
    assert ApiKeyHolder("p", "integration").allowed(("integration",))
    assert not ApiKeyHolder("p", "admin").allowed(("integration",))  # a person's key does not drive calls
    assert not ApiKeyHolder("p", "integration").allowed(("agent",))


def test_a_widget_key_works_only_from_the_origins_it_allows(db: Database) -> None:
    with db.session() as session:
        keys = WidgetKeyRepository(session)
        anywhere = keys.create(label="any site")
        shop = keys.create(label="shop", allowed_origins=["https://shop.example"])
        anywhere_key, anywhere_id, shop_key, shop_id = anywhere.public_key, anywhere.id, shop.public_key, shop.id
    assert widget_key_id(db, anywhere_key, None) == anywhere_id
    assert widget_key_id(db, shop_key, "https://shop.example/") == shop_id
    assert widget_key_id(db, shop_key, "https://evil.example") is None
    assert widget_key_id(db, shop_key, None) is None
    assert widget_key_id(db, "wk_nonsense", None) is None


def test_keys_made_as_the_cli_makes_them_are_audited_and_work(db: Database) -> None:
    plaintext, prefix = create_api_key(db, role="agent", label="crm", actor="cli")
    assert plaintext.startswith(prefix) and api_key_holder(db, plaintext) == ApiKeyHolder(prefix, "agent")
    with pytest.raises(ValueError, match="invalid role 'emperor'"):
        create_api_key(db, role="emperor")
    public = create_widget_key(db, label="shop", origins=["https://shop.example"], actor="cli")
    assert widget_key_id(db, public, "https://shop.example") is not None
    assert widget_key_id(db, public, "https://evil.example") is None
    with db.session() as session:
        made = {(e.actor, e.entity) for e in session.query(AuditEntry).filter(AuditEntry.action == "create")}
    assert made == {("cli", "api_key"), ("cli", "widget_key")}
