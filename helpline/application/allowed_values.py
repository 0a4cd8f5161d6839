"""The values a contact's fields may take (channels, ticket statuses and priorities, roles, incident kinds), for the
console's filters and forms. Defined once where the store checks them (store/validation.py, store/models.py) and
re-exported here, so a page lists exactly what the store accepts without reaching into it."""

from __future__ import annotations

from helpline.store.models import INCIDENT_KINDS
from helpline.store.validation import API_ROLES, CHANNELS, CONSOLE_ROLES, TICKET_PRIORITIES, TICKET_STATUSES

__all__ = ["API_ROLES", "CHANNELS", "CONSOLE_ROLES", "INCIDENT_KINDS", "TICKET_PRIORITIES", "TICKET_STATUSES"]
