"""Identity verification, the mechanics: gathering the details a method needs and looking the customer
up. What to *say* at each point stays in the engine; this module decides nothing conversational."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from helpline.conversation.events import OperationCalled
from helpline.conversation.ports import OperationGateway, OperationResult, SlotReader, Understanding
from helpline.pack.models import Verification, VerificationMethod

# "Ryan Rodriguez, 77008" / "Ryan Rodriguez 77008": the parts of a terse answer giving several details
ANSWER_PARTS = re.compile(r",|;|\band\b|(?<=[a-z])\s+(?=\d)|(?<=\d)\s+(?=[a-z])", re.I)
PREFERRED_ORDER = ("email", "postcode", "phone", "person_name")


@dataclass
class Lookup:
    customer: dict[str, Any] | None
    result: OperationResult
    calls: list[OperationCalled] = field(default_factory=list)


def display_name(record: dict[str, Any]) -> str:
    """'name' may be a string or a structure like {first_name, last_name}."""
    name = record.get("name")
    if isinstance(name, dict):
        return " ".join(str(v) for v in name.values() if v)
    if name:
        return str(name)
    return " ".join(str(record[k]) for k in ("first_name", "last_name") if record.get(k))


def name_mismatch(said: str | None, record: dict[str, Any]) -> str | None:
    """A flag for the ticket (not a refusal) when the name given differs from the record's."""
    on_record = display_name(record)
    if said and on_record and fuzz.token_sort_ratio(said.lower(), on_record.lower()) < 85:
        return f"name_mismatch: said '{said}', record '{on_record}'"
    return None


class IdentityCheck:
    def __init__(self, config: Verification, operations: OperationGateway, slot_reader: SlotReader):
        self.config = config
        self.operations = operations
        self.slot_reader = slot_reader
        self.fields: list[str] = []
        for method in config.methods:
            self.fields += [f for f in method.fields if f not in self.fields]

    def gather(self, collected: dict[str, str], u: Understanding) -> None:
        """Add the details this message gives, recognised or (for terse answers) read part by part."""
        for field_name in self.fields:
            found = u.entities_of(field_name)
            if found:
                collected[field_name] = found[0].value
        recognised = [e.text.lower() for e in u.entities if e.text and e.type in self.fields]
        started = [f for m in self.config.methods if any(x in collected for x in m.fields) for f in m.fields]
        order = [f for f in dict.fromkeys([*started, *PREFERRED_ORDER, *self.fields]) if f in self.fields]
        # Terse parts ("Olivia Ito, zip code 80218"): read each part not already recognised as a detail.
        for part in ANSWER_PARTS.split(u.text):
            part = part.strip()
            if not part or any(r in part.lower() or part.lower() in r for r in recognised):
                continue
            for field_name in order:
                if field_name in collected:
                    continue
                value = self.slot_reader.read(part, field_name)
                if value:
                    collected[field_name] = value
                    break

    def complete_method(self, collected: dict[str, str]) -> VerificationMethod | None:
        return next((m for m in self.config.methods if all(f in collected for f in m.fields)), None)

    def still_missing(self, collected: dict[str, str]) -> list[str]:
        """What the method the customer has started still needs."""
        started = [m for m in self.config.methods if any(f in collected for f in m.fields)]
        return [f for f in started[0].fields if f not in collected] if started else []

    def look_up(self, method: VerificationMethod, collected: dict[str, str]) -> Lookup:
        """The lookup may return the record, or only an id that the profile operation expands."""
        operation = self.config.operation_for(method)
        args = {f: collected[f] for f in method.fields}
        result = self.operations.call(operation, args)
        calls = [OperationCalled(operation, args, result.ok, False, None, result.error)]
        if not result.ok:
            return Lookup(None, result, calls)
        data = result.data
        customer_id = data.get("id") if isinstance(data, dict) else data
        if customer_id is None or isinstance(customer_id, dict | list) or not str(customer_id).strip():
            return Lookup(None, OperationResult(ok=False, error="no customer id in the lookup result"), calls)
        if self.config.profile_operation is None:
            record = {**data, "id": customer_id} if isinstance(data, dict) else {"id": customer_id}
            return Lookup(record, result, calls)
        profile = self.operations.call(self.config.profile_operation, {"id": customer_id})
        calls.append(OperationCalled(self.config.profile_operation, {"id": customer_id}, profile.ok, False,
                                     str(customer_id), profile.error))
        if not profile.ok or not isinstance(profile.data, dict):
            return Lookup(None, profile, calls)
        return Lookup({**profile.data, "id": str(customer_id)}, profile, calls)
