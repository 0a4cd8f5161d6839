"""Incidents as the console and the API manage them: declared outages and planned maintenance the agent tells affected
contacts about, listed, declared and ended. Plain ``IncidentView`` values, never the store's rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from helpline.store.db import Database
from helpline.store.models import Incident
from helpline.store.repositories import IncidentRepository, NotFound

__all__ = ["IncidentView", "NotFound", "declare_incident", "end_incident", "incident", "incidents",
           "incidents_marked_active"]


@dataclass(frozen=True)
class IncidentView:
    id: str
    title: str
    kind: str  # outage | planned_maintenance
    message: str  # in the pack's first language
    messages: dict[str, str]  # language -> message
    affected: tuple[str, ...]  # topics (procedures, tags); empty with no scope: everyone
    scope: dict[str, list[str]]  # customer attribute -> values it is limited to
    expected_fix: str | None
    started_at: datetime
    ended_at: datetime | None
    window_start: datetime | None
    window_end: datetime | None
    created_by: str  # the audit log's name for who declared it

    @classmethod
    def of(cls, row: Incident) -> IncidentView:
        return cls(id=row.id, title=row.title, kind=row.kind, message=row.message, messages=dict(row.messages or {}),
                   affected=tuple(row.affected or ()), scope={k: list(v) for k, v in (row.scope or {}).items()},
                   expected_fix=row.expected_fix, started_at=row.started_at, ended_at=row.ended_at,
                   window_start=row.window_start, window_end=row.window_end, created_by=row.created_by)


def incidents(db: Database, *, not_ended_only: bool = False, limit: int = 100) -> list[IncidentView]:
    """Newest first; ``not_ended_only``: those nobody has ended yet (planned maintenance still to come too)."""
    with db.session() as session:
        if not_ended_only:
            rows = list(session.scalars(select(Incident).where(Incident.ended_at.is_(None))))
        else:
            rows = IncidentRepository(session).list(active_only=False, limit=limit)
        return [IncidentView.of(r) for r in rows]


def incidents_marked_active(db: Database, *, include_ended: bool, limit: int) -> list[tuple[IncidentView, bool]]:
    """The incidents active now (oldest first), or with ``include_ended`` every incident (newest first); each with
    whether it is active now (planned maintenance is, from its announcement to the end of its window)."""
    with db.session() as session:
        repo = IncidentRepository(session)
        active_ids = {i.id for i in repo.active()}
        return [(IncidentView.of(i), i.id in active_ids) for i in repo.list(active_only=not include_ended,
                                                                             limit=limit)]


def incident(db: Database, incident_id: str) -> IncidentView | None:
    with db.session() as session:
        row = IncidentRepository(session).get(incident_id[:36])
        return IncidentView.of(row) if row is not None else None


def declare_incident(db: Database, *, actor: str, title: str, message: str = "", affected: Sequence[str] = (),
                     expected_fix: str | None = None, scope: Mapping[str, Sequence[str]] | None = None,
                     kind: str = "outage", window_start: datetime | None = None, window_end: datetime | None = None,
                     messages: Mapping[str, str] | None = None) -> IncidentView:
    """Declared from now (audited); ValueError says what the declaration lacks."""
    with db.session() as session:
        row = IncidentRepository(session).declare(
            actor=actor, title=title, message=message, affected=affected, expected_fix=expected_fix, scope=scope,
            kind=kind, window_start=window_start, window_end=window_end, messages=messages)
        return IncidentView.of(row)


def end_incident(db: Database, incident_id: str, actor: str) -> None:
    """End it now (ending an ended one changes nothing); NotFound for an unknown id."""
    with db.session() as session:
        IncidentRepository(session).end(incident_id[:36], actor=actor)
