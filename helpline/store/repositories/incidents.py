"""Incidents (outages, scoped notices) the engine tells affected customers about."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import or_, select

from helpline.store.models import (
    INCIDENT_KINDS,
    Incident,
)
from helpline.store.repositories.base import (
    NotFound,
    _limit,
    _now,
    _Repository,
    _str_list,
)
from helpline.store.validation import (
    check_choice,
)

_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def _scope(scope: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """{attribute: [values]}: plain attribute names, each with at least one value."""
    if not isinstance(scope, Mapping):
        raise ValueError("invalid scope: expected a mapping of attribute to a list of values")
    cleaned: dict[str, list[str]] = {}
    for key, values in scope.items():
        name = str(key).strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,63}", name):
            raise ValueError(f"invalid scope attribute {key!r}: use a record field name like region or postcode")
        items = [v.strip() for v in _str_list(f"scope.{name}", values) if v.strip()]
        if not items:
            raise ValueError(f"scope.{name} needs at least one value")
        cleaned[name] = items
    return cleaned


def _messages(messages: Mapping[str, str]) -> dict[str, str]:
    """{language: message}, ISO 639-1 codes ("es", "pt-BR"), non-empty messages, in the order given."""
    cleaned: dict[str, str] = {}
    for language, said in messages.items():
        if not isinstance(language, str) or not _LANGUAGE_CODE.match(language):
            raise ValueError(f"invalid message language {language!r}: use a code like en, es or pt-BR")
        if not isinstance(said, str) or not said.strip():
            raise ValueError(f"the {language} message is empty")
        cleaned[language] = said.strip()
    return cleaned


class IncidentRepository(_Repository):
    """Declared outages; ``active(at)`` is what the agent tells affected customers about."""

    def declare(
        self,
        *,
        actor: str,
        title: str,
        message: str = "",
        affected: Sequence[str] = (),
        expected_fix: str | None = None,
        started_at: datetime | None = None,
        scope: Mapping[str, Sequence[str]] | None = None,
        kind: str = "outage",
        window_start: datetime | None = None,
        window_end: datetime | None = None,
        messages: Mapping[str, str] | None = None,
    ) -> Incident:
        """Declare an incident. `scope` limits it to customers with these attribute values (empty: everyone);
        planned maintenance needs its window; `messages` gives the message per language (the first is the
        default, and `message` when that is empty)."""
        if not title.strip():
            raise ValueError("an incident needs a title")
        check_choice("incident kind", kind, INCIDENT_KINDS)
        if kind == "planned_maintenance":
            if window_start is None or window_end is None:
                raise ValueError("planned maintenance needs window_start and window_end")
            if window_end <= window_start:
                raise ValueError("the maintenance window must end after it starts")
        elif window_start is not None or window_end is not None:
            raise ValueError("a window is for planned maintenance; an outage starts when it is declared")
        by_language = _messages(messages or {})
        text = message.strip() or next(iter(by_language.values()), "")
        if not text:
            raise ValueError("an incident needs a message")
        incident = Incident(title=title.strip(), message=text, affected=_str_list("affected", affected),
                            expected_fix=expected_fix or None, started_at=_now(started_at), created_by=actor[:200],
                            scope=_scope(scope or {}), kind=kind, window_start=window_start, window_end=window_end,
                            messages=by_language)
        self.session.add(incident)
        self.session.flush()
        self.audit.record(actor, "create", "incident", incident.id, None, {"title": incident.title})
        return incident

    def get(self, incident_id: str) -> Incident | None:
        return self.session.get(Incident, incident_id)

    def end(self, incident_id: str, *, actor: str, at: datetime | None = None) -> Incident:
        """End the incident now (or at ``at``); ending an ended incident changes nothing."""
        incident = self.session.get(Incident, incident_id)
        if incident is None:
            raise NotFound(f"incident {incident_id} not found")
        if incident.ended_at is None:
            incident.ended_at = _now(at)
            self.session.flush()
            self.audit.record(actor, "update", "incident", incident.id, None, {"fields": ["ended_at"]})
        return incident

    def active(self, at: datetime | None = None) -> list[Incident]:
        """Incidents started (declared) at or before ``at`` and not yet ended by then, oldest first; planned
        maintenance is active from its announcement to the end of its window."""
        moment = _now(at)
        query = select(Incident).where(
            Incident.started_at <= moment, or_(Incident.ended_at.is_(None), Incident.ended_at > moment),
            or_(Incident.window_end.is_(None), Incident.window_end > moment),
        )
        return list(self.session.scalars(query.order_by(Incident.started_at, Incident.id)))

    def list(self, *, active_only: bool = True, at: datetime | None = None, limit: int = 100) -> list[Incident]:
        if active_only:
            return self.active(at)[: _limit(limit)]
        query = select(Incident).order_by(Incident.started_at.desc(), Incident.id).limit(_limit(limit))
        return list(self.session.scalars(query))


