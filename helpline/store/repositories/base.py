"""What every repository shares: the audit log, the session holder, errors and small checks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpline.store.models import (
    AuditEntry,
    utcnow,
)
from helpline.store.validation import (
    AUDIT_ACTIONS,
    check_choice,
)

MAX_LIST_LIMIT = 1000


class NotFound(LookupError):
    """The record asked for does not exist."""


class Conflict(RuntimeError):
    """The change contradicts the record's current state (e.g. completing a cancelled callback)."""


def _now(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()


def _limit(limit: int) -> int:
    return max(0, min(limit, MAX_LIST_LIMIT))


def _str_list(name: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"invalid {name}: expected a list of strings")
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"invalid {name}: expected a list of strings")
    return items


class AuditLog:
    """The append-only record of who read or changed customer data. Reading it is not itself audited."""

    def __init__(self, session: Session):
        self.session = session

    def record(
        self,
        actor: str,
        action: str,
        entity: str,
        entity_id: str = "",
        customer_id: str | None = None,
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AuditEntry:
        check_choice("audit action", action, AUDIT_ACTIONS)
        if not actor:
            raise ValueError("an audit entry needs an actor")
        entry = AuditEntry(
            at=_now(at), actor=actor[:200], action=action, entity=entity[:200], entity_id=str(entity_id)[:200],
            customer_id=customer_id, detail=detail or {},
        )
        self.session.add(entry)
        return entry

    def list(
        self,
        *,
        entity: str | None = None,
        entity_id: str | None = None,
        customer_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Newest first."""
        query = select(AuditEntry)
        if entity is not None:
            query = query.where(AuditEntry.entity == entity)
        if entity_id is not None:
            query = query.where(AuditEntry.entity_id == entity_id)
        if customer_id is not None:
            query = query.where(AuditEntry.customer_id == customer_id)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        if action is not None:
            query = query.where(AuditEntry.action == check_choice("audit action", action, AUDIT_ACTIONS))
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at < until)
        query = query.order_by(AuditEntry.id.desc()).limit(_limit(limit)).offset(max(offset, 0))
        return list(self.session.scalars(query))


class _Repository:
    def __init__(self, session: Session):
        self.session = session
        self.audit = AuditLog(session)



def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
