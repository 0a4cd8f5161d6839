"""Small repositories over one Session each; the caller owns the transaction (``Database.session()``).

One module per aggregate; this package re-exports every public name, so ``from helpline.store.repositories
import X`` is the one way in.

Auditing: every method that reads or changes customer data writes an ``AuditEntry`` in the same
transaction, so the log can never disagree with the data. The ``actor`` names who did it:
``"ai:conversation:<id>"``, ``"apikey:<prefix>"`` or ``"system"``.

Audited (R = read, C/U/D = create/update/delete):
  CustomerRepository      get R, find_by_identity R (when found), upsert_from_record C/U, link_identity C
  ConversationRepository  create C, get R, messages R (when an actor is given), append_message C,
                          save_state U, end U, list_active R
  TicketRepository        create C, get R, get_by_number R, update U (only when something changed), list R
  HandoffRepository       create C, get R, list R, accept U
  CallbackRepository      schedule C, get R, due R, list R, complete U, cancel U, mark_missed_overdue U
  IncidentRepository      declare C, end U (reads are not audited: incidents hold no customer data)
  ApiKeyRepository        create C, revoke U (verify is not audited: it runs on every request)
  ConsoleUserRepository   create C, set_password U, disable U (logins are audited by the console)
  ConsoleSessionRepository, WidgetKeyRepository, WidgetChatRepository: credentials, no customer data
A list read writes one entry naming the rows returned, not one entry per row.
"""

from helpline.store.repositories.base import MAX_LIST_LIMIT, AuditLog, Conflict, NotFound, _Repository
from helpline.store.repositories.callbacks import CALLBACK_CLAIMS, CallbackRepository
from helpline.store.repositories.conversations import ConversationRepository, NewLine
from helpline.store.repositories.customers import CustomerRepository
from helpline.store.repositories.handoffs import HandoffRepository
from helpline.store.repositories.incidents import IncidentRepository
from helpline.store.repositories.keys import (
    API_KEY_PREFIX,
    API_KEY_PREFIX_LENGTH,
    WIDGET_KEY_PREFIX,
    ApiKeyRepository,
    WidgetChatRepository,
    WidgetKeyRepository,
    hash_api_key,
)
from helpline.store.repositories.staff import (
    LOCKOUT_AFTER_FAILURES,
    LOCKOUT_FOR,
    SESSION_TTL,
    SOFTPHONE,
    ConsoleSessionRepository,
    ConsoleUserRepository,
)
from helpline.store.repositories.tickets import (
    FIRST_TICKET_NUMBER,
    TICKET_LIST_FIELDS,
    TICKET_TEXT_FIELDS,
    TICKET_UPDATABLE,
    TicketRepository,
)

__all__ = [
    "API_KEY_PREFIX",
    "API_KEY_PREFIX_LENGTH",
    "CALLBACK_CLAIMS",
    "FIRST_TICKET_NUMBER",
    "LOCKOUT_AFTER_FAILURES",
    "LOCKOUT_FOR",
    "MAX_LIST_LIMIT",
    "SESSION_TTL",
    "SOFTPHONE",
    "TICKET_LIST_FIELDS",
    "TICKET_TEXT_FIELDS",
    "TICKET_UPDATABLE",
    "WIDGET_KEY_PREFIX",
    "ApiKeyRepository",
    "AuditLog",
    "CallbackRepository",
    "Conflict",
    "ConsoleSessionRepository",
    "ConsoleUserRepository",
    "ConversationRepository",
    "CustomerRepository",
    "HandoffRepository",
    "IncidentRepository",
    "NewLine",
    "NotFound",
    "TicketRepository",
    "WidgetChatRepository",
    "WidgetKeyRepository",
    "_Repository",
    "hash_api_key",
]
