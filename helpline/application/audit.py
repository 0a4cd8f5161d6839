"""The audit log as the console writes and reads it: who read or changed what, and recent changes to show.

Entries are written in their own transaction (a page's aggregate read, a settings save); reads return plain
``AuditEntryView`` values, never the store's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from helpline.store.db import Database
from helpline.store.models import AuditEntry
from helpline.store.repositories import AuditLog


@dataclass(frozen=True)
class AuditEntryView:
    id: int
    at: datetime
    actor: str
    action: str  # read | create | update | delete
    entity: str
    entity_id: str
    customer_id: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryView:
        return cls(id=entry.id, at=entry.at, actor=entry.actor, action=entry.action, entity=entry.entity,
                   entity_id=entry.entity_id, customer_id=entry.customer_id, detail=dict(entry.detail or {}))


def record(db: Database, actor: str, action: str, entity: str, entity_id: str = "", customer_id: str | None = None,
           detail: dict[str, Any] | None = None) -> None:
    """One entry, committed at once."""
    with db.session() as session:
        AuditLog(session).record(actor, action, entity, entity_id, customer_id, detail)


def audit_entries(db: Database, *, entity: str | None = None, entity_id: str | None = None,
                  customer_id: str | None = None, actor: str | None = None, action: str | None = None,
                  limit: int = 100, offset: int = 0) -> list[AuditEntryView]:
    """Entries matching every filter given, newest first."""
    with db.session() as session:
        return [AuditEntryView.of(e) for e in AuditLog(session).list(
            entity=entity, entity_id=entity_id, customer_id=customer_id, actor=actor, action=action, limit=limit,
            offset=offset)]


def recent_changes(db: Database, entities: Sequence[str], limit: int = 15) -> list[AuditEntryView]:
    """The latest changes (not reads) to any of ``entities``, newest first."""
    with db.session() as session:
        log = AuditLog(session)
        entries = [e for entity in entities for e in log.list(entity=entity, limit=limit) if e.action != "read"]
        return [AuditEntryView.of(e) for e in sorted(entries, key=lambda e: e.id, reverse=True)[:limit]]
