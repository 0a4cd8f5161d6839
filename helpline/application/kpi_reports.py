"""The contacts a KPI report counts (the dashboard, its CSV tables), read with the read audited: aggregates only,
but computed from tickets and transcripts, so the log says who looked."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from helpline.analytics.contacts import load_contacts
from helpline.analytics.kpis import Contact
from helpline.store.db import Database
from helpline.store.repositories import AuditLog


def period_contacts(db: Database, start: date, end: date, zone: ZoneInfo, *, actor: str, report: str) -> list[Contact]:
    """The contacts of the days ``start`` to ``end`` (inclusive, in ``zone``), as analytics/ counts them."""
    with db.session() as session:
        contacts = load_contacts(session, start, end, zone)
        AuditLog(session).record(actor, "read", "ticket", "*", None,
                                 {"report": report, "from": start.isoformat(), "to": end.isoformat()})
    return contacts
