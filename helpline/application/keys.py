"""Checking the keys machines and web pages present, as the channels need it, without them reaching into the store;
and making them, as the CLI does.

An API key (``helpline apikey create``) names a role; the media stream admits a call only for a key whose role
may drive conversations. A widget key (``helpline widget create-key``) is public, on the business's pages, and
may be limited to their origins. Keys are stored hashed (store/repositories/keys.py); these reads return who
holds a key, never the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from helpline.store.db import Database
from helpline.store.repositories import ApiKeyRepository, WidgetKeyRepository
from helpline.store.validation import API_ROLES, check_choice

# admin > supervisor > agent: a higher role may do what a lower one may. ``integration`` stands apart (machines
# that only drive conversations) and is allowed only where it is named. The API's keys and the console's staff
# rank by the same table.
ROLE_RANK = {"agent": 1, "supervisor": 2, "admin": 3}


@dataclass(frozen=True)
class ApiKeyHolder:
    """Who presented an API key: its prefix (the audit log's name for it) and its role."""

    key_prefix: str
    role: str

    @property
    def actor(self) -> str:
        return f"apikey:{self.key_prefix}"

    def allowed(self, roles: tuple[str, ...]) -> bool:
        """The role is one of ``roles``, or outranks one of them."""
        if self.role in roles:
            return True
        rank = ROLE_RANK.get(self.role)
        return rank is not None and any(rank > ROLE_RANK[r] for r in roles if r in ROLE_RANK)


@dataclass(frozen=True)
class VerifiedApiKey:
    """A live API key as checked: its id (what records kept per key, such as idempotency keys, are filed under)
    and who holds it."""

    key_id: str
    holder: ApiKeyHolder


def verified_api_key(db: Database, key: str) -> VerifiedApiKey | None:
    """The live (not revoked) API key matching ``key``; None for a wrong, revoked or empty one."""
    key = key.strip()
    if not key:
        return None
    # a read session: on SQLite, checking a key never queues behind (or blocks) a turn being written
    with db.read_session() as session:
        found = ApiKeyRepository(session).verify(key)
        return VerifiedApiKey(found.id, ApiKeyHolder(key_prefix=found.prefix, role=found.role)) if found else None


def known_api_role(role: str) -> str:
    """``role`` if it is an API key's role (admin, supervisor, agent, integration); ValueError otherwise."""
    return check_choice("role", role, API_ROLES)


def api_key_holder(db: Database, key: str) -> ApiKeyHolder | None:
    """Who holds the live API key matching ``key``; None for a wrong, revoked or empty one."""
    verified = verified_api_key(db, key)
    return verified.holder if verified is not None else None


def widget_key_id(db: Database, public_key: str, origin: str | None) -> str | None:
    """The id of the live widget key ``public_key``, if the page's Origin is one it allows (an empty list of
    origins allows any); None otherwise."""
    with db.read_session() as session:
        found = WidgetKeyRepository(session).verify(public_key, origin)
        return found.id if found else None


def create_api_key(db: Database, *, role: str, label: str = "", actor: str = "system") -> tuple[str, str]:
    """A new API key of ``role`` (audited): its plaintext, shown this once, and its prefix (the name lists and the
    audit log give it). ValueError for an unknown role."""
    with db.session() as session:
        plaintext, key = ApiKeyRepository(session).create(role=role, label=label, actor=actor)
        return plaintext, key.prefix


def create_widget_key(db: Database, *, label: str = "", origins: Sequence[str] = (), actor: str = "system") -> str:
    """A new widget key (audited), allowed on ``origins`` (none: any page); its public key."""
    with db.session() as session:
        return WidgetKeyRepository(session).create(label=label, allowed_origins=origins, actor=actor).public_key
