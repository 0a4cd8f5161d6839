"""The anonymisation rules shared by erasure and retention.

A contact (conversation, its transcript, its ticket, hand-off and callbacks) is anonymised in place rather
than deleted: every text a customer wrote, was told or could be recognised by is replaced, while the
facts the KPIs are computed from stay (channel, times, category, status, escalation, handle time, CSAT,
sentiment, the anonymous customer key that links repeat contacts). So the dashboard shows the same
figures after an erasure as before it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import Session

from helpline.store.models import AuditEntry, Callback, Conversation, Handoff, Message, Ticket

PLACEHOLDER = "[erased]"
ERASED_KEY = "_erased"  # marks an anonymised conversation state: {"by": "erasure"|"retention", "at": ISO}
# Message metadata that says nothing about the customer (intent labels, visibility, the staff member).
KEPT_META = frozenset({"intent", "frustration", "kb_gap", "visibility", "notice", "by", "name", "to_human"})
# Conversation-state fields that are counts, flags and scores, not content.
KEPT_STATE = ("schema_version", "turn", "assurance", "misunderstandings", "out_of_scope_count", "apologised",
              "upset_turns", "escalated", "ended", "incidents_told", "reprompted_turn", "sentiment",
              "max_frustration")
# A request's fields taken from the pack (procedure titles and categories), not from the customer.
KEPT_REQUEST = ("procedure_id", "title", "category", "priority", "outcome", "tags")
OPEN_CALLBACK = ("scheduled", "missed")  # a missed callback may still be made


@dataclass
class ErasedCounts:
    """How many records an erasure or a retention run changed (deleted files for recordings)."""

    conversations: int = 0
    messages: int = 0
    tickets: int = 0
    handoffs: int = 0
    callbacks: int = 0
    recordings: int = 0
    audit_entries: int = 0
    customers: int = 0
    identities: int = 0
    # the channels' and outbound's rows (channel_data.py)
    email_messages: int = 0
    attachments: int = 0  # files deleted
    sms_threads: int = 0
    sms_deliveries: int = 0
    outbound_messages: int = 0
    team_questions: int = 0
    opt_outs: int = 0  # kept, keyed instead of the address

    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def flag_kind(flag: str) -> str:
    """``name_mismatch: said 'Jon Smith', record 'John Smith'`` -> ``name_mismatch``: the kind, not the words."""
    return flag.split(":", 1)[0].strip()[:64] or PLACEHOLDER


def anonymised_state(state: dict[str, Any] | None, erased_by: str, at: datetime) -> dict[str, Any]:
    """The conversation state with only its counts, scores and the pack's request titles left."""
    state = state or {}
    kept = {key: state[key] for key in KEPT_STATE if key in state}
    kept["requests"] = [{key: request[key] for key in KEPT_REQUEST if key in request}
                        for request in state.get("requests", []) if isinstance(request, dict)]
    kept["flags"] = [flag_kind(flag) for flag in state.get("flags", []) if isinstance(flag, str)]
    kept[ERASED_KEY] = {"by": erased_by, "at": at.isoformat()}
    return kept


def is_anonymised(state: dict[str, Any] | None) -> bool:
    return bool(state) and ERASED_KEY in (state or {})


def not_anonymised() -> Any:
    """A WHERE clause: the conversation's state has not been anonymised yet (JSON read as text, so the
    test is the same on SQLite and PostgreSQL; a customer's text cannot forge the key: its quotes would
    be escaped)."""
    return ~cast(Conversation.state, Text).contains(f'"{ERASED_KEY}"')


def _erased(text: str | None) -> str:
    return PLACEHOLDER if text else ""


def erase_strings(value: Any, personal: Collection[str]) -> tuple[Any, bool]:
    """Replace every string of a JSON-like value that contains one of ``personal`` (case-insensitively).
    Returns the new value and whether anything changed."""
    if isinstance(value, str):
        lowered = value.lower()
        if any(item in lowered for item in personal):
            return PLACEHOLDER, True
        return value, False
    if isinstance(value, dict):
        changed = False
        result: dict[Any, Any] = {}
        for key, item in value.items():
            result[key], item_changed = erase_strings(item, personal)
            changed = changed or item_changed
        return result, changed
    if isinstance(value, list | tuple):
        items = [erase_strings(item, personal) for item in value]
        return [item for item, _ in items], any(changed for _, changed in items)
    return value, False


class Anonymiser:
    """Anonymises contacts in the caller's transaction and counts what it changed.

    Every method changes only what still holds personal data, so running it twice changes nothing the
    second time (erasure and retention are idempotent).
    """

    def __init__(self, session: Session, *, erased_by: str, now: datetime) -> None:
        self.session = session
        self.erased_by = erased_by
        self.now = now
        self.counts = ErasedCounts()

    def conversation(self, conversation: Conversation) -> None:
        changed = False
        if not is_anonymised(conversation.state):
            conversation.state = anonymised_state(conversation.state, self.erased_by, self.now)
            changed = True
        for message in self.session.scalars(select(Message).where(Message.conversation_id == conversation.id)):
            meta = {key: value for key, value in (message.meta or {}).items() if key in KEPT_META}
            if message.text != PLACEHOLDER or meta != (message.meta or {}):
                message.text = PLACEHOLDER
                message.meta = meta
                self.counts.messages += 1
                changed = True
        if changed:
            self.counts.conversations += 1

    def ticket(self, ticket: Ticket, titles: Iterable[str] = ()) -> None:
        """Free text goes; category, status, priority, tags, times, handle time and CSAT stay. The summary
        becomes the pack's titles of what was asked (e.g. "Cancel an order") when there are any."""
        summary = "; ".join(dict.fromkeys(title for title in titles if title)) or PLACEHOLDER
        values: dict[str, Any] = {
            "summary": summary if ticket.summary else "",
            "steps_taken": [],
            "resolution": _erased(ticket.resolution),
            "next_step": _erased(ticket.next_step),
            "notes": _erased(ticket.notes),
            "flags": [flag_kind(flag) for flag in ticket.flags or []],
        }
        if ticket.summary == summary or ticket.summary == PLACEHOLDER:
            values["summary"] = ticket.summary  # already anonymised
        changed = {name: value for name, value in values.items() if getattr(ticket, name) != value}
        for name, value in changed.items():
            setattr(ticket, name, value)
        if changed:
            self.counts.tickets += 1

    def handoff(self, handoff: Handoff) -> None:
        values: dict[str, Any] = {
            "customer_summary": _erased(handoff.customer_summary), "issue": _erased(handoff.issue),
            "steps_tried": [], "customer_wants": _erased(handoff.customer_wants), "mood": _erased(handoff.mood),
            "urgency": _erased(handoff.urgency),
        }
        changed = {name: value for name, value in values.items() if getattr(handoff, name) != value}
        for name, value in changed.items():
            setattr(handoff, name, value)
        if changed:
            self.counts.handoffs += 1

    def callback(self, callback: Callback, *, cancel_open: bool) -> None:
        """Contact details and free text go. An open callback is cancelled (erasure: nobody may call a
        customer who asked to be forgotten); retention never reaches an open one."""
        changed = False
        if callback.status in OPEN_CALLBACK:
            if not cancel_open:
                return
            callback.status = "cancelled"
            callback.completed_at = self.now
            changed = True
        values: dict[str, Any] = {"phone": None, "email": None, "reason": _erased(callback.reason),
                                  "outcome": _erased(callback.outcome)}
        for name, value in values.items():
            if getattr(callback, name) != value:
                setattr(callback, name, value)
                changed = True
        if changed:
            self.counts.callbacks += 1

    def audit_of_conversations(self, conversation_ids: Collection[str]) -> None:
        """What the agent's operations were called with (an email, an address) is in their audit entries
        (``operation:<name>``, the first argument as ``entity_id``): the values go, the names stay."""
        if not conversation_ids:
            return
        actors = [f"ai:conversation:{cid}" for cid in conversation_ids]
        for chunk in chunks(actors):
            entries = self.session.scalars(select(AuditEntry).where(
                AuditEntry.actor.in_(chunk), AuditEntry.entity.startswith("operation:")))
            for entry in entries:
                self._erase_operation_entry(entry)

    def _erase_operation_entry(self, entry: AuditEntry) -> None:
        detail = dict(entry.detail or {})
        args = detail.get("args")
        new_detail = {**detail, "args": {str(k): PLACEHOLDER for k in args} if isinstance(args, dict) else {}}
        if detail.get("error"):
            new_detail["error"] = PLACEHOLDER
        changed = False
        if new_detail != detail:
            entry.detail = new_detail
            changed = True
        if entry.entity_id and entry.entity_id != PLACEHOLDER:
            entry.entity_id = PLACEHOLDER
            changed = True
        if changed:
            self.counts.audit_entries += 1

    def audit_mentioning(self, personal: Collection[str], customer_ids: Collection[str]) -> None:
        """Audit entries about these customers, or quoting one of their identifiers anywhere (a staff search
        for their name is in a list read's filters): the quoted values go, who did what and when stays."""
        needles = sorted({item.lower() for item in personal if len(item) >= 4})
        conditions = [cast(AuditEntry.detail, Text).icontains(n, autoescape=True) for n in needles]
        conditions += [AuditEntry.entity_id.icontains(n, autoescape=True) for n in needles]
        if customer_ids:
            conditions.append(AuditEntry.customer_id.in_(list(customer_ids)))
        if not conditions:
            return
        for entry in self.session.scalars(select(AuditEntry).where(or_(*conditions))):
            if entry.entity == "customer_erasure":
                continue
            if entry.entity.startswith("operation:"):
                self._erase_operation_entry(entry)
                continue
            detail, changed = erase_strings(entry.detail or {}, needles)
            entity_id = entry.entity_id
            if any(n in entity_id.lower() for n in needles):
                entity_id, changed = PLACEHOLDER, True
            if changed:
                entry.detail = detail
                entry.entity_id = entity_id
                self.counts.audit_entries += 1


def chunks(items: Collection[str], size: int = 500) -> Iterable[list[str]]:
    """``IN`` lists of bounded length (SQLite and PostgreSQL both limit bound parameters)."""
    ordered = sorted(items)
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]
