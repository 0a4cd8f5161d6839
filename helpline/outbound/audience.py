"""Who an incident affects: the customers in the business's own records (the SQL connector's tables) whose
attributes match the incident's scope, or — for an incident scoped only by topics — the customers who
contacted us about those topics recently."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine

from helpline.conversation.incidents import scope_matches
from helpline.outbound.writers import IncidentFacts, Recipient
from helpline.pack.loader import BusinessPack
from helpline.store.db import Database
from helpline.store.models import Customer, Ticket

log = logging.getLogger(__name__)

CUSTOMERS_TABLE = "customers"
CUSTOMER_KEY = "customer_id"  # the column by which other business tables (orders…) point at a customer
TOPIC_LOOKBACK = timedelta(days=30)
MAX_RECIPIENTS = 5000
ScopeMatcher = Callable[[Mapping[str, Sequence[str]], Mapping[str, Any]], bool]


class Audience:
    """Recipients of an incident's notice."""

    def __init__(self, db: Database, pack: BusinessPack, records: Engine | None,
                 matcher: ScopeMatcher | None = None) -> None:
        self.db = db
        self.pack = pack
        self.records = records
        self.matcher = matcher or scope_matches

    def recipients(self, incident: IncidentFacts, now: datetime) -> list[Recipient]:
        if incident.scope and self.records is not None:
            return [recipient for recipient, attributes in self._customers()
                    if self.matcher(incident.scope, attributes)]
        if not incident.affected:  # everyone
            return [recipient for recipient, _ in self._customers()]
        return self._by_topic(list(incident.affected), now)

    def _customers(self) -> list[tuple[Recipient, dict[str, Any]]]:
        """Every customer in the business's records with their attributes: the customer's columns, and for
        each table pointing at them (orders…) that table's values as lists (``status`` -> [pending, …])."""
        if self.records is None or CUSTOMERS_TABLE not in self.pack.operations.tables:
            return []
        tables = inspect(self.records).get_table_names()
        related = [t for t in self.pack.operations.tables if t != CUSTOMERS_TABLE and t in tables
                   and CUSTOMER_KEY in {c["name"] for c in inspect(self.records).get_columns(t)}]
        with self.records.connect() as connection:
            customers = [dict(row._mapping) for row in connection.execute(
                text(f'SELECT * FROM "{CUSTOMERS_TABLE}" LIMIT {MAX_RECIPIENTS}'))]
            linked: dict[str, dict[str, list[Any]]] = {}
            for table in related:
                for linked_row in connection.execute(text(f'SELECT * FROM "{table}"')):
                    values = linked.setdefault(str(linked_row._mapping[CUSTOMER_KEY]), {})
                    for column, value in linked_row._mapping.items():
                        if column != CUSTOMER_KEY and value is not None:
                            values.setdefault(column, []).append(value)
                            values.setdefault(f"{table}.{column}", []).append(value)
        found: list[tuple[Recipient, dict[str, Any]]] = []
        for row in customers:
            key = str(row.get("id", ""))
            attributes: dict[str, Any] = {**linked.get(key, {}), **row}
            name = row.get("name") or " ".join(str(row[p]) for p in ("first_name", "last_name") if row.get(p)) or None
            found.append((Recipient(name=str(name) if name else None, email=_text(row.get("email")),
                                    phone=_text(row.get("phone")), key=f"record:{key}"), attributes))
        return found

    def _by_topic(self, topics: list[str], now: datetime) -> list[Recipient]:
        """Customers whose recent tickets carry one of the incident's topics (procedure, category or tag)."""
        wanted = set(topics)
        with self.db.read_session() as session:
            tickets = session.scalars(select(Ticket).where(Ticket.created_at >= now - TOPIC_LOOKBACK,
                                                           Ticket.customer_id.is_not(None)))
            ids = {t.customer_id for t in tickets if wanted & {t.category, *(t.tags or [])}}
            customers = [session.get(Customer, i) for i in ids if i]
        return [Recipient(name=c.name, email=c.email, phone=c.phone, customer_id=c.id, key=f"customer:{c.id}")
                for c in customers if c is not None][:MAX_RECIPIENTS]


def _text(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None
